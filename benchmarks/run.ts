/**
 * The benchmark runner: `node benchmarks/run.mjs --scope rpc|reload|startup|all --reporter
 * pretty|json` (or `npm run bench -- --scope rpc`). See benchmarks/README.md. run.mjs registers tsx
 * in this thread only: with `node --import tsx`, every worker would inherit the flag and load tsx.
 *
 * One file per scope; each exports a BenchScope (lib/scope.ts). The runner adds machine info,
 * prints with the chosen reporter and writes benchmarks/results/<scope>-<timestamp>.json plus
 * <scope>-latest.json (only the latter is kept in git).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from './lib/machine.js';
import { REPO_ROOT } from './lib/plugvisor.js';
import { prettyMachine, prettyReport, type ScopeReport } from './lib/report.js';
import type { BenchScope } from './lib/scope.js';

type ScopeLoader = () => Promise<{ default: BenchScope }>;

/**
 * Every scope, in the order `--scope all` runs them. Registering one is one line: its loader.
 */
const SCOPES: Record<string, ScopeLoader> = {
  rpc: () => import('./rpc.js'),
  reload: () => import('./reload.js'),
  startup: () => import('./startup.js'),
  watch: () => import('./watch.js'),
};

const REPORTERS = ['pretty', 'json'] as const;
type Reporter = (typeof REPORTERS)[number];

const USAGE = `usage: npm run bench -- [--scope NAME|all] [--reporter pretty|json] [--quick] [--no-save] [--out DIR] [--check]

  --scope NAME     which scope to run (default: all): ${Object.keys(SCOPES).join(', ')}, all
  --reporter R     pretty (tables, default) or json (the report on stdout, an array with --scope all;
                   progress on stderr; use "npm run -s bench" so npm adds nothing to stdout)
  --quick          a short smoke run: fewer iterations, numbers indicative only
  --no-save        do not write benchmarks/results/
  --out DIR        where result files go (default: benchmarks/results)
  --check          exit 1 when a target is missed`;

class UsageError extends Error {}

function availableText(): string {
  return `available: ${[...Object.keys(SCOPES), 'all'].join(', ')}`;
}

function selectScopes(scope: string): string[] {
  if (scope === 'all') return Object.keys(SCOPES);
  if (!(scope in SCOPES)) throw new UsageError(`unknown scope "${scope}"; ${availableText()}`);
  return [scope];
}

function parseCli(argv: string[]): { scopes: string[]; all: boolean; reporter: Reporter; quick: boolean; save: boolean; outDir: string; check: boolean } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        scope: { type: 'string', default: 'all' },
        reporter: { type: 'string', default: 'pretty' },
        quick: { type: 'boolean', default: false },
        'no-save': { type: 'boolean', default: false },
        out: { type: 'string', default: fileURLToPath(new URL('./results/', import.meta.url)) },
        check: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const reporter = values.reporter as Reporter;
  if (!REPORTERS.includes(reporter)) throw new UsageError(`unknown reporter "${values.reporter}"; available: ${REPORTERS.join(', ')}`);
  return { scopes: selectScopes(values.scope), all: values.scope === 'all', reporter, quick: values.quick, save: !values['no-save'], outDir: values.out, check: values.check };
}

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const machine = machineInfo(REPO_ROOT);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  if (cli.reporter === 'pretty') log(`bench: ${prettyMachine(machine)}`);

  const reports: ScopeReport[] = [];
  for (const name of cli.scopes) {
    const scope = (await SCOPES[name]!()).default;
    log(`bench: ${name}: ${scope.description}`);
    const startedAt = new Date();
    const t0 = performance.now();
    const { files = [], ...result } = await scope.run({ quick: cli.quick, log: (line) => log(`  [${name}] ${line}`) });
    const report: ScopeReport = {
      scope: name,
      description: scope.description,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(performance.now() - t0),
      quick: cli.quick,
      machine,
      ...result,
    };
    reports.push(report);
    if (cli.reporter === 'pretty') process.stdout.write(`\n${prettyReport(report)}\n`);
    if (cli.save) {
      mkdirSync(cli.outDir, { recursive: true });
      const text = `${JSON.stringify(report, null, 2)}\n`;
      writeFileSync(join(cli.outDir, `${name}-${stamp}.json`), text);
      writeFileSync(join(cli.outDir, `${name}-latest.json`), text);
      log(`bench: wrote ${join(cli.outDir, `${name}-${stamp}.json`)} and ${name}-latest.json`);
      for (const file of files) {
        writeFileSync(join(cli.outDir, basename(file.name)), file.content);
        log(`bench: wrote ${join(cli.outDir, basename(file.name))}`);
      }
    }
  }
  // One scope: its report; --scope all: an array of reports, however many scopes exist today.
  if (cli.reporter === 'json') process.stdout.write(`${JSON.stringify(cli.all ? reports : reports[0], null, 2)}\n`);
  const missed = reports.flatMap((r) => r.targets.filter((t) => !t.pass).map((t) => `${r.scope}: ${t.name}`));
  if (missed.length > 0) log(`bench: ${missed.length} target(s) missed: ${missed.join('; ')}`);
  return cli.check && missed.length > 0 ? 1 : 0;
}

process.exitCode = await main();
