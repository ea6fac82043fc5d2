/**
 * Assertion helpers for errors that cross the thread boundary.
 */
import { strict as assert } from 'node:assert';

/** An error as the supervisor hands it back: an Error with a `code` and whatever fields it carries. */
export type CodedError = Error & { code?: string; [field: string]: unknown };

/** The rejection of `promise`; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<CodedError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    return err as CodedError;
  }
  assert.fail(`expected a rejection, got ${JSON.stringify(value)}`);
}

/** The error `run` throws synchronously; fails the test when it returns. */
export function thrownBy(run: () => unknown): CodedError {
  try {
    run();
  } catch (err) {
    assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
    return err as CodedError;
  }
  assert.fail('expected a throw');
}

/** Asserts the error's code and that its message mentions every one of `mentions`. */
export function assertError(err: CodedError, code: string, ...mentions: Array<string | RegExp>): void {
  assert.equal(err.code, code, `expected ${code}, got ${String(err.code)}: ${err.message}`);
  for (const m of mentions) {
    if (typeof m === 'string') assert.ok(err.message.includes(m), `message should mention ${JSON.stringify(m)}: ${err.message}`);
    else assert.match(err.message, m);
  }
}
