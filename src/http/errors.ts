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
  408: 'Request timeout', 409: 'Conflict', 413: 'Payload too large', 415: 'Unsupported media type', 417: 'Expectation failed',
  422: 'Unprocessable entity',
  431: 'Request header fields too large', 500: 'Internal server error', 503: 'Service unavailable',
};

export function titleOf(status: number): string {
  return TITLES[status] ?? 'Error';
}

/** Renders an error as the body an API area's clients expect. */
export type ErrorFormat = (error: ApiError, ctx: Context) => unknown;

const CORE = 'nextgisweb.core.exception';
const PYRAMID = 'pyramid.httpexceptions';

/**
 * The NextGIS Web exception class each code means, named as NGW answers it in `exception`: NGW's
 * clients tell errors apart by that name (ngw-connector's ResourceNotFoundError and
 * InsufficientPermissionsError; its getResource resolves undefined for ResourceNotFound). Codes
 * NGW has no counterpart for (Meridian's own limits, pools, files and projects) are absent.
 */
const NGW_EXCEPTIONS = new Map(Object.entries({
  INVALID_PARAMETER: `${CORE}.ValidationError`,
  INVALID_FIELD: `${CORE}.ValidationError`,
  INVALID_ACL: `${CORE}.ValidationError`,
  INVALID_GEOMETRY: `${CORE}.ValidationError`,
  SYSTEM_PRINCIPAL: `${CORE}.ValidationError`,
  PRINCIPAL_IN_USE: `${CORE}.ValidationError`,
  KEYNAME_TAKEN: 'nextgisweb.auth.api.PrincipalNotUnique',
  INVALID_BODY: 'nextgisweb.pyramid.tomb.exception.MalformedJSONBody',
  UNAUTHORIZED: `${CORE}.InsufficientPermissions`,
  FORBIDDEN: `${CORE}.InsufficientPermissions`,
  INVALID_CREDENTIALS: 'nextgisweb.auth.exception.InvalidCredentialsException',
  USER_DISABLED: 'nextgisweb.auth.exception.UserDisabledException',
  RESOURCE_NOT_FOUND: 'nextgisweb.resource.exception.ResourceNotFound',
  FEATURE_NOT_FOUND: 'nextgisweb.feature_layer.exception.FeatureNotFound',
  NOT_A_FEATURE_LAYER: 'nextgisweb.resource.exception.ResourceInterfaceNotSupported',
  NOT_A_QGIS_STYLE: 'nextgisweb.resource.exception.ResourceInterfaceNotSupported',
  NOT_A_STYLE: 'nextgisweb.resource.exception.ResourceInterfaceNotSupported',
  DATABASE_UNAVAILABLE: 'nextgisweb.postgis.exception.ExternalDatabaseError',
  QUERY_TIMEOUT: 'nextgisweb.postgis.exception.ExternalDatabaseError',
  INTERNAL_ERROR: 'nextgisweb.pyramid.exception.InternalServerError',
  // Pyramid's HTTP errors, which NGW answers under their own names.
  BAD_REQUEST: `${PYRAMID}.HTTPBadRequest`,
  MALFORMED_REQUEST: `${PYRAMID}.HTTPBadRequest`,
  REGISTRATION_DISABLED: `${PYRAMID}.HTTPForbidden`,
  NOT_FOUND: `${PYRAMID}.HTTPNotFound`,
  METHOD_NOT_ALLOWED: `${PYRAMID}.HTTPMethodNotAllowed`,
}));

/** The `exception` of an NGW error body: NGW's class name for `code`, else `meridian.{code}`. */
const ngwExceptionOf = (code: string) => NGW_EXCEPTIONS.get(code) ?? `meridian.${code}`;

/** NextGIS Web's error object, plus the stable code and the request id. */
export function ngwErrorBody(e: ApiError, requestId: string) {
  return {
    title: e.title ?? titleOf(e.status),
    message: e.message,
    detail: null,
    exception: ngwExceptionOf(e.code),
    status_code: e.status,
    code: e.code,
    request_id: requestId,
  };
}

export const ngwErrorFormat: ErrorFormat = (e, ctx) => ngwErrorBody(e, ctx.state.requestId);
