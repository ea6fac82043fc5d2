/**
 * The options every command that talks to a running host takes (--json, --socket), and the
 * connection it makes: found from the current folder unless --socket says where.
 */
import type { Command } from 'commander';
import { ControlClient } from '../control/control-client.js';

export interface ClientOptions {
  json?: boolean;
  socket?: string;
}

export function clientOptions(command: Command): Command {
  return command
    .option('--json', 'print JSON instead of text')
    .option('--socket <path>', 'the host\'s control socket (default: found from the current folder)');
}

/** Connect, run `work`, close. */
export async function withHost<T>(options: ClientOptions, work: (client: ControlClient) => Promise<T>): Promise<T> {
  const client = await ControlClient.connect({ socket: options.socket });
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

/** Connect if a host runs for this folder; undefined otherwise (commands that work without one). */
export async function maybeHost(options: ClientOptions): Promise<ControlClient | undefined> {
  try {
    return await ControlClient.connect({ socket: options.socket });
  } catch {
    return undefined;
  }
}

/** Keep the process until `stop()` or Ctrl-C/SIGTERM (then exit 0): for --watch and streams. */
export function untilSignal(onSignal: () => void): void {
  const stop = (): void => {
    onSignal();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
