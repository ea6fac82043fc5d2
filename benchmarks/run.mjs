// The benchmark runner's entry: `node benchmarks/run.mjs --scope …` (what `npm run bench` runs).
//
// tsx is registered here, in this thread only (module.register through tsx's API), rather than with
// `node --import tsx`: a Worker inherits its parent's execArgv, so with the flag every worker a
// benchmark starts (plugvisor's plugin workers included) would load tsx first, measured at +100-150
// ms per worker start on a 2-core machine: a cost a host built with tsc never pays, which would
// swamp the reload and startup scopes. Benchmark workers are plain .mjs, plugvisor's are built
// JavaScript: none needs tsx.
import { register } from 'tsx/esm/api';

register();
await import('./run.ts');
