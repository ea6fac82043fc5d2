/** How command-line values become values: numbers checked, call arguments parsed as JSON. */
import { InvalidArgumentError } from 'commander';
import { MAX_PROFILE_RUNS } from '../control/protocol.js';

/** A count, a period or a bound (`--count`, `--runs`, `--interval`, `--timeout`): 0 would do nothing, silently one, spin, or give up at once. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function profileRuns(value: string): number {
  const n = positiveInt(value);
  if (n > MAX_PROFILE_RUNS) throw new InvalidArgumentError(`expected an integer from 1 to ${MAX_PROFILE_RUNS}`);
  return n;
}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

/** ARG as JSON where it parses (5, true, null, "x", [1], {"a":1}), else the string itself. */
export function parseArg(arg: string): unknown {
  try {
    return JSON.parse(arg);
  } catch {
    return arg;
  }
}
