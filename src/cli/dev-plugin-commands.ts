/**
 * `plugvisor dev plugin create | validate | test | debug | monitor | analyze-deps`: writing and
 * checking plugins (in this process, no host needed: create, validate, test) and looking into one
 * that runs (debug, monitor, analyze-deps: through the host).
 */
import { constants } from 'node:os';
import { join, relative } from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Command } from 'commander';
import type { ChildProcess } from 'node:child_process';
import type { MonitorSample } from '../control/call-monitor.js';
import type { DependencyAnalysis, DependencyNode } from '../diagnose/analyze-dependencies.js';
import type { PluginInspection } from '../diagnose/inspect-plugin.js';
import type { ValidationReport } from '../plugin/validate-plugin.js';
import { ControlClient } from '../control/control-client.js';
import { clientOptions, maybeHost, untilSignal, withHost, type ClientOptions } from './host-client.js';
import { bytes, keyValues, ms, print, printJson, printJsonLine, table } from './output.js';
import { positiveInt } from './arguments.js';
import { findProjectRoot, resolvePluginFolder } from './project.js';

export function registerDevPluginCommands(plugin: Command): void {
  plugin.command('create <name>')
    .description('create plugins/NAME under the project root from a template: package.json, index.ts and a test file')
    .option('-t, --template <template>', 'command (stateless commands), stateful (state kept across reloads) or pooled (a pool of threads)', 'command')
    .option('--json', 'print JSON instead of text')
    .action(async (name: string, o: { template: string; json?: boolean }) => {
      const { createPlugin } = await import('../plugin/create-plugin.js');
      const root = findProjectRoot();
      const created = createPlugin(root, name, o.template);
      if (o.json) return printJson(created);
      print(`created ${created.name} (${created.template}) in ${created.dir}:`);
      for (const f of created.files) print(`  ${relative(root, f)}`);
      print('next:');
      print(`  plugvisor dev plugin validate ${name}`);
      print(`  plugvisor dev plugin test ${name}`);
      print(`  plugvisor plugins load ${name} --dev-mode --watch    (with a host running: plugvisor start)`);
    });

  clientOptions(plugin.command('validate <name>')
    .description('run the reload\'s validation on the plugin\'s files: manifest, compile, config, dependencies, import, state(), setup(), health(), state serialisation')
    .option('--watch', 'validate again on every save; runs until Ctrl-C'))
    .action(async (name: string, o: ClientOptions & { watch?: boolean }) => {
      const { validatePlugin } = await import('../plugin/validate-plugin.js');
      const root = findProjectRoot();
      const host = await maybeHost(o);
      const dir = await resolvePluginFolder(name, root, host);
      const validate = async (): Promise<ValidationReport> => {
        const loaded = host === undefined ? undefined : await host.request('list', {}).then((l) => new Map(l.map((p) => [p.name, p.version])), () => undefined);
        return validatePlugin(dir, { cacheDir: join(root, '.plugvisor', 'cache'), loadedVersion: loaded === undefined ? undefined : (n) => loaded.get(n) });
      };
      const show = (report: ValidationReport): void => {
        if (o.json) (o.watch ? printJsonLine : printJson)(report);
        else printValidation(report);
      };
      if (!o.watch) {
        const report = await validate();
        host?.close();
        show(report);
        if (report.error !== undefined) throw report.error;
        return;
      }
      untilSignal(() => host?.close());
      await watchFolder(dir, async (changed, watchToo) => {
        if (!o.json) print(`${new Date().toLocaleTimeString()} ${changed.length === 0 ? 'validating' : `changed: ${changed.map((f) => relative(dir, f)).join(', ')}; validating again`}`);
        const report = await validate();
        show(report);
        await watchToo(report.files ?? []);
        // As `test --hot-reload` does: after the report, a silent terminal would look hung.
        if (!o.json) print(`watching ${relative(process.cwd(), dir) || '.'} for changes (Ctrl-C to stop)`);
      });
    });

  plugin.command('test <name>')
    .description('run the plugin\'s tests (*.test.mjs, *.test.js; *.test.ts with tsx) with node --test in its folder')
    .option('--hot-reload', 'run them again on every save; runs until Ctrl-C')
    .option('--socket <path>', 'the host\'s control socket (to find where a loaded plugin lives)')
    .action(async (name: string, o: { hotReload?: boolean; socket?: string }) => {
      const { planTests, runTests } = await import('../plugin/run-plugin-tests.js');
      const root = findProjectRoot();
      const host = await maybeHost(o);
      const dir = await resolvePluginFolder(name, root, host);
      host?.close();
      if (!o.hotReload) {
        const plan = planTests(dir, root);
        // A signal sent to this process alone (kill, a process manager, an IDE's stop button; a
        // terminal's Ctrl-C reaches the whole group) killed it and left node --test running the
        // tests on its own: pass the signal on, and exit as the signal would once the tests are gone.
        let child: ChildProcess | undefined;
        let interrupted: NodeJS.Signals | undefined;
        const forward = (signal: NodeJS.Signals): void => {
          interrupted = signal;
          child?.kill(signal);
        };
        process.once('SIGINT', forward);
        process.once('SIGTERM', forward);
        const code = await runTests(plan, (spawned) => (child = spawned));
        if (interrupted !== undefined) {
          // Said, not only exited with: a status of 143 alone reads like a test that failed.
          process.stderr.write(`plugvisor: the tests of ${name} were stopped by ${interrupted}\n`);
          process.exit(128 + (constants.signals[interrupted] ?? 0));
        }
        if (code !== 0) throw Object.assign(new Error(`the tests of ${name} failed (node --test exited with ${code})`), { code: 'PLUGVISOR_TESTS_FAILED' });
        return;
      }
      let running: ChildProcess | undefined;
      untilSignal(() => running?.kill());
      const { compiledFilesOf } = await import('../plugin/plugin-made-of.js');
      await watchFolder(dir, async (changed, watchToo) => {
        running?.kill();
        print(`${new Date().toLocaleTimeString()} ${changed.length === 0 ? 'running' : `changed: ${changed.map((f) => relative(dir, f)).join(', ')}; running again`} the tests of ${name}`);
        let code: number;
        try {
          code = await runTests(planTests(dir, root), (child) => (running = child));
        } catch (err) {
          print(`cannot run the tests: ${(err as Error).message}`);
          return;
        }
        running = undefined;
        // The plugin's files outside its folder too (a shared helper it imports).
        await watchToo(await compiledFilesOf(dir, join(root, '.plugvisor', 'cache')));
        print(`${new Date().toLocaleTimeString()} tests of ${name} ${code === 0 ? 'passed' : `failed (exit ${code})`}; watching for changes (Ctrl-C to stop)`);
      });
    });

  clientOptions(plugin.command('debug <name>')
    .description('what the host knows about a running plugin: worker, commands, limits, whether the code on disk is what runs, state, heap, recent events')
    .option('-v, --verbose', 'also the resolved manifest, the plugin\'s files and every recent event in full'))
    .action(async (name: string, o: ClientOptions & { verbose?: boolean }) => {
      const inspection = await withHost(o, (c) => c.request('inspect', { name, verbose: o.verbose === true }));
      if (o.json) return printJson(inspection);
      printInspection(inspection, o.verbose === true);
    });

  clientOptions(plugin.command('monitor <name>')
    .description('live call rate, latency, errors and memory of a plugin, refreshed every interval; runs until Ctrl-C')
    .option('--metrics', 'show the metrics (the default)')
    .option('-i, --interval <ms>', 'refresh every MS milliseconds', positiveInt, 1000)
    .option('-n, --count <n>', 'stop after N samples', positiveInt)
    .option('--once', 'one sample, then exit (same as --count 1)'))
    .action(async (name: string, o: ClientOptions & { interval: number; count?: number; once?: boolean }) => {
      const count = o.once ? 1 : o.count;
      const client = await ControlClient.connect({ socket: o.socket });
      untilSignal(() => client.close());
      const redraw = process.stdout.isTTY === true && !o.json;
      let drawn = 0;
      await client.stream('monitor', { name, intervalMs: o.interval, ...(count === undefined ? {} : { count }) }, (sample) => {
        if (o.json) return printJsonLine(sample);
        if (!redraw) return print(sampleLine(sample));
        const lines = sampleBlock(sample);
        // Move up over the previous block and clear it: the numbers refresh in place.
        if (drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
        process.stdout.write(`${lines.join('\n')}\n`);
        drawn = lines.length;
      });
      client.close();
    });

  clientOptions(plugin.command('analyze-deps <name>')
    .description('the plugin\'s dependency tree (ranges, loaded versions), what a reload of it drags along, its npm packages'))
    .action(async (name: string, o: ClientOptions) => {
      const analysis = await withHost(o, (c) => c.request('analyzeDeps', { name }));
      if (o.json) printJson(analysis);
      else printAnalysis(analysis);
      if (analysis.problems.length > 0) {
        throw Object.assign(new Error(`${name}: ${analysis.problems[0]}${analysis.problems.length > 1 ? ` (and ${analysis.problems.length - 1} more)` : ''}`), { code: 'PLUGVISOR_DEPENDENCY_MISSING' });
      }
    });
}

/**
 * Call `onChange` now, then after every burst of changes in `dir` (node_modules and dot files
 * aside), one at a time. `watchToo` watches more files from then on: the plugin's files outside
 * its folder (a shared helper, the project's tsconfig.json) or in node_modules (an extended config).
 */
async function watchFolder(dir: string, onChange: (changed: string[], watchToo: (files: readonly string[]) => Promise<void>) => Promise<void>): Promise<FSWatcher> {
  const { watch } = await import('chokidar');
  let pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const onEvent = (_event: string, path: string): void => {
    pending.add(path);
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      const changed = [...pending];
      pending = new Set();
      chain = chain.then(() => onChange(changed, watchToo)).catch((err: Error) => print(`error: ${err.message}`));
    }, 150);
  };
  const ignored = (path: string): boolean => /(^|[/\\])(node_modules|\.[^/\\]+)([/\\]|$)/.test(relative(dir, path));
  const extra = new Set<string>();
  const watchToo = async (files: readonly string[]): Promise<void> => {
    const added = files.filter((f) => !extra.has(f) && ignored(f));
    if (added.length === 0) return;
    for (const f of added) extra.add(f);
    await ready(watch(added, { ignoreInitial: true }).on('all', onEvent));
  };
  let chain = onChange([], watchToo);
  return ready(watch(dir, { ignoreInitial: true, ignored }).on('all', onEvent));
}

