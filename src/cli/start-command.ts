/**
 * `plugvisor start`: runs the host in the foreground until SIGINT/SIGTERM, then drains calls in
 * flight, disposes every plugin and exits 0.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Supervisor } from '../supervisor.js';
import { readConfigFile } from '../config/resolve-config.js';
import { exitWithError } from './output.js';

const DEFAULT_CONFIG = 'config/hot-loading.yaml';

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the supervisor in the foreground on the configured plugins (Ctrl-C stops it gracefully)')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--dev-mode', 'development mode (debug logging)')
    .action(async (opts: { config: string; devMode?: boolean }, command: Command) => {
      const devMode = opts.devMode === true || command.parent?.opts<{ devMode?: boolean }>().devMode === true;
      const sup = new Supervisor({ root: process.cwd(), config: loadConfig(opts.config, devMode) });
      await runUntilSignal(sup);
    });
}

/** The config file, with development mode switched on when asked for on the command line. */
function loadConfig(file: string, devMode: boolean): string | Record<string, unknown> {
  const path = resolve(process.cwd(), file);
  if (!devMode) return path;
  if (!existsSync(path)) return { hot_loading: { development_mode: true } };
  const raw = (readConfigFile(path) ?? {}) as { hot_loading?: Record<string, unknown> };
  return { ...raw, hot_loading: { ...(raw.hot_loading ?? {}), development_mode: true } };
}

async function runUntilSignal(sup: Supervisor): Promise<void> {
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    sup.log.info({ signal }, 'stopping: draining calls in flight');
    sup.stop().then(() => process.exit(0), exitWithError);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  try {
    await sup.start();
  } catch (err) {
    exitWithError(err);
  }
  // Keep the process alive until a signal arrives, even if no plugin holds a worker open.
  setInterval(() => undefined, 1 << 30);
}
