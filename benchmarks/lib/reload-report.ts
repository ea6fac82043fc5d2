/**
 * The reload scope's report: tables, targets (PASS/MISS) and the pause plot, from what
 * reload.ts measured. Every number printed is also in `data`.
 */
import { HOT_KEYS, type StateKind } from './bench-plugins.js';
import { PACED_CALLS_PER_SEC, PHASES, RUNS, runsOf, SAVE_GAP_MS, TS_RELOADS, type LossResult, type Phases, type Plan, type RestartOp, type RestartResult, type RunId, type StateResult, type TsReloads, type TsSample } from './reload-model.js';
import type { ScopeResult, Table, TargetCheck } from './scope.js';
import { HttpLoad } from './http-host.js';
import { logLogChart } from './svg-chart.js';
import { fmtBytes, fmtInt, fmtMs, medianOf, msStats, round, type MsStats } from './stats.js';

// Targets (the reload issue), printed as PASS/MISS.
/** "The pause excludes the worker start": a small state's pause p50 at most this share of a bare worker start. */
export const PAUSE_VS_WORKER_START = 0.25;
/** A full copy's pause p50 within this factor of serialise + transfer + deserialise. */
export const FULL_COPY_VS_FLOOR = 1.2;
export const DELTA_1MB_P99_MS = 5;
/** Keys spread (not from the issue): a delta that carries the whole state costs no more than a full copy. */
export const SPREAD_VS_FULL = 1.1;
export const TS_RELOAD_P50_MS = 100;

export interface RunStats {
  label: string;
  reloads: number;
  pauseMs: MsStats;
  durationMs: MsStats;
  callerWorstMs: MsStats;
  stateBytes: number;
  precopyBytes: number;
  phases: Record<keyof Phases, number>;
}

export interface VariantStats {
  id: string;
  kind: StateKind;
  nominalBytes: number;
  n: number;
  floors: { bytes: number; serializeMs: number; deserializeMs: number; transferMs: number; workerDeserializeMs: number; samples: number };
  floorMs: number;
  freshFloorMs: number;
  /** The same pause without plugvisor, between two warm threads, under the same caller (see PauseRelayFloor); and under the paced caller. */
  relayPauseMs?: MsStats;
  relayPacedPauseMs?: MsStats;
  runs: Partial<Record<RunId, RunStats>>;
  failures: string[];
}