/** The watcher, once its initial scan is done. */
async function ready(watcher: FSWatcher): Promise<FSWatcher> {
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return watcher;
}

const MARK = { ok: 'ok', fail: 'FAIL', skip: 'skip' };

function printValidation(r: ValidationReport): void {
  print(`validating ${r.plugin ?? r.dir} in ${r.dir}`);
  print(table(['', 'step', 'result', 'time'], r.steps.map((s) => [
    s.skipped ? MARK.skip : s.ok ? MARK.ok : MARK.fail,
    s.step,
    s.error !== undefined ? `${s.error.code}: ${s.error.message.split('\n')[0]}` : s.detail ?? '',
    s.skipped ? '' : ms(s.ms),
  ])));
  print(r.ok
    ? `${r.plugin} ${r.version} is valid: it would load, and a reload to it would pass validation (${ms(r.durationMs)})`
    : `${r.plugin ?? r.dir} is not valid: step ${r.error?.step} failed; a reload to it would roll back`);
}

function printInspection(x: PluginInspection, verbose: boolean): void {
  const i = x.info;
  const m = x.manifest as { limits?: Record<string, number>; restart?: Record<string, number>; stateTransfer?: string; configFile?: string } | undefined;
  const disk = x.disk.error !== undefined ? `the files on disk do not build: ${x.disk.error.split('\n')[0]}`
    : x.disk.sameCode ? 'the code on disk is the code that runs'
      : `the code on disk (${x.disk.version}) differs from the code that runs: reload to pick it up`;
  const heap = x.heap === null ? '-' : `${bytes(x.heap.heapUsedBytes)} used of ${bytes(x.heap.heapLimitBytes)} (total ${bytes(x.heap.heapTotalBytes)}, external ${bytes(x.heap.externalBytes)})`;
  print(`${i.name} ${i.version}: ${i.status}${i.error ? ` (${i.error})` : ''}`);
  print(keyValues([
    ['path', i.path],
    ['entry', i.entry],
    ['module', i.module],
    ['code', disk],
    ['runs in', `${i.pooled ? 'a pool of threads' : 'a worker of its own'}, ${i.activation} activation, generation ${i.generation}`],
    ['commands', i.commands === undefined ? '(not started yet)' : i.commands.join(', ') || '(none)'],
    ['state', x.stateError !== undefined ? `does not serialise: ${x.stateError}` : x.stateBytes === null ? '-' : `${bytes(x.stateBytes)} with node:v8${m?.stateTransfer ? `, ${m.stateTransfer} transfer` : ''}`],
    ['heap', heap],
    ['calls', `${i.stats.calls} (${i.stats.errors} errors, ${i.stats.timeouts} timeouts, ${i.stats.pending} pending, ${i.stats.lateReplies} late replies)`],
    ['restarts', `${i.stats.restarts}${m?.restart ? ` (policy: ${m.restart['maxRestarts']} in ${m.restart['windowSeconds']} s)` : ''}`],
    ['reloads', `${i.reloadCount}${i.lastLoaded ? `, last loaded ${i.lastLoaded}` : ''}`],
    ['limits', m?.limits ? Object.entries(m.limits).map(([k, v]) => `${k} ${v}`).join(', ') : '-'],
    ['config', m?.configFile ?? '-'],
    ['depends on', Object.entries(i.dependsOn).map(([d, r]) => `${d} ${r}`).join(', ') || '-'],
    ['dependents', i.dependents.join(', ') || '-'],
  ]));
  print(x.events.length === 0 ? 'recent events: none' : 'recent events:');
  for (const e of x.events) {
    const { at, event, plugin: _p, ...rest } = e;
    const detail = verbose ? JSON.stringify(rest) : describeEvent(event, rest);
    print(`  ${at.slice(11, 23)}  ${event.padEnd(8)}  ${detail}`);
  }
  if (verbose) {
    if (x.files !== undefined) print(`files: ${x.files.join(', ')}`);
    print('manifest:');
    print(JSON.stringify(x.manifest, null, 2));
  }
}

