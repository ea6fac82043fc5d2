/**
 * `plugvisor dev mode | server`: development mode of the running host, and the host with the
 * HTTP API. (`dev plugin …` lives in dev-plugin-commands.ts.)
 */
import type { Command } from 'commander';
import { assertLoopbackAddress } from '../http/local-only.js';
import { port } from './arguments.js';
import { clientOptions, withHost, type ClientOptions } from './host-client.js';
import { badArguments, print, printJson } from './output.js';
import { configGiven, DEFAULT_CONFIG, runHost } from './run-host.js';

export function registerDevCommands(dev: Command): void {
  clientOptions(dev.command('mode')
    .description('switch development mode of the running host on or off (without a flag: show it)')
    .option('--enable', 'development mode on: debug logs; development.* settings apply to the next load or reload')
    .option('--disable', 'development mode off'))
    .action(async (o: ClientOptions & { enable?: boolean; disable?: boolean }) => {
      if (o.enable && o.disable) throw badArguments('--enable and --disable exclude each other');
      const enabled = o.enable ? true : o.disable ? false : undefined;
      const result = await withHost(o, (c) => c.request('devMode', enabled === undefined ? {} : { enabled }));
      if (o.json) return printJson(result);
      const state = result.developmentMode ? 'on' : 'off';
      print(`development mode ${state}${enabled === undefined ? '' : result.changed ? ' (switched)' : ' (already)'}; log level ${result.logLevel}`);
    });

  dev.command('server')
    .description('run the host in the foreground with the HTTP API and dashboard on 127.0.0.1 (and its control channel)')
    .option('-p, --port <port>', 'HTTP port (0: any free port)', port, 8080)
    .option('--host <address>', 'loopback address to listen on', '127.0.0.1')
    .option('--hot-reload', 'watch the plugins\' files and reload them on save, whatever the config says')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG)
    .option('--dev-mode', 'development mode (debug logging, development features of the config)')
    .action(async (o: { port: number; host: string; hotReload?: boolean; config: string; devMode?: boolean }, command: Command) => {
      const devMode = o.devMode === true || command.parent?.parent?.opts<{ devMode?: boolean }>().devMode === true;
      // Refused before the host starts: no plugin is loaded only to be stopped again.
      assertLoopbackAddress(o.host);
      await runHost({
        config: configGiven(command),
        devMode,
        hotReload: o.hotReload === true,
        extras: async (sup, channel) => {
          const { createDevServer } = await import('../http/dev-server.js');
          const server = await createDevServer(sup, { port: o.port, host: o.host });
          channel.httpUrl = server.url;   // createDevServer logs 'dev server listening' with it
          return () => server.close();
        },
      });
    });
}
