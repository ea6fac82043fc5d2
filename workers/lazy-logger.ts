/**
 * ctx.log for plugin workers, created on first use: importing pino costs about 25 ms of every
 * worker start (measured on Node 20), which a reload would pay for a plugin that never logs.
 * `onCreate` lets the host know, so that the next worker of a plugin that logs creates it at start.
 */
import { createRequire } from 'node:module';
import type { Logger, LoggerOptions } from 'pino';

export function lazyLogger(options: LoggerOptions, bindings: Record<string, unknown>, onCreate: () => void): () => Logger {
  let logger: Logger | undefined;
  return () => {
    if (logger === undefined) {
      // pino is CommonJS: require() loads it synchronously, as a getter must.
      const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
      logger = pino(options).child(bindings);
      onCreate();
    }
    return logger;
  };
}
