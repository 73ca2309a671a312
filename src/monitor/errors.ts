// The monitoring API's error object, as the nginx Plus API has it:
// {"error": {"status", "text", "code"}, "request_id", "href"}, with nginx's codes where they apply.
import { ApiError, type ErrorFormat } from '../http/errors.js';

const HREF = 'https://nginx.org/en/docs/http/ngx_http_api_module.html';

/** The generic codes the shared error handler uses, renamed to nginx's. */
const NGINX_CODES: Record<string, string> = { NOT_FOUND: 'PathNotFound', METHOD_NOT_ALLOWED: 'MethodNotSupported' };

export const nginxErrorFormat: ErrorFormat = (e, ctx) => ({
  error: { status: e.status, text: e.message, code: NGINX_CODES[e.code] ?? e.code },
  request_id: ctx.state.requestId,
  href: HREF,
});

export const pathNotFound = (path: string) => new ApiError(404, 'PathNotFound', `No monitoring endpoint at ${path}.`);
export const notFound = (code: string, what: string) => new ApiError(404, code, `${what} not found.`);
