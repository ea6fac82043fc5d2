/**
 * Scope `reload`: what a hot reload costs the callers of a plugin, beside its floors and beside the
 * alternative users would otherwise pick (restarting the whole process).
 *
 *   pause by state   a plugin whose state is a Map of records (10 KB, 1 MB, 50 MB serialised) or a
 *                    Float64Array (1 MB, 50 MB), reloaded with stateTransfer "full" and "delta"
 *                    (alternately: the manifest is rewritten with each reload), while a caller keeps
 *                    8 calls outstanding, each mutating 4 entries among 64 hot ones; for a Map, also
 *                    "delta" with the 4 entries spread over the whole state (a delta's worst case);
 *                    for the 1 MB states, also "delta" under a paced caller (PACED_CALLS_PER_SEC,
 *                    whatever the answers: the CPUs idle between calls), beside the relay's floor.
 *                    Every reload rewrites the source (a new VERSION), as a user does. pauseMs
 *                    p50/p99, durationMs p50, phases, and the worst latency the caller saw.
 *   floors           bare worker start (new Worker → online → first reply); node:v8 serialise and
 *                    deserialise of the same state on one thread (a worker holding only that state,
 *                    built by the plugin's own generator); the transfer of the serialised buffer to
 *                    a worker (and its deserialise there, in a fresh heap).
 *   exactly once     1,000 reloads (full and delta alternately) under 3 pipelined callers whose
 *                    calls carry (caller, seq); the plugin records them in its state and answers
 *                    with the seq it saw before: lost, duplicated, reordered calls are counted.
 *   TS plugin        sup.reload durationMs of a small TypeScript plugin, no other load.
 *   process restart  an HTTP host process (hosts/http-host.mjs) restarted as node --watch or a
 *                    process manager would (SIGTERM, start again) vs sup.reload in the same host,
 *                    under the same HTTP client load: downtime and failed calls.
 *
 * Variants are interleaved: every round visits each state size (rotated), and alternates which
 * transfer mode goes first, so drift on a shared machine hits them alike.
 */
import { settlesWithin } from '../src/settles-within.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'node:v8';
import { setTimeout as sleep } from 'node:timers/promises';
import { importStateGen, stateGenUrl, versionOf, writeRecPlugin, writeStatePlugin, type RecReply, type StateGen, type StateTransfer } from './lib/bench-plugins.js';
import { HttpLoad, httpJson, startHost, stopHost, type HostProcess } from './lib/http-host.js';
import { PipelinedCaller, type Settled } from './lib/pipelined-caller.js';
import { loadPlugvisor } from './lib/plugvisor.js';
import { PACED_CALLS_PER_SEC, runsOf, SAVE_GAP_MS, TS_RELOADS, type CallerKind, type FloorSample, type LossLedger, type LossSample, type Plan, type RestartOp, type RestartResult, type Run, type StateResult, type StateVariant, type TsReloads, type TsSample } from './lib/reload-model.js';
import { reloadReport } from './lib/reload-report.js';
import type { BenchScope, ScopeContext, ScopeResult } from './lib/scope.js';
import { fmtInt } from './lib/stats.js';
import { bareWorkerStart, PauseRelayFloor, StateFloorWorker, transferFloor } from './lib/worker-floors.js';

type Plugvisor = Awaited<ReturnType<typeof loadPlugvisor>>;
type Supervisor = InstanceType<Plugvisor['Supervisor']>;

const VARIANTS: readonly StateVariant[] = [
  { id: 'map 10 KB', kind: 'map', nominalBytes: 10 * 1024, large: false },
  { id: 'map 1 MB', kind: 'map', nominalBytes: 1024 ** 2, large: false },
  { id: 'map 50 MB', kind: 'map', nominalBytes: 50 * 1024 ** 2, large: true },
  { id: 'typed 1 MB', kind: 'typed', nominalBytes: 1024 ** 2, large: false },
  { id: 'typed 50 MB', kind: 'typed', nominalBytes: 50 * 1024 ** 2, large: true },
];

const FULL: Plan = {
  rounds: 10,
  // 100 reloads per run of a small state: a nearest-rank p99 over fewer would be the maximum.
  reloadsPerRound: { small: 10, large: 1 },
  window: 8,
  lossReloads: 1_000,
  lossCallers: 3,
  tsReloads: 40,
  lossBlocks: 10,
  restartOps: 8,
  httpClients: 4,
};

