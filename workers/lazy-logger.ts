/**
 * ctx.log for plugin and pool threads, created on first use: importing pino costs about 25 ms of
 * every worker start (measured on Node 20), which a reload would pay for a plugin that never logs.
 */
import { createRequire } from 'node:module';
import type { Logger, LoggerOptions } from 'pino';

export function lazyLogger(options: LoggerOptions, bindings: Record<string, unknown> = {}): () => Logger {
  let logger: Logger | undefined;
  return () => {
    if (logger === undefined) {
      // pino is CommonJS: require() loads it synchronously, as a getter must.
      const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
      logger = pino(options).child(bindings);
    }
    return logger;
  };
}