function describeEvent(event: string, e: Record<string, unknown>): string {
  switch (event) {
    case 'reload': return `${e['fromVersion']} → ${e['toVersion']} in ${ms(e['durationMs'] as number)} (pause ${ms(e['pauseMs'] as number)})`;
    case 'rollback': return `failed at step ${e['step']}: ${e['error']}`;
    case 'crash': return `${e['reason']}${e['error'] ? `: ${e['error']}` : ''} (${e['failedCalls']} calls failed)`;
    case 'restart': return `attempt ${e['attempt']} after ${ms(e['delayMs'] as number)}, state ${e['state']}`;
    case 'load': return `${e['version']} (${e['activation']}${e['pooled'] ? ', pooled' : ''})`;
    case 'change': return `${(e['files'] as string[]).length} file(s): ${e['action']}`;
    case 'config': return `${e['file']}: ${e['ok'] ? 'applied' : `refused: ${e['error']}`}`;
    default: return JSON.stringify(e);
  }
}

function sampleBlock(s: MonitorSample): string[] {
  const lat = s.latencyMs;
  const errors = Object.entries(s.errorCodes).map(([c, n]) => `${c} ×${n}`).join(', ');
  return [
    `${s.plugin} ${s.version} · ${s.status} · sample ${s.seq} every ${ms(s.intervalMs)} · ${new Date(s.at).toLocaleTimeString()} (Ctrl-C to stop)`,
    keyValues([
      ['calls', `${s.ratePerSecond}/s (${s.calls} in ${ms(s.intervalMs)}), ${s.pending} pending`],
      ['errors', `${s.errors}${errors ? ` (${errors})` : ''}`],
      ['latency', lat === null ? '-' : `p50 ${ms(lat.p50)}  p95 ${ms(lat.p95)}  p99 ${ms(lat.p99)}  max ${ms(lat.max)}  mean ${ms(lat.mean)}`],
      ['memory', s.heap === null ? '- (no worker of its own)' : `heap ${bytes(s.heap.heapUsedBytes)} of ${bytes(s.heap.heapLimitBytes)}`],
      ['commands', s.commands.map((c) => `${c.command} ${c.calls}${c.errors ? ` (${c.errors} errors)` : ''} p50 ${ms(c.p50)}`).join(' · ') || '-'],
      ['totals', `${s.totals.calls} calls, ${s.totals.errors} errors, ${s.totals.timeouts} timeouts, ${s.totals.restarts} restarts, ${s.totals.reloads} reloads`],
    ], '  ').split('\n'),
  ].flat();
}