/** Checks that everything runs: the same shape, a fraction of the work. */
const QUICK: Plan = {
  ...FULL,
  rounds: 2,
  reloadsPerRound: { small: 1, large: 1 },
  lossReloads: 40,
  tsReloads: 6,
  lossBlocks: 2,
  restartOps: 2,
};

// ---------------------------------------------------------------------------------------------
// Pause by state size

interface LoadedState extends StateResult {
  name: string;
  dir: string;
  version: number;
  /** The same state, on a thread of its own, for the serialise/deserialise floors. */
  floorWorker?: StateFloorWorker;
  /** The same pause without plugvisor, between two warm threads (the 1 MB Map only). */
  relay?: PauseRelayFloor;
  /** One caller of each kind: hot keys, keys spread over the state, hot keys at a set rate. */
  callers: Partial<Record<CallerKind, PipelinedCaller>>;
}

function writeState(p: LoadedState, mode: StateTransfer): void {
  writeStatePlugin(p.dir, { name: p.name, version: versionOf(p.version), kind: p.variant.kind, n: p.n, stateTransfer: mode });
}

/** Records such that the serialised Map is about `bytes` long (calibrated on 1,000 records). */
function recordsFor(gen: StateGen, bytes: number): number {
  const perRecord = serialize(gen.createState('map', 1000)).byteLength / 1000;
  return Math.max(1, Math.round(bytes / perRecord));
}

async function measureFloor(p: LoadedState): Promise<FloorSample> {
  const { serializeMs, deserializeMs, bytes } = await p.floorWorker!.measure();
  const size = bytes.byteLength; // the transfer below detaches the buffer
  const { transferMs, workerDeserializeMs } = await transferFloor(bytes);
  return { serializeMs, deserializeMs, transferMs, workerDeserializeMs, bytes: size };
}

/** Rewrite the plugin (new version, the run's transfer mode), reload it while the run's caller calls. */
async function reloadOnce(sup: Supervisor, p: LoadedState, run: Run, record: boolean): Promise<void> {
  p.version++;
  writeState(p, run.transfer);
  const caller = p.callers[run.caller]!;
  caller.markWindow();
  const r = await sup.reload(p.name);
  await caller.settle();
  if (!r.ok) {
    p.failures.push(`${run.label}: ${r.error?.step}: ${r.error?.message}`);
    return;
  }
  if (!record) return;
  p.samples.push({
    run: run.id, pauseMs: r.pauseMs, durationMs: r.durationMs, phases: { ...r.phases }, stateBytes: r.stateBytes, precopyBytes: r.precopyBytes,
    callerWorstMs: caller.windowMaxMs, callerCalls: caller.windowCalls,
  });
}

/** A caller of `kind`; paced, it may have as many calls outstanding as a pause lets pile up. */
function newCaller(kind: CallerKind, call: (seq: number, spread: boolean) => Promise<unknown>, window: number): PipelinedCaller {
  const spread = kind === 'spread';
  if (kind === 'paced') return new PipelinedCaller((seq) => call(seq, false), PACED_MAX_OUTSTANDING, undefined, PACED_CALLS_PER_SEC);
  return new PipelinedCaller((seq) => call(seq, spread), window);
}

function startTouchCaller(sup: Supervisor, p: LoadedState, kind: CallerKind, window: number): PipelinedCaller {
  const caller = (p.callers[kind] ??= newCaller(kind, (seq, spread) => sup.call(p.name, 'touch', seq, spread), window));
  caller.start();
  return caller;
}

/** The reloads of one round for one state, a block per caller: the hot-key runs alternately, then the others (or the other way round). */
async function reloadRound(sup: Supervisor, p: LoadedState, plan: Plan, round: number): Promise<void> {
  const reloads = p.variant.large ? plan.reloadsPerRound.large : plan.reloadsPerRound.small;
  const runs = runsOf(p.variant);
  const hot = runs.filter((r) => r.caller === 'hot');
  if (round % 2 === 1) hot.reverse();
  const blocks = (['hot', 'spread', 'paced'] as const).map((kind) => ({ kind, runs: kind === 'hot' ? hot : runs.filter((r) => r.caller === kind) })).filter((b) => b.runs.length > 0);
  if (round % 2 === 1) blocks.reverse();
  for (const block of blocks) {
    const caller = startTouchCaller(sup, p, block.kind, plan.window);
    for (let k = 0; k < reloads; k++) for (const run of block.runs) await reloadOnce(sup, p, run, true);
    await caller.stop();
  }
}