export function reloadReport(
  plan: Plan,
  loaded: StateResult[],
  workerStarts: Array<{ onlineMs: number; firstReplyMs: number }>,
  stateChecks: Array<{ variant: string; ok: boolean } & Record<string, unknown>>,
  loss: LossResult,
  tsSamples: TsSample[],
  restart: RestartResult,
): ScopeResult {
  const workerStart = msStats(workerStarts.map((w) => w.firstReplyMs));
  const workerOnline = msStats(workerStarts.map((w) => w.onlineMs));

  const perVariant = loaded.map((p): VariantStats => {
    const floors = {
      bytes: medianOf(p.floors.map((f) => f.bytes)),
      serializeMs: medianOf(p.floors.map((f) => f.serializeMs)),
      deserializeMs: medianOf(p.floors.map((f) => f.deserializeMs)),
      transferMs: medianOf(p.floors.map((f) => f.transferMs)),
      workerDeserializeMs: medianOf(p.floors.map((f) => f.workerDeserializeMs)),
      samples: p.floors.length,
    };
    const floorMs = floors.serializeMs + floors.transferMs + floors.deserializeMs;
    const freshFloorMs = floors.serializeMs + floors.transferMs + floors.workerDeserializeMs;
    const runs = Object.fromEntries(runsOf(p.variant).map((run) => {
      const s = p.samples.filter((x) => x.run === run.id);
      return [run.id, {
        label: run.label,
        reloads: s.length,
        pauseMs: msStats(s.map((x) => x.pauseMs)),
        durationMs: msStats(s.map((x) => x.durationMs)),
        callerWorstMs: msStats(s.map((x) => x.callerWorstMs)),
        stateBytes: medianOf(s.map((x) => x.stateBytes)),
        precopyBytes: medianOf(s.map((x) => x.precopyBytes)),
        phases: Object.fromEntries(PHASES.map((ph) => [ph, round(medianOf(s.map((x) => x.phases[ph])), 3)])) as Record<keyof Phases, number>,
      }];
    })) as Partial<Record<RunId, RunStats>>;
    const relay = p.relayPauses.length > 0 ? { relayPauseMs: msStats(p.relayPauses), relayPacedPauseMs: msStats(p.relayPacedPauses) } : {};
    return { id: p.variant.id, kind: p.variant.kind, nominalBytes: p.variant.nominalBytes, n: p.n, floors, floorMs, freshFloorMs, ...relay, runs, failures: p.failures };
  });

  const pauseTable: Table = {
    title: `pause a caller sees, by state (${plan.window} calls outstanding, each mutating 4 entries among ${HOT_KEYS} hot ones, or spread)`,
    columns: ['state', 'serialised', 'transfer', 'reloads', 'pause p50 ms', 'pause p99 ms', 'pause max ms', 'duration p50 ms', 'caller worst p50 ms', 'caller worst max ms', 'bytes in pause', 'floor ms', 'pause / floor'],
    rows: perVariant.flatMap((v) => runsOf(v).map((run) => {
      const m = v.runs[run.id]!;
      return [
        v.id, fmtBytes(v.floors.bytes), run.label, m.reloads, fmtMs(m.pauseMs.p50), fmtMs(m.pauseMs.p99), fmtMs(m.pauseMs.max), fmtMs(m.durationMs.p50),
        fmtMs(m.callerWorstMs.p50), fmtMs(m.callerWorstMs.max), fmtBytes(m.stateBytes), fmtMs(v.floorMs), `${(m.pauseMs.p50 / v.floorMs).toFixed(2)}x`,
      ];
    })),
    note: 'pause: pauseMs, how long new calls were held on the host. caller worst: the slowest call that settled during each reload,\n' +
      'as the caller measured it (it includes the pre-copy of a delta transfer, which runs on the old worker\'s thread).\n' +
      'floor: plain node:v8 serialise + transfer + deserialise (one thread, medians, see floors); plugvisor carries typed arrays of 16 KB+ out of line, so it can beat it. p99 is nearest-rank: with few reloads it is the largest.\n' +
      'keys spread: each call mutates 4 entries anywhere in the Map, so the changes made during the pre-copy are most of the Map.\n' +
      `paced caller: ${fmtInt(PACED_CALLS_PER_SEC)} calls/s (hot entries) whatever the answers, instead of a full window: the CPUs are idle between calls.` +
      perVariant.filter((v) => v.relayPauseMs !== undefined).map((v) => `\nbare pause relay, ${v.id}: the same chain of messages between two warm threads, no plugvisor, under the same caller ` +
        `(benchmarks/workers/pause-relay-worker.mjs): p50 ${fmtMs(v.relayPauseMs!.p50)} ms, p99 ${fmtMs(v.relayPauseMs!.p99)} ms, max ${fmtMs(v.relayPauseMs!.max)} ms, ${v.relayPauseMs!.n} pauses; ` +
        `under the paced caller: p50 ${fmtMs(v.relayPacedPauseMs!.p50)} ms, p99 ${fmtMs(v.relayPacedPauseMs!.p99)} ms, max ${fmtMs(v.relayPacedPauseMs!.max)} ms.`).join(''),
  };

  const phaseTable: Table = {
    title: 'reload duration by phase (median ms; the pause is drain … swap)',
    columns: ['state', 'transfer', ...PHASES, 'duration'],
    rows: perVariant.flatMap((v) => runsOf(v).map((run) => {
      const m = v.runs[run.id]!;
      return [v.id, run.label, ...PHASES.map((ph) => fmtMs(m.phases[ph])), fmtMs(m.durationMs.p50)];
    })),
  };

  const floorTable: Table = {
    title: `floors (median of ${plan.rounds} samples each)`,
    columns: ['state', 'serialised', 'serialise ms', 'deserialise ms', 'transfer ms', 'floor ms', 'deserialise in fresh worker ms', 'fresh-worker floor ms', 'full pause p50 / fresh floor'],
    rows: perVariant.map((v) => [
      v.id, fmtBytes(v.floors.bytes), fmtMs(v.floors.serializeMs), fmtMs(v.floors.deserializeMs), fmtMs(v.floors.transferMs), fmtMs(v.floorMs),
      fmtMs(v.floors.workerDeserializeMs), fmtMs(v.freshFloorMs), `${(v.runs.full!.pauseMs.p50 / v.freshFloorMs).toFixed(2)}x`,
    ]),
    note: 'serialise, deserialise: node:v8, on one thread that holds only this state (built by the plugin\'s own generator).\n' +
      `bare worker start (new Worker -> online -> first reply): p50 ${fmtMs(workerStart.p50)} ms, p90 ${fmtMs(workerStart.p90)} ms ` +
      `(online alone: p50 ${fmtMs(workerOnline.p50)} ms), ${workerStart.n} samples.\n` +
      'transfer: post the serialised buffer to a warm worker with a transfer list, until its acknowledgement (a round trip).\n' +
      'deserialise in fresh worker: the same bytes deserialised in a newly started worker\'s heap, as a new plugin version does.',
  };

  const { ledger } = loss;
  const lost = ledger.issued - ledger.answered;
  const lossStats = {
    pauseMs: msStats(loss.lossSamples.map((s) => s.pauseMs)),
    durationMs: msStats(loss.lossSamples.map((s) => s.durationMs)),
    callerWorstMs: msStats(loss.lossSamples.map((s) => s.callerWorstMs)),
  };
  const lossTable: Table = {
    title: `exactly once: ${fmtInt(loss.lossSamples.length + loss.lossFailures)} reloads (full and delta alternately) under ${plan.lossCallers} pipelined callers (${plan.window} outstanding each)`,
    columns: ['calls issued', 'answered', 'failed', 'never answered', 'misrouted', 'duplicated', 'reordered (plugin)', 'reordered (host)', 'version went back', 'state count - answered', 'failed reloads'],
    rows: [[fmtInt(ledger.issued), fmtInt(ledger.answered), ledger.failed, ledger.neverAnswered, ledger.misrouted, ledger.duplicated, ledger.reorderedInPlugin, ledger.reorderedOnHost, ledger.versionRegressions, ledger.stateCountDiff, loss.lossFailures]],
    note: `under this load: pause p50 ${fmtMs(lossStats.pauseMs.p50)} ms, p99 ${fmtMs(lossStats.pauseMs.p99)} ms, max ${fmtMs(lossStats.pauseMs.max)} ms; ` +
      `duration p50 ${fmtMs(lossStats.durationMs.p50)} ms, p99 ${fmtMs(lossStats.durationMs.p99)} ms; caller's worst call per reload p50 ${fmtMs(lossStats.callerWorstMs.p50)} ms, max ${fmtMs(lossStats.callerWorstMs.max)} ms.\n` +
      'Each call carries (caller, seq); the plugin keeps the last seq and a count per caller in its state and answers with the seq it saw before.' +
      (loss.lossFailureText.length > 0 ? `\nfailures: ${loss.lossFailureText.join(' | ')}` : ''),
  };

  const tsBy = (how: TsReloads) => {
    const samples = tsSamples.filter((s) => s.how === how);
    return {
      durationMs: msStats(samples.map((s) => s.durationMs)),
      wallMs: msStats(samples.map((s) => s.wallMs)),
      pauseMs: msStats(samples.map((s) => s.pauseMs)),
      prepareMs: msStats(samples.map((s) => s.prepare)),
      spawnMs: msStats(samples.map((s) => s.spawn)),
      servingMs: msStats(samples.map((s) => s.servingMs)),
    };
  };
  const tsRuns = Object.fromEntries(TS_RELOADS.map((how) => [how, tsBy(how)])) as Record<TsReloads, ReturnType<typeof tsBy>>;
  const ts = tsRuns.saves;
  const TS_LABELS: Record<TsReloads, string> = {
    saves: `none, saves ${SAVE_GAP_MS} ms apart`,
    burst: 'none, back to back',
    'no-spare': `none, saves ${SAVE_GAP_MS} ms apart, spare_worker: false`,
  };
  const tsTable: Table = {
    title: 'a small TypeScript plugin reloaded end to end (source rewritten each time: esbuild runs every time)',
    columns: ['load', 'reloads', 'duration p50 ms', 'p90 ms', 'p99 ms', 'prepare (compile) p50', 'spawn p50', 'pause p50'],
    rows: [
      ...TS_RELOADS.map((how) => {
        const r = tsRuns[how];
        return [TS_LABELS[how], r.durationMs.n, fmtMs(r.durationMs.p50), fmtMs(r.durationMs.p90), fmtMs(r.durationMs.p99), fmtMs(r.prepareMs.p50), fmtMs(r.spawnMs.p50), fmtMs(r.pauseMs.p50)];
      }),
      [`${plan.lossCallers} callers, back to back`, lossStats.durationMs.n, fmtMs(lossStats.durationMs.p50), fmtMs(lossStats.durationMs.p90), fmtMs(lossStats.durationMs.p99),
        fmtMs(medianOf(loss.lossSamples.map((s) => s.prepare))), fmtMs(medianOf(loss.lossSamples.map((s) => s.spawn))), fmtMs(lossStats.pauseMs.p50)],
    ],
    note: `sup.reload's own durationMs; measured around the await (saves): p50 ${fmtMs(ts.wallMs.p50)} ms. The new version serves from the swap, ` +
      `before the old one is disposed: durationMs - dispose p50 ${fmtMs(ts.servingMs.p50)} ms (saves). ` +
      `The spare worker (reload.spare_worker) saves the thread's start when it is ready: ${(tsRuns['no-spare'].durationMs.p50 / ts.durationMs.p50).toFixed(2)}x faster than without it; ` +
      'back to back, the next spare is still starting when the next reload needs it.',
  };

  const byKind = (kind: 'restart' | 'reload'): RestartOp[] => restart.ops.filter((o) => o.kind === kind);
  const restartRows = (['restart', 'reload'] as const).map((kind) => {
    const ops = byKind(kind);
    const down = msStats(ops.map((o) => o.impact.downtimeMs));
    const failed = ops.reduce((n, o) => n + o.impact.failed, 0);
    return {
      kind, ops: ops.length, downtimeMs: down, failedCalls: failed,
      worstLatencyMs: msStats(ops.map((o) => o.impact.worstLatencyMs)),
      totalMs: msStats(ops.map((o) => o.totalMs)),
      stopMs: msStats(ops.flatMap((o) => (o.stopMs === undefined ? [] : [o.stopMs]))),
      startMs: msStats(ops.flatMap((o) => (o.startMs === undefined ? [] : [o.startMs]))),
      pauseMs: msStats(ops.flatMap((o) => (o.pauseMs === undefined ? [] : [o.pauseMs]))),
    };
  });
  const restartTable: Table = {
    title: `restart the process vs sup.reload, under the same HTTP load (${plan.httpClients} keep-alive clients calling in a loop)`,
    columns: ['operation', 'ops', 'downtime p50 ms', 'downtime max ms', 'failed calls', 'failed / op', 'worst call p50 ms', 'operation p50 ms'],
    rows: restartRows.map((r) => [
      r.kind === 'restart' ? 'restart process (SIGTERM, start again)' : 'sup.reload (POST /reload)', r.ops, fmtMs(r.downtimeMs.p50), fmtMs(r.downtimeMs.max),
      r.failedCalls, (r.failedCalls / Math.max(1, r.ops)).toFixed(1), fmtMs(r.worstLatencyMs.p50), fmtMs(r.totalMs.p50),
    ]),
    note: `downtime: longest time without a successful answer around the operation. A failed call is refused or reset; a client waits ${HttpLoad.RETRY_DELAY_MS} ms after one.\n` +
      `restart = graceful stop p50 ${fmtMs(restartRows[0]!.stopMs.p50)} ms + start until listening p50 ${fmtMs(restartRows[0]!.startMs.p50)} ms; ` +
      `the host keeps state with reload.backup_state (written at stop, read at start).\n` +
      `calls answered ${fmtInt(restart.callsOk)}, failed ${fmtInt(restart.callsFailed)}; calls the plugin's state counts ${fmtInt(restart.callsInState)} ` +
      `(${restart.callsInState - restart.callsOk >= 0 ? '+' : ''}${restart.callsInState - restart.callsOk} vs answered).` +
      (Object.keys(restart.errors).length > 0 ? ` errors: ${Object.entries(restart.errors).map(([k, n]) => `${k} x${n}`).join(', ')}` : ''),
  };

  // --- targets
  const small = perVariant.find((v) => v.id === 'map 10 KB')!;
  const smallFull = small.runs.full!;
  const smallDelta = small.runs.delta!;
  const smallPause = Math.max(smallFull.pauseMs.p50, smallDelta.pauseMs.p50);
  const deltaTarget = (v: VariantStats, run: RunId): TargetCheck => {
    const m = v.runs[run]!;
    if (run === 'delta-spread') {
      // Every entry changes while the pre-copy runs: no delta can be smaller than the state, so
      // what a user can ask is that choosing delta transfer never makes the pause longer.
      const full = v.runs.full!.pauseMs.p50;
      return {
        name: `delta pause, ${v.id}, keys spread`,
        target: `p50 <= ${SPREAD_VS_FULL}x the full-copy pause`,
        measured: `${(m.pauseMs.p50 / full).toFixed(2)}x (p50 ${fmtMs(m.pauseMs.p50)} ms vs full ${fmtMs(full)} ms; p99 ${fmtMs(m.pauseMs.p99)} ms, ${fmtBytes(m.stateBytes)} in the pause)`,
        pass: m.pauseMs.p50 <= SPREAD_VS_FULL * full,
      };
    }
    const paced = run === 'delta-paced';
    const relay = paced ? v.relayPacedPauseMs : v.relayPauseMs;
    return {
      name: `delta pause, ${v.id}${paced ? `, ${fmtInt(PACED_CALLS_PER_SEC)} calls/s` : ''}`,
      target: `p99 < ${DELTA_1MB_P99_MS} ms`,
      measured: `p99 ${fmtMs(m.pauseMs.p99)} ms (p50 ${fmtMs(m.pauseMs.p50)} ms, max ${fmtMs(m.pauseMs.max)} ms, ${m.reloads} reloads, ${fmtBytes(m.stateBytes)} in the pause; caller's worst call p50 ${fmtMs(m.callerWorstMs.p50)} ms` +
        (relay === undefined ? ')' : `; bare pause relay under the same load: p50 ${fmtMs(relay.p50)} ms, p99 ${fmtMs(relay.p99)} ms)`),
      pass: m.pauseMs.p99 < DELTA_1MB_P99_MS,
    };
  };
  const targets: TargetCheck[] = [
    {
      name: 'pause excludes worker start',
      target: `10 KB pause p50 <= ${PAUSE_VS_WORKER_START}x bare worker start`,
      measured: `${(smallPause / workerStart.p50).toFixed(2)}x (full ${fmtMs(smallFull.pauseMs.p50)} ms, delta ${fmtMs(smallDelta.pauseMs.p50)} ms vs start ${fmtMs(workerStart.p50)} ms; spawn phase ${fmtMs(smallFull.phases.spawn)} ms, outside)`,
      pass: smallPause <= PAUSE_VS_WORKER_START * workerStart.p50,
    },
    ...perVariant.filter((v) => v.id !== 'map 10 KB').map((v): TargetCheck => {
      const pause = v.runs.full!.pauseMs.p50;
      return {
        name: `full-copy pause, ${v.id}`,
        target: `p50 <= ${FULL_COPY_VS_FLOOR}x serialise+transfer+deserialise`,
        measured: `${(pause / v.floorMs).toFixed(2)}x (${fmtMs(pause)} ms vs ${fmtMs(v.floorMs)} ms; fresh-worker floor ${fmtMs(v.freshFloorMs)} ms: ${(pause / v.freshFloorMs).toFixed(2)}x)`,
        pass: pause <= FULL_COPY_VS_FLOOR * v.floorMs,
      };
    }),
    ...perVariant.filter((v) => v.id.endsWith(' 1 MB')).flatMap((v) => runsOf(v).filter((r) => r.transfer === 'delta').map((r) => deltaTarget(v, r.id))),
    {
      name: 'TS plugin reload',
      target: `durationMs p50 < ${TS_RELOAD_P50_MS} ms`,
      measured: `p50 ${fmtMs(ts.durationMs.p50)} ms (p90 ${fmtMs(ts.durationMs.p90)} ms, ${ts.durationMs.n} reloads, saves ${SAVE_GAP_MS} ms apart; back to back p50 ${fmtMs(tsRuns.burst.durationMs.p50)} ms; spare_worker: false p50 ${fmtMs(tsRuns['no-spare'].durationMs.p50)} ms; under load p50 ${fmtMs(lossStats.durationMs.p50)} ms)`,
      pass: ts.durationMs.p50 < TS_RELOAD_P50_MS,
    },
    {
      name: 'calls lost across reloads',
      target: '0 lost, duplicated, reordered',
      measured: `${lost} lost (${ledger.failed} failed), ${ledger.duplicated} duplicated, ${ledger.reorderedInPlugin + ledger.reorderedOnHost} reordered, ${ledger.misrouted} misrouted, ` +
        `state diff ${ledger.stateCountDiff}, in ${fmtInt(loss.lossSamples.length)} reloads / ${fmtInt(ledger.issued)} calls`,
      pass: lost === 0 && ledger.failed === 0 && ledger.duplicated === 0 && ledger.reorderedInPlugin === 0 && ledger.reorderedOnHost === 0 &&
        ledger.misrouted === 0 && ledger.versionRegressions === 0 && ledger.stateCountDiff === 0 && loss.lossFailures === 0,
    },
    {
      name: 'no state change lost (state plugins)',
      target: 'every touch in the final state',
      measured: stateChecks.every((c) => c.ok) ? `all ${stateChecks.length} states exact, no failed reload` : `mismatch: ${stateChecks.filter((c) => !c.ok).map((c) => c.variant).join(', ')}`,
      pass: stateChecks.every((c) => c.ok) && perVariant.every((v) => v.failures.length === 0),
    },
  ];

  const svg = pauseChart(perVariant, workerStart.p50);
  return {
    data: {
      plan,
      bareWorkerStartMs: { firstReply: workerStart, online: workerOnline },
      states: perVariant,
      stateChecks,
      exactlyOnce: { ...ledger, reloads: loss.lossSamples.length, failedReloads: loss.lossFailures, failures: loss.lossFailureText, ...lossStats },
      tsPluginReload: { idle: ts, ...tsRuns, underLoad: lossStats },
      processRestart: { summary: restartRows, ops: restart.ops, callsOk: restart.callsOk, callsFailed: restart.callsFailed, callsInState: restart.callsInState, errors: restart.errors },
    },
    tables: [pauseTable, phaseTable, floorTable, lossTable, tsTable, restartTable],
    targets,
    files: [{ name: 'reload-pause.svg', content: svg }],
  };
}

