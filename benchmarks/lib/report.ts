/** The two reporters: `pretty` (aligned tables for a terminal) and `json` (the result files' content). */
import type { MachineInfo } from './machine.js';
import type { ScopeResult, Table, TargetCheck } from './scope.js';

/** What the runner writes to benchmarks/results/<scope>-*.json and prints with --reporter json. */
export interface ScopeReport extends ScopeResult {
  scope: string;
  description: string;
  startedAt: string;
  durationMs: number;
  quick: boolean;
  machine: MachineInfo;
}

export function prettyMachine(m: MachineInfo): string {
  const git = m.git ? `, git ${m.git.commit}${m.git.dirty ? ' (dirty)' : ''}` : '';
  return `node ${m.node} (v8 ${m.v8}), ${m.platform}/${m.arch}, ${m.cpuModel}, ${m.cores} cores, ` +
    `${m.totalMemoryGb} GB, load ${m.loadAverage.join(' ')}${git}`;
}

export function prettyReport(report: ScopeReport): string {
  const out: string[] = [];
  out.push(`== ${report.scope}: ${report.description}`);
  out.push(`   ${prettyMachine(report.machine)}`);
  out.push(`   ${(report.durationMs / 1000).toFixed(1)} s${report.quick ? ', --quick (indicative only)' : ''}`);
  for (const table of report.tables) out.push('', prettyTable(table));
  if (report.targets.length > 0) out.push('', prettyTargets(report.targets));
  return out.join('\n');
}

export function prettyTable(table: Table): string {
  const cells = [table.columns, ...table.rows.map((row) => row.map(String))];
  const widths = table.columns.map((_, c) => Math.max(...cells.map((row) => (row[c] ?? '').length)));
  // The first column (names) is left-aligned, numbers right-aligned.
  const line = (row: string[]): string => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const lines = [`-- ${table.title}`, line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)];
  if (table.note) lines.push(...table.note.split('\n').map((l) => `   ${l}`));
  return lines.join('\n');
}

export function prettyTargets(targets: TargetCheck[]): string {
  const width = Math.max(...targets.map((t) => t.name.length));
  return ['-- targets', ...targets.map((t) => `${t.pass ? 'PASS' : 'MISS'}  ${t.name.padEnd(width)}  ${t.target.padEnd(28)}  measured ${t.measured}`)].join('\n');
}
