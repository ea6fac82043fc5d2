/**
 * How an error becomes an HTTP answer: one table from `code` to status, and one body shape,
 * `{ error: { code, message, ... } }`, for every failure of every route.
 *
 * A command's own error (a plugin threw) is answered 500 with the plugin's code kept: the request
 * was well-formed and reached the plugin, and the HTTP layer cannot tell a caller's mistake from a
 * plugin bug, so it does not claim a 4xx. A plugin that knows better sets a numeric `statusCode`
 * (400–599) on its error, as with fastify's own errors. Supervision failures map to the gateway
 * statuses: 504 for a call timeout, 502 for a worker that died under the call, 503 for a plugin that
 * is failed or stopping.
 */
import { isPlugvisorError, type ErrorCode } from '../errors.js';

const STATUS: Partial<Record<ErrorCode, number>> = {
  PLUGVISOR_HTTP_BAD_REQUEST: 400,
  PLUGVISOR_HTTP_NOT_LOCAL: 403,
  PLUGVISOR_HTTP_ROUTE_NOT_FOUND: 404,
  PLUGVISOR_PLUGIN_NOT_FOUND: 404,
  PLUGVISOR_COMMAND_NOT_FOUND: 404,
  PLUGVISOR_ARGS_NOT_CLONEABLE: 400,
  PLUGVISOR_PLUGIN_EXISTS: 409,
  PLUGVISOR_HAS_DEPENDENTS: 409,
  // a load whose source is missing or broken: the request was understood but cannot be carried out
  PLUGVISOR_MANIFEST_NOT_FOUND: 422,
  PLUGVISOR_PACKAGE_NOT_FOUND: 422,
  PLUGVISOR_MANIFEST_INVALID: 422,
  PLUGVISOR_ENGINE_INCOMPATIBLE: 422,
  PLUGVISOR_PLUGIN_CONFIG_INVALID: 422,
  PLUGVISOR_DEPENDENCY_INSTALL_FAILED: 422,
  PLUGVISOR_COMPILE_FAILED: 422,
  PLUGVISOR_PLUGIN_INVALID: 422,
  PLUGVISOR_PLUGIN_LOAD_FAILED: 422,
  PLUGVISOR_SETUP_FAILED: 422,
  PLUGVISOR_DEPENDENCY_MISSING: 422,
  PLUGVISOR_DEPENDENCY_CYCLE: 422,
  PLUGVISOR_CALL_TIMEOUT: 504,
  PLUGVISOR_PLUGIN_CRASHED: 502,
  PLUGVISOR_PLUGIN_FAILED: 503,
  PLUGVISOR_PLUGIN_STOPPED: 503,
  PLUGVISOR_NOT_STARTED: 503,
};

export interface ErrorBody {
  error: { code: string; message: string; name?: string; plugin?: string; step?: string; reason?: string };
}

/** The fields of an error that a client may rely on; never the stack or the cause. */
export function errorFields(err: Error): ErrorBody['error'] {
  const e = err as Error & { code?: unknown; plugin?: unknown; step?: unknown; reason?: unknown };
  return {
    code: typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : 'PLUGVISOR_COMMAND_FAILED',
    message: e.message,
    ...(e.name !== 'Error' && e.name !== 'PlugvisorError' ? { name: e.name } : {}),
    ...(typeof e.plugin === 'string' ? { plugin: e.plugin } : {}),
    ...(typeof e.step === 'string' ? { step: e.step } : {}),
    ...(typeof e.reason === 'string' ? { reason: e.reason } : {}),
  };
}

/** The status and body an error is answered with. */
export function errorResponse(err: Error): { status: number; body: ErrorBody } {
  const e = err as Error & { code?: unknown; statusCode?: unknown; validation?: unknown };
  if (typeof e.code === 'string' && e.code.startsWith('FST_') && typeof e.statusCode === 'number' && e.statusCode < 500) {
    // fastify's own request errors: malformed or empty JSON, wrong content type, body too large
    return { status: e.statusCode, body: { error: { code: 'PLUGVISOR_HTTP_BAD_REQUEST', message: e.message } } };
  }
  if (e.validation !== undefined) {
    return { status: 400, body: { error: { code: 'PLUGVISOR_HTTP_BAD_REQUEST', message: e.message } } };
  }
  const body = { error: errorFields(err) };
  const code = body.error.code;
  const known = isPlugvisorError(err) ? STATUS[code as ErrorCode] : undefined;
  if (known !== undefined) return { status: known, body };
  const own = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode <= 599 ? e.statusCode : undefined;
  return { status: own ?? 500, body };
}
