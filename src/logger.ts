import { pino, type Logger } from 'pino';

/** The host's logger: pino to stdout, at the configured level. */
export function createLogger(level: string): Logger {
  return pino({ name: 'plugvisor', level });
}
