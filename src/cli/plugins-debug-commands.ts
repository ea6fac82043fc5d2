/**
 * `plugvisor plugins dev | debug | debug-watcher | profile`: watching one plugin, diagnosing why it
 * will not reload, testing the watcher, timing a reload's phases.
 */
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { MAX_PROFILE_RUNS } from '../control/protocol.js';
import { positiveInt, profileRuns } from './arguments.js';
import type { Diagnosis, DiagnosisCheck } from '../diagnose/diagnose-plugin.js';
import type { WatcherReport } from '../diagnose/test-watcher.js';
import type { DevWatchEvent } from '../control/plugin-watches.js';
import type { ReloadPhases, ReloadResult } from '../reload/reload-result.js';
import { PlugvisorError } from '../errors.js';
import { ControlClient } from '../control/control-client.js';
import { clientOptions, untilSignal, withHost, type ClientOptions } from './host-client.js';
import { keyValues, ms, plural, print, printJson, printJsonLine, table } from './output.js';
import { describeReload, failIfNotReloaded } from './plugins-commands.js';

export function registerPluginsDebugCommands(plugins: Command): void {
  clientOptions(plugins.command('dev <name>')
    .description('watch one plugin\'s files and (with --auto-reload) reload it on every save; runs until Ctrl-C')
    .option('--watch', 'watch the plugin\'s files (the default: this command always watches)')
    .option('--auto-reload', 'reload the plugin when its files change (otherwise only report changes)')
    .option('--count <n>', 'stop after N reloads', positiveInt))
    .action(async (name: string, o: ClientOptions & { autoReload?: boolean; count?: number }) => {
      const client = await ControlClient.connect({ socket: o.socket });
      untilSignal(() => client.close());
      const result = await client.stream('devWatch', { name, autoReload: o.autoReload === true, ...(o.count === undefined ? {} : { count: o.count }) }, (event) => {
        if (o.json) printJsonLine(event);
        else print(describeDevEvent(event));
      });
      client.close();
      if (!o.json) print(`stopped after ${plural(result.reloads, 'reload')}`);
    });

  clientOptions(plugins.command('debug <name>')
    .description('diagnose why a plugin will not reload: status, file permissions, syntax (compile and import); with flags, only those checks besides')
    .option('--check-locks', 'processes, editors or plugvisor writes holding the plugin\'s files')
    .option('--check-dependencies', 'dependsOn against the loaded versions, npm packages installed, engines range')
    .option('--check-state-methods', 'the running state serialises (asked from the worker); state() and migrate()'))
    .action(async (name: string, o: ClientOptions & { checkLocks?: boolean; checkDependencies?: boolean; checkStateMethods?: boolean }) => {
      const flagged: DiagnosisCheck[] = [
        ...(o.checkLocks ? ['locks' as const] : []),
        ...(o.checkDependencies ? ['dependencies' as const] : []),
        ...(o.checkStateMethods ? ['state' as const] : []),
      ];
      const checks: DiagnosisCheck[] = flagged.length === 0 ? [] : ['status', 'permissions', 'syntax', ...flagged];
      const diagnosis = await withHost(o, (c) => c.request('debug', { name, checks }));
      if (o.json) printJson(diagnosis);
      else printDiagnosis(diagnosis);
      const problem = diagnosis.findings.find((f) => f.level === 'problem');
      if (problem !== undefined) {
        throw Object.assign(new Error(`${name} will not reload: ${problem.check}: ${problem.message}`), { code: problem.code ?? 'PLUGVISOR_RELOAD_FAILED' });
      }
    });

  clientOptions(plugins.command('debug-watcher')
    .description('what the host\'s watcher watches; with --test-events, touch a file and report what the watcher saw')
    .option('--test-events', 'touch a file (mtime only) and report the watcher\'s events')
    .option('--plugin <name>', 'touch this plugin\'s entry file (default: the first loaded plugin)')
    .option('--file <path>', 'touch this file instead (relative to the current folder)')
    .option('--timeout <ms>', 'how long to wait for an event', positiveInt, 3000))
    .action(async (o: ClientOptions & { testEvents?: boolean; plugin?: string; file?: string; timeout: number }) => {
      const report = await withHost(o, (c) => c.request('watcher', {
        testEvents: o.testEvents === true,
        ...(o.plugin === undefined ? {} : { plugin: o.plugin }),
        ...(o.file === undefined ? {} : { file: resolve(o.file) }),
        timeoutMs: o.timeout,
      }));
      if (o.json) printJson(report);
      else printWatcherReport(report);
      if (report.test !== undefined && !report.test.seen) throw Object.assign(new Error(report.test.verdict), { code: 'PLUGVISOR_WATCH_NO_EVENTS' });
    });

  clientOptions(plugins.command('profile <name>')
    .description('reload a plugin and print the time of each phase of the reload')
    .option('--reload-time', 'time the reload\'s phases (the default)')
    .option('--runs <n>', `reload N times (at most ${MAX_PROFILE_RUNS}) and print the median, min and max of each phase`, profileRuns, 1)
    .option('--force', 'skip validation (as reload --force)'))
    .action(async (name: string, o: ClientOptions & { runs: number; force?: boolean }) => {
      const results = await withHost(o, (c) => c.request('profile', { name, runs: o.runs, force: o.force === true }));
      if (o.json) printJson(o.runs === 1 ? results[0] : results);
      else printProfile(results);
      failIfNotReloaded(results);
      // The host ends a profile early only when it stops: what was printed is a part, not the whole.
      if (results.length < o.runs) {
        throw new PlugvisorError('PLUGVISOR_HOST_STOPPING', `profile of ${name} cut short after ${results.length} of ${o.runs} runs: the host is stopping`, { plugin: name });
      }
    });
}