/** The variant whose delta pause has a target: the bare pause relay runs beside it. */
const RELAY_VARIANT = 'map 1 MB';
/** A paced caller's cap on calls outstanding: far above what a pause holds at its rate. */
const PACED_MAX_OUTSTANDING = 512;
/** Calling between two bare pauses: about what a reload's spawn and pre-copy take. */
const RELAY_GAP_MS = 150;

/** As many bare pauses as a round has reloads of a small state, under a caller of the same kind. */
async function relayRound(relay: PauseRelayFloor, plan: Plan, record: boolean, kind: 'hot' | 'paced'): Promise<number[]> {
  const caller = newCaller(kind, (seq) => relay.call(seq), plan.window);
  caller.start();
  const pauses: number[] = [];
  try {
    for (let k = 0; k < plan.reloadsPerRound.small; k++) {
      await sleep(RELAY_GAP_MS);
      pauses.push(await relay.pause());
    }
  } finally {
    await caller.stop();
  }
  return record ? pauses : [];
}

// ---------------------------------------------------------------------------------------------
// Exactly once under 1,000 reloads

function lossChecker(ledger: LossLedger, caller: number): (seq: number, result: Settled) => void {
  let expected = 0;
  let lastVersion = -1;
  return (seq, result) => {
    if (seq !== expected) ledger.reorderedOnHost++;
    expected = seq + 1;
    if (!result.ok) return;
    const reply = result.value as RecReply;
    if (reply.c !== caller || reply.s !== seq) ledger.misrouted++;
    if (reply.prev >= seq) ledger.duplicated++;
    else if (reply.prev !== seq - 1) ledger.reorderedInPlugin++;
    const v = Number(reply.v.split('.')[2]);
    if (v < lastVersion) ledger.versionRegressions++;
    lastVersion = v;
  };
}

// ---------------------------------------------------------------------------------------------

