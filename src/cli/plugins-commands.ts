/**
 * `plugvisor plugins load | reload | unload | call | status | list | info | deps`: requests to the
 * running host, printed as text or JSON.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import semver from 'semver';
import type { PluginInfo } from '../plugin-info.js';
import type { ReloadResult } from '../reload/reload-result.js';
import { parseArg } from './arguments.js';
import { clientOptions, withHost, type ClientOptions } from './host-client.js';
import { badArguments, bytes, keyValues, ms, print, printJson, table } from './output.js';

export function registerPluginsCommands(plugins: Command): void {
  clientOptions(plugins.command('load <name>')
    .description('load a plugin into the running host: from a folder (default plugins/NAME) or an installed npm package')
    .option('--path <dir>', 'the plugin folder (relative to the current folder)')
    .option('--from-package', 'load the npm package NAME installed in node_modules')
    .option('--version <range>', 'with --from-package: the semver range the installed version must satisfy')
    .option('--dev-mode', 'load it for development: watched and reloaded on every save until unloaded (implies --watch)')
    .option('--watch', 'watch the plugin\'s files and reload it on every save until it is unloaded'))
    .action(async (name: string, o: ClientOptions & { path?: string; fromPackage?: boolean; version?: string; devMode?: boolean; watch?: boolean }) => {
      if (o.path !== undefined && o.fromPackage) throw badArguments('--path and --from-package exclude each other');
      if (o.version !== undefined && !o.fromPackage) throw badArguments('--version needs --from-package');
      if (o.version !== undefined && semver.validRange(o.version) === null) throw badArguments(`--version ${JSON.stringify(o.version)} is not a semver range (e.g. ^1.2.0)`);
      const params = o.fromPackage
        ? { fromPackage: name, ...(o.version === undefined ? {} : { version: o.version }) }
        : { path: o.path === undefined ? `plugins/${name.replace(/^@[^/]+\//, '')}` : resolve(o.path), name };
      const { plugin, watching } = await withHost(o, (c) => c.request('load', { ...params, watch: o.watch === true || o.devMode === true }));
      if (o.json) return printJson({ ...plugin, watching });
      print(`loaded ${plugin.name} ${plugin.version} (${plugin.status}, ${plugin.activation}${plugin.pooled ? ', pooled' : ''}) from ${plugin.path}`);
      if (plugin.commands !== undefined) print(`commands: ${plugin.commands.join(', ') || '(none)'}`);
      if (watching) print('watching: it is reloaded on every save until it is unloaded');
    });

  clientOptions(plugins.command('reload [name]')
    .description('reload a plugin (and its dependents) with its new code, keeping its state; or every plugin with --all')
    .option('--all', 'reload every plugin, dependencies first, as one transaction')
    .option('--force', 'skip validation (engines, dependency ranges); health() still gates the commit, and a failure rolls back')
    .option('--backup-state', 'write the state to disk before and after the swap'))
    .action(async (name: string | undefined, o: ClientOptions & { all?: boolean; force?: boolean; backupState?: boolean }) => {
      if ((name === undefined) === (o.all !== true)) throw badArguments('give a plugin NAME or --all (not both)');
      const results = await withHost(o, (c) => c.request('reload', { ...(name === undefined ? { all: true } : { name }), force: o.force === true, backupState: o.backupState === true }));
      if (o.json) printJson(o.all ? results : results[0]);
      else for (const r of results) print(describeReload(r));
      const also = o.all ? [] : results[0]!.reloaded.slice(1);
      if (!o.json && also.length > 0) print(`its dependents were reloaded with it: ${also.join(', ')}`);
      failIfNotReloaded(results);
    });

  clientOptions(plugins.command('unload <name>').description('unload a plugin: drain its calls, dispose it, end its worker'))
    .action(async (name: string, o: ClientOptions) => {
      const result = await withHost(o, (c) => c.request('unload', { name }));
      if (o.json) printJson({ ...result, unloaded: true });
      else print(`unloaded ${result.name} ${result.version}`);
    });

  clientOptions(plugins.command('call <name> <command> [args...]')
    .description('call a command of a plugin; each ARG is parsed as JSON where it parses (5, true, "x", {"a":1}), else taken as a string')
    .allowUnknownOption())
    .action(async (name: string, command: string, args: string[], o: ClientOptions) => {
      const parsed = args.map(parseArg);
      const outcome = await withHost(o, (c) => c.request('call', { name, command, args: parsed }));
      if (o.json) printJson(outcome.value);
      else print(typeof outcome.value === 'string' ? outcome.value : outcome.text);
    });

  clientOptions(plugins.command('status').description('the host (pid, root, mode, watching, HTTP) and every loaded plugin'))
    .action(async (o: ClientOptions) => {
      const [host, list] = await withHost(o, (c) => Promise.all([c.request('status', {}), c.request('list', {})]));
      if (o.json) return printJson({ host, plugins: list });
      print(keyValues([
        ['host', `pid ${host.pid}, up ${host.uptimeSeconds} s, plugvisor ${host.version}${host.starting ? '; starting: loading its configured plugins' : ''}`],
        ['root', host.root],
        ['config', host.configFile === undefined ? '(defaults)'
          : host.configReadOnce ? `${host.configFile} (read once at start, --hot-reload: its changes are not applied live)` : host.configFile],
        ['socket', host.socket],
        ['mode', `development ${host.developmentMode ? 'on' : 'off'}, log level ${host.logLevel}`],
        ['watching', `${host.watching ? `on (${host.automaticReload ? 'automatic reload' : 'reports changes only'})` : 'off'}${host.pluginWatches.length ? `; plugins watched: ${host.pluginWatches.join(', ')}` : ''}`],
        ['http', host.httpUrl ?? 'off'],
      ]));
      print();
      print(list.length === 0 ? 'no plugin is loaded' : loadedTable(list));
    });

  clientOptions(plugins.command('list')
    .description('the plugins the host knows of: loaded, configured, and folders under plugins/')
    .option('--loaded', 'only the loaded plugins, with their status and calls'))
    .action(async (o: ClientOptions & { loaded?: boolean }) => {
      if (o.loaded) {
        const list = await withHost(o, (c) => c.request('list', {}));
        if (o.json) return printJson(list);
        return print(list.length === 0 ? 'no plugin is loaded' : loadedTable(list));
      }
      const list = await withHost(o, (c) => c.request('available', {}));
      if (o.json) return printJson(list);
      print(table(['name', 'version', 'loaded', 'status', 'configured', 'path'],
        list.map((p) => [p.name, p.version, p.loaded ? 'yes' : 'no', p.status, p.configured ? 'yes' : 'no', p.path])));
    });

  clientOptions(plugins.command('info <name>').description('everything about one loaded plugin: version, status, commands, dependencies, calls, health'))
    .action(async (name: string, o: ClientOptions) => {
      const info = await withHost(o, (c) => c.request('info', { name }));
      if (o.json) return printJson(info);
      const s = info.stats;
      print(keyValues([
        ['name', info.name],
        ['version', info.version],
        ['status', `${info.status}${info.error ? ` (${info.error})` : ''}`],
        ['health', info.health === undefined ? '-' : JSON.stringify(info.health)],
        ['activation', `${info.activation}${info.pooled ? ', pooled' : ''}`],
        ['path', info.path],
        ['entry', info.entry],
        ['module', info.module],
        ['commands', info.commands === undefined ? '(not started yet)' : info.commands.join(', ') || '(none)'],
        ['depends on', Object.entries(info.dependsOn).map(([d, r]) => `${d} ${r}`).join(', ') || '-'],
        ['dependents', info.dependents.join(', ') || '-'],
        ['generation', info.generation],
        ['last loaded', info.lastLoaded ?? '-'],
        ['reloads', info.reloadCount],
        ['calls', `${s.calls} (${s.errors} errors, ${s.timeouts} timeouts, ${s.pending} pending), ${s.restarts} restarts`],
      ]));
    });

  clientOptions(plugins.command('deps <name>').description('the plugins NAME depends on (ranges, loaded versions) and the ones that depend on it'))
    .action(async (name: string, o: ClientOptions) => {
      const deps = await withHost(o, (c) => c.request('deps', { name }));
      if (o.json) printJson(deps);
      else {
        print(deps.dependsOn.length === 0 ? `${name} depends on no plugin` : `${name} depends on:\n${table(['name', 'range', 'loaded', 'satisfied'],
          deps.dependsOn.map((d) => [d.name, d.range, d.loadedVersion ?? 'not loaded', d.satisfied ? 'yes' : 'NO']))}`);
        print(deps.dependents.length === 0 ? 'no plugin depends on it' : `dependents (reloaded with it, in order): ${deps.dependents.join(', ')}`);
      }
      // Exit 1 when one is not satisfied, with --json as without.
      if (deps.dependsOn.some((d) => !d.satisfied)) throw Object.assign(new Error(`${name} has unsatisfied dependencies`), { code: 'PLUGVISOR_DEPENDENCY_MISSING' });
    });
}

export function loadedTable(list: PluginInfo[]): string {
  return table(['name', 'version', 'status', 'activation', 'reloads', 'calls', 'errors', 'last loaded'],
    list.map((p) => [p.name, p.version, p.status, `${p.activation}${p.pooled ? ' (pool)' : ''}`, p.reloadCount, p.stats.calls, p.stats.errors, p.lastLoaded ?? '-']));
}

export function describeReload(r: ReloadResult): string {
  if (r.ok) {
    const state = r.stateBytes > 0 ? `, state ${bytes(r.stateBytes)}` : '';
    const backup = r.backupFile ? `; state backed up to ${r.backupFile}` : '';
    return `reloaded ${r.plugin} ${r.fromVersion} → ${r.toVersion} in ${ms(r.durationMs)} (pause ${ms(r.pauseMs)}${state})${backup}`;
  }
  const e = r.error as unknown as { step?: string; code?: string; message?: string } | undefined;
  return `reload of ${r.plugin} failed at step ${e?.step ?? '?'}: ${e?.code ?? ''} ${e?.message ?? ''} — rolled back, ${r.fromVersion} keeps serving`;
}

/** A reload that did not go through is a failed command: one line on stderr, exit 1. */
export function failIfNotReloaded(results: ReloadResult[]): void {
  const failed = results.find((r) => !r.ok);
  if (failed === undefined) return;
  const e = failed.error as unknown as { step?: string; code?: string; message?: string };
  throw Object.assign(new Error(`reload of ${failed.plugin} failed at step ${e.step}: ${e.message} (${failed.fromVersion} keeps serving)`), { code: e.code ?? 'PLUGVISOR_RELOAD_FAILED' });
}
