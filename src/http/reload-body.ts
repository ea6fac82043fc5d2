import type { ReloadResult } from '../reload/reload-result.js';
import { errorFields } from './http-errors.js';

/** A reload result as JSON: the error reduced to its code, message and step (never its stack or cause). */
export function reloadBody(result: ReloadResult): Omit<ReloadResult, 'error'> & { error?: ReturnType<typeof errorFields> } {
  const { error, ...rest } = result;
  return error === undefined ? rest : { ...rest, error: errorFields(error) };
}