async function run(ctx: ScopeContext): Promise<ScopeResult> {
  const plan = ctx.quick ? QUICK : FULL;
  const { Supervisor } = await loadPlugvisor();
  const tmp = mkdtempSync(join(tmpdir(), 'plugvisor-bench-reload-'));
  const sup = new Supervisor({ root: tmp, config: { log_level: 'silent' } });
  const hosts: HostProcess[] = [];
  const loaded: LoadedState[] = [];
  const callers: PipelinedCaller[] = [];
  /** Other supervisors the scope starts, stopped at the end whatever happens. */
  const stopLater: Supervisor[] = [];
  try {
    await sup.start();

    // --- the state plugins
    for (const [i, variant] of VARIANTS.entries()) {
      const dir = join(tmp, `state-${i}`);
      const p: LoadedState = { variant, name: `state-${i}`, dir, n: 0, version: 0, samples: [], floors: [], relayPauses: [], relayPacedPauses: [], failures: [], callers: {} };
      writeStatePlugin(dir, { name: p.name, version: versionOf(0), kind: variant.kind, n: 1, stateTransfer: 'full' });
      p.n = variant.kind === 'typed' ? variant.nominalBytes / 8 : recordsFor(await importStateGen(dir), variant.nominalBytes);
      writeState(p, 'full');
      p.floorWorker = await StateFloorWorker.start(stateGenUrl(dir), variant.kind, p.n);
      if (variant.id === RELAY_VARIANT) p.relay = await PauseRelayFloor.start(stateGenUrl(dir), p.n);
      ctx.log(`loading ${variant.id} (${fmtInt(p.n)} ${variant.kind === 'typed' ? 'float64s' : 'records'})`);
      await sup.load(dir);
      loaded.push(p);
    }
    // Warm-up: every path once (esbuild, both transfer modes, the floors), not recorded.
    for (const p of loaded) {
      for (const run of runsOf(p.variant)) {
        const caller = startTouchCaller(sup, p, run.caller, plan.window);
        await reloadOnce(sup, p, run, false);
        await caller.stop();
      }
      await measureFloor(p);
      if (p.relay !== undefined) for (const kind of ['hot', 'paced'] as const) await relayRound(p.relay, plan, false, kind);
    }
    await bareWorkerStart();
    ctx.log('warm-up done');

    const workerStarts: Array<{ onlineMs: number; firstReplyMs: number }> = [];
    for (let round = 0; round < plan.rounds; round++) {
      const order = loaded.map((_, i) => loaded[(i + round) % loaded.length]!);
      for (const p of order) {
        workerStarts.push(await bareWorkerStart());
        p.floors.push(await measureFloor(p));
        await reloadRound(sup, p, plan, round);
        if (p.relay !== undefined) {
          p.relayPauses.push(...await relayRound(p.relay, plan, true, 'hot'));
          p.relayPacedPauses.push(...await relayRound(p.relay, plan, true, 'paced'));
        }
      }
      ctx.log(`round ${round + 1}/${plan.rounds} done (load ${loadAvg()})`);
    }
    // No state change lost: every touch added 4 hits, across every reload, in both modes.
    const stateChecks = [];
    for (const p of loaded) {
      const s = (await sup.call(p.name, 'sum')) as { hits: number; touches: number };
      const callers = Object.values(p.callers);
      const answered = callers.reduce((n, c) => n + c.answered, 0);
      const failed = callers.reduce((n, c) => n + c.failed, 0);
      stateChecks.push({ variant: p.variant.id, touchesAnswered: answered, touchesFailed: failed, touchesInState: s.touches, hitsInState: s.hits, ok: s.touches === answered && s.hits === 4 * answered && failed === 0 });
    }
    for (const p of loaded) {
      await sup.unload(p.name);
      await p.floorWorker?.close();
      await p.relay?.close();
    }

    // --- exactly once, and the TS plugin reload without load
    const recDir = join(tmp, 'rec');
    let recVersion = 0;
    const writeRec = (mode: StateTransfer): void => writeRecPlugin(recDir, { name: 'rec', version: versionOf(++recVersion), stateTransfer: mode });
    writeRec('full');
    await sup.load(recDir);
    // The same TS plugin in a host without a spare worker, for its reloads beside the spare's.
    const spareless = new Supervisor({ root: tmp, config: { log_level: 'silent', reload: { spare_worker: false } } });
    stopLater.push(spareless);
    await spareless.start();
    const plainDir = join(tmp, 'rec-no-spare');
    let plainVersion = 0;
    const writePlain = (mode: StateTransfer): void => writeRecPlugin(plainDir, { name: 'rec', version: versionOf(++plainVersion), stateTransfer: mode });
    writePlain('full');
    await spareless.load(plainDir);
    const tsTargets: Record<TsReloads, { sup: Supervisor; write: (mode: StateTransfer) => void; gapMs: number }> = {
      saves: { sup, write: writeRec, gapMs: SAVE_GAP_MS },
      burst: { sup, write: writeRec, gapMs: 0 },
      'no-spare': { sup: spareless, write: writePlain, gapMs: SAVE_GAP_MS },
    };
    const ledger: LossLedger = { issued: 0, answered: 0, failed: 0, neverAnswered: 0, misrouted: 0, duplicated: 0, reorderedInPlugin: 0, reorderedOnHost: 0, versionRegressions: 0, stateCountDiff: 0, errors: [] };
    for (let c = 0; c < plan.lossCallers; c++) {
      callers.push(new PipelinedCaller((seq) => sup.call('rec', 'rec', c, seq), plan.window, lossChecker(ledger, c)));
    }
    const lossSamples: LossSample[] = [];
    const tsSamples: TsSample[] = [];
    let lossFailures = 0;
    const lossFailureText: string[] = [];
    const perBlock = Math.ceil(plan.lossReloads / plan.lossBlocks);
    const tsPerBlock = Math.ceil(plan.tsReloads / plan.lossBlocks);
    for (let done = 0, block = 0; done < plan.lossReloads; block++) {
      // A few reloads of the TS plugin with nobody calling: what a user waits for after a save.
      for (const how of TS_RELOADS) {
        const { sup: host, write, gapMs } = tsTargets[how];
        for (let k = 0; k < tsPerBlock && k + block * tsPerBlock < plan.tsReloads; k++) {
          await sleep(gapMs);
          write(k % 2 === 0 ? 'full' : 'delta');
          const t0 = performance.now();
          const r = await host.reload('rec');
          const wallMs = performance.now() - t0;
          if (r.ok) tsSamples.push({ how, durationMs: r.durationMs, pauseMs: r.pauseMs, prepare: r.phases.prepare, spawn: r.phases.spawn, servingMs: r.durationMs - r.phases.dispose, wallMs });
          else lossFailureText.push(`idle reload (${how}): ${r.error?.step}: ${r.error?.message}`);
        }
      }
      for (const c of callers) c.start();
      for (let k = 0; k < perBlock && done < plan.lossReloads; k++, done++) {
        const mode: StateTransfer = done % 2 === 0 ? 'full' : 'delta';
        writeRec(mode);
        for (const c of callers) c.markWindow();
        const r = await sup.reload('rec');
        if (!r.ok) {
          lossFailures++;
          if (lossFailureText.length < 5) lossFailureText.push(`${r.error?.step}: ${r.error?.message}`);
          continue;
        }
        lossSamples.push({ mode, pauseMs: r.pauseMs, durationMs: r.durationMs, prepare: r.phases.prepare, spawn: r.phases.spawn, callerWorstMs: Math.max(...callers.map((c) => c.windowMaxMs)) });
      }
      if (!(await settlesWithin(Promise.all(callers.map((c) => c.stop())), 60_000))) throw new Error('calls did not settle within 60 s after the reloads stopped');
      ctx.log(`exactly-once: ${done}/${plan.lossReloads} reloads, ${fmtInt(callers.reduce((n, c) => n + c.issued, 0))} calls (load ${loadAvg()})`);
    }
    const counts = (await sup.call('rec', 'counts')) as Record<string, number>;
    for (const [c, caller] of callers.entries()) {
      ledger.issued += caller.issued;
      ledger.answered += caller.answered;
      ledger.failed += caller.failed;
      ledger.neverAnswered += caller.issued - caller.answered - caller.failed;
      ledger.stateCountDiff += (counts[String(c)] ?? 0) - caller.answered;
      ledger.errors.push(...caller.errors);
    }
    await sup.unload('rec');
    await spareless.stop();

    // --- restart the process vs reload, under the same HTTP load
    const restart = await restartVsReload(ctx, plan, tmp, hosts);

    // --- report
    return reloadReport(plan, loaded, workerStarts, stateChecks, { ledger, lossSamples, lossFailures, lossFailureText }, tsSamples, restart);
  } finally {
    for (const c of callers) await c.stop();
    for (const p of loaded) {
      for (const c of Object.values(p.callers)) await c.stop();
      await p.floorWorker?.close();
      await p.relay?.close();
    }
    for (const h of hosts) await stopHost(h).catch(() => h.child.kill('SIGKILL'));
    for (const other of stopLater) await other.stop();
    await sup.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}


function loadAvg(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' ');
}