function describeDevEvent(e: DevWatchEvent): string {
  const time = new Date().toLocaleTimeString();
  switch (e.type) {
    case 'watching':
      return `${time} watching ${e.plugin} in ${e.dir} (${plural(e.files, 'file')}, ${e.watcher === 'host' ? 'the host\'s watcher' : 'a watcher of its own'}); auto-reload ${e.autoReload ? 'on' : 'off'}; Ctrl-C to stop`;
    case 'change':
      return `${time} changed: ${e.files.map((f) => relative(process.cwd(), f)).join(', ')}${e.action === 'reload' ? ' → reloading' : e.action === 'config' ? ' → config delivered' : ' (not reloaded)'}`;
    case 'reload':
      return e.ok
        ? `${time} reloaded ${e.plugin} ${e.fromVersion} → ${e.toVersion} in ${ms(e.durationMs)} (pause ${ms(e.pauseMs)})`
        : `${time} reload of ${e.plugin} failed at step ${e.step}: ${e.error} — the old version keeps serving`;
    case 'unloaded':
      return `${time} ${e.plugin} was unloaded`;
  }
}

const LEVELS: Record<string, string> = { ok: 'ok', info: 'info', warn: 'WARN', problem: 'PROBLEM' };

function printDiagnosis(d: Diagnosis): void {
  const next = d.nextVersion === undefined ? 'its package.json does not read' : d.nextVersion === d.version ? `the files on disk are ${d.nextVersion} too` : `the files on disk are ${d.nextVersion}`;
  print(`${d.plugin} ${d.version} (${d.status}) in ${d.dir}; ${next}`);
  print(table(['result', 'check', 'finding'], d.findings.map((f) => [LEVELS[f.level], f.check, f.message])));
  print(d.reloadable
    ? `no problem found${d.warnings > 0 ? ` (${plural(d.warnings, 'warning')})` : ''}: a reload should go through`
    : `${plural(d.problems, 'problem')}${d.warnings > 0 ? `, ${plural(d.warnings, 'warning')}` : ''}: the plugin will not reload until the problems are fixed`);
}

function printWatcherReport(r: WatcherReport): void {
  print(keyValues([
    ['watching', r.watching ? `on (${r.automaticReload ? 'automatic reload' : 'changes reported only'}), cooldown ${ms(r.cooldownMs)}` : 'off (watch.enabled: false)'],
    ['root', r.root],
    ['patterns', r.patterns.join(' ')],
    ['ignore', r.ignore.join(' ')],
  ]));
  for (const p of r.plugins) print(`${p.name}: ${p.files.length === 0 ? 'no watched file under its folder' : p.files.join(', ')}`);
  const t = r.test;
  if (t === undefined) return;
  print();
  print(`touched ${t.file} (${t.plugins.length > 0 ? `belongs to ${t.plugins.join(', ')}` : 'belongs to no plugin'}; ${t.matchesPatterns ? 'matches' : 'does not match'} watch.patterns${t.ignored ? '; matches watch.ignore' : ''})`);
  if (t.events.length === 0) print('events: none');
  else print(table(['after', 'event', 'file', 'plugins'], t.events.map((e) => [ms(e.afterMs), e.event, e.file, e.plugins.join(', ') || '-'])));
  for (const c of t.changes) print(`then: ${c.plugin}: ${c.action} (${c.files.join(', ')})`);
  print(t.verdict);
}

const PHASES: Array<keyof ReloadPhases> = ['prepare', 'validate', 'spawn', 'precopy', 'drain', 'detach', 'snapshot', 'activate', 'health', 'transfer', 'swap', 'dispose'];
const PAUSED = new Set<keyof ReloadPhases>(['drain', 'detach', 'snapshot', 'activate', 'health', 'transfer', 'swap']);

function printProfile(results: ReloadResult[]): void {
  const ok = results.filter((r) => r.ok);
  const first = results[0]!;
  if (ok.length === 0) {
    print(describeReload(first));
    return;
  }
  print(`${first.plugin}: ${plural(ok.length, 'reload')}${ok.length > 1 ? ' (median, min, max)' : ''}${first.reloaded.length > 1 ? `; each reloads ${first.reloaded.join(', ')}` : ''}`);
  const stat = (values: number[]): [string, string, string] => {
    const sorted = [...values].sort((a, b) => a - b);
    return [ms(sorted[Math.floor(sorted.length / 2)]), ms(sorted[0]), ms(sorted[sorted.length - 1])];
  };
  const rows = PHASES.map((phase) => {
    const [median, min, max] = stat(ok.map((r) => r.phases[phase]));
    return ok.length > 1 ? [phase, median, min, max, PAUSED.has(phase) ? 'yes' : ''] : [phase, median, PAUSED.has(phase) ? 'yes' : ''];
  });
  const total = stat(ok.map((r) => r.durationMs));
  const pause = stat(ok.map((r) => r.pauseMs));
  rows.push(ok.length > 1 ? ['total', ...total, ''] : ['total', total[0], '']);
  rows.push(ok.length > 1 ? ['pause', ...pause, ''] : ['pause', pause[0], '']);
  print(table(ok.length > 1 ? ['phase', 'median', 'min', 'max', 'paused'] : ['phase', 'time', 'paused'], rows));
  const last = ok[ok.length - 1]!;
  print(`state carried: ${last.stateBytes} bytes${last.precopyBytes > 0 ? ` (${last.precopyBytes} pre-copied)` : ''}; version ${last.fromVersion} → ${last.toVersion}`);
  for (const r of results.filter((x) => !x.ok)) print(describeReload(r));
}