/** The pause plot (results/reload-pause.svg), from a report's `data.states` and bare worker start p50. */
export function pauseChart(variants: VariantStats[], workerStartMs: number): string {
  type S = Parameters<typeof logLogChart>[0]['series'][number];
  const series = (kind: StateKind, run: RunId, color: string, dashed = false, caller = false): S => ({
    name: `${kind === 'map' ? 'Map' : 'Float64Array'}, ${RUNS.find((r) => r.id === run)!.label}${caller ? ': caller\'s worst call' : ''}`,
    color,
    dashed,
    points: variants.filter((v) => v.kind === kind && v.runs[run] !== undefined).map((v) => {
      const y = caller ? v.runs[run]!.callerWorstMs.p50 : v.runs[run]!.pauseMs.p50;
      return { x: v.floors.bytes, y, label: `${v.id}: ${fmtMs(y)} ms` };
    }),
  });
  return logLogChart({
    title: 'Reload pause vs state size (p50)',
    subtitle: 'sup.reload pauseMs while a caller mutates the state; floor = v8 serialise + transfer + deserialise, one thread',
    xLabel: 'state, serialised with node:v8',
    yLabel: 'ms',
    series: [
      series('map', 'full', '#d62728'),
      series('map', 'delta', '#1f77b4'),
      series('map', 'delta', '#9467bd', true, true),
      series('map', 'delta-spread', '#8c564b'),
      series('typed', 'full', '#ff7f0e', true),
      series('typed', 'delta', '#17becf', true),
      {
        name: 'floor (Map)',
        color: '#555',
        dashed: true,
        points: variants.filter((v) => v.kind === 'map').map((v) => ({ x: v.floors.bytes, y: v.floorMs, label: `${v.id}: ${fmtMs(v.floorMs)} ms` })),
      },
    ],
    references: [{ name: 'bare worker start', y: workerStartMs, color: '#2ca02c' }],
    // Decades of bytes, in decimal units (the states are 10 KiB, 1 MiB, 50 MiB).
    formatX: (x) => (x >= 1e6 ? `${x / 1e6} MB` : x >= 1e3 ? `${x / 1e3} kB` : `${x} B`),
    formatY: (y) => (y >= 1 ? fmtInt(y) : String(round(y, 3))),
    yUnit: 'ms',
  });
}