// ---------------------------------------------------------------------------------------------
// Process restart vs reload

async function restartVsReload(ctx: ScopeContext, plan: Plan, tmp: string, hosts: HostProcess[]): Promise<RestartResult> {
  const root = join(tmp, 'http-host');
  const dir = join(root, 'plugins', 'rec');
  let version = 0;
  const rewrite = (): void => writeRecPlugin(dir, { name: 'rec', version: versionOf(++version), stateTransfer: 'full' });
  rewrite();
  let host = await startHost(root, dir, 0);
  hosts.push(host);
  const port = host.port;
  const load = new HttpLoad(port, plan.httpClients);
  const ops: RestartOp[] = [];
  load.start();
  try {
    await sleep(500);
    for (let i = 0; i < 2 * plan.restartOps; i++) {
      const kind = (i + Math.floor(i / 2)) % 2 === 0 ? 'restart' : 'reload'; // restart, reload, reload, restart, …
      rewrite();
      load.begin();
      const t0 = performance.now();
      if (kind === 'restart') {
        await stopHost(host);
        hosts.splice(hosts.indexOf(host), 1);
        const stopMs = performance.now() - t0;
        host = await startHost(root, dir, port);
        hosts.push(host);
        const totalMs = performance.now() - t0;
        ops.push({ kind, impact: await load.end(), stopMs, startMs: totalMs - stopMs, totalMs });
      } else {
        const r = (await httpJson(port, 'POST', '/reload')) as { ok: boolean; pauseMs: number; durationMs: number; error?: string };
        const totalMs = performance.now() - t0;
        if (!r.ok) throw new Error(`reload over HTTP failed: ${r.error}`);
        ops.push({ kind, impact: await load.end(), pauseMs: r.pauseMs, durationMs: r.durationMs, totalMs });
      }
      await sleep(300);
    }
  } finally {
    await load.stop();
  }
  const counts = (await httpJson(port, 'GET', '/counts')) as Record<string, number>;
  await stopHost(host);
  hosts.splice(hosts.indexOf(host), 1);
  ctx.log(`process restart vs reload: ${ops.length} operations, ${fmtInt(load.ok)} calls answered (load ${loadAvg()})`);
  return { ops, callsOk: load.ok, callsFailed: load.failed, callsInState: Object.values(counts).reduce((a, b) => a + b, 0), errors: Object.fromEntries(load.errors) };
}

// ---------------------------------------------------------------------------------------------
// Report

export default {
  description: 'hot reload: pause by state size (full vs delta) beside its floors, exactly-once under 1,000 reloads, TS reload time, process restart vs reload',
  run,
} satisfies BenchScope;
