/** How command-line values become values: numbers checked, call arguments parsed as JSON. */
import { InvalidArgumentError } from 'commander';
import { MAX_PROFILE_RUNS } from '../control/protocol.js';
import { badArguments } from './output.js';

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
  let value: unknown;
  try {
    value = JSON.parse(arg);
  } catch {
    return arg;
  }
  // JSON.parse reads 1e400 as Infinity, which the control channel (JSON) would turn into null.
  let outOfRange = false;
  try {
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) outOfRange = true;
      return v;
    });
  } catch {
    // The control channel writes the arguments as JSON, which this depth overflows.
    throw badArguments(`argument ${arg.slice(0, 40)}… is nested too deeply to send to the host`);
  }
  if (outOfRange) throw badArguments(`argument ${arg} holds a number beyond the range of a double, which cannot reach the host`);
  return value;
}
