/**
 * `plugvisor start`: runs the host in the foreground, with its control channel, until SIGINT or
 * SIGTERM; then drains calls in flight, disposes every plugin and exits 0.
 */
import type { Command } from 'commander';
import { configGiven, DEFAULT_CONFIG, runHost } from './run-host.js';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the supervisor in the foreground on the configured plugins, with its control channel (Ctrl-C stops it gracefully)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--dev-mode', 'development mode (debug logging, development features of the config)')
    .action(async (opts: { config: string; devMode?: boolean }, command: Command) => {
      const devMode = opts.devMode === true || command.parent?.opts<{ devMode?: boolean }>().devMode === true;
      await runHost({ config: configGiven(command), devMode });
    });
}