function sampleLine(s: MonitorSample): string {
  const lat = s.latencyMs;
  return `${new Date(s.at).toLocaleTimeString()} ${s.plugin} ${s.status} calls ${s.calls} (${s.ratePerSecond}/s) errors ${s.errors}`
    + ` p50 ${ms(lat?.p50)} p95 ${ms(lat?.p95)} max ${ms(lat?.max)} heap ${bytes(s.heap?.heapUsedBytes)} pending ${s.pending}`;
}

function printAnalysis(a: DependencyAnalysis): void {
  print(`${a.plugin} ${a.version}`);
  if (a.dependsOn.length === 0) print('depends on no plugin');
  else {
    print('depends on:');
    const walk = (nodes: DependencyNode[], prefix: string): void => nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      const loaded = n.loadedVersion === undefined ? 'NOT LOADED' : `${n.loadedVersion} (${n.status})`;
      print(`${prefix}${last ? '└─' : '├─'} ${n.name} ${n.range} → ${loaded}${n.satisfied ? '' : ' UNSATISFIED'}${n.repeated ? ' (see above)' : ''}`);
      walk(n.dependsOn, `${prefix}${last ? '   ' : '│  '}`);
    });
    walk(a.dependsOn, '  ');
  }
  print(a.dependents.length === 0
    ? `a reload of ${a.plugin} reloads only ${a.plugin}`
    : `a reload of ${a.plugin} also reloads, in this order: ${a.dependents.map((d) => `${d.name} ${d.version} (${d.status}; ${d.range !== undefined ? `needs ${a.plugin} ${d.range}` : `through ${d.via}`})`).join(', ')}`);
  print(a.npm.length === 0 ? 'npm packages: none' : `npm packages:\n${table(['package', 'range', 'installed'], a.npm.map((p) => [p.name, p.range, `${p.installed ?? 'NOT INSTALLED'}${p.installed !== undefined && !p.satisfied ? ' (outside the range)' : ''}`]))}`);
  if (a.pending.length > 0) print(`the next reload changes: ${a.pending.join('; ')}`);
  for (const p of a.problems) print(`problem: ${p}`);
}
