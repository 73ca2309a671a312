// API errors: a status, a stable machine code and a sentence for people. Each API area renders
// them in the shape its clients expect (NextGIS Web by default; see ErrorFormat).
import type { Context } from 'koa';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** Stable, machine-readable: clients may switch on it. */
    readonly code: string,
    message: string,
    /** Short human title; defaults from the status. */
    readonly title?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badParameter = (name: string, problem: string) =>
  new ApiError(400, 'INVALID_PARAMETER', `Parameter "${name}" ${problem}.`, 'Invalid parameter');
export const resourceNotFound = (id: unknown) =>
  new ApiError(404, 'RESOURCE_NOT_FOUND', `Resource with id = ${id} was not found.`, 'Resource not found');

const TITLES: Record<number, string> = {
  400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found', 405: 'Method not allowed',
  408: 'Request timeout', 409: 'Conflict', 413: 'Payload too large', 415: 'Unsupported media type', 422: 'Unprocessable entity',
  431: 'Request header fields too large', 500: 'Internal server error', 503: 'Service unavailable',
};

export function titleOf(status: number): string {
  return TITLES[status] ?? 'Error';
}

/** Renders an error as the body an API area's clients expect. */
export type ErrorFormat = (error: ApiError, ctx: Context) => unknown;

/** NextGIS Web's error object, plus the stable code and the request id. */
export function ngwErrorBody(e: ApiError, requestId: string) {
  return {
    title: e.title ?? titleOf(e.status),
    message: e.message,
    detail: null,
    exception: `meridian.${e.code}`,
    status_code: e.status,
    code: e.code,
    request_id: requestId,
  };
}

export const ngwErrorFormat: ErrorFormat = (e, ctx) => ngwErrorBody(e, ctx.state.requestId);
