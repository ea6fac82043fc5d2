// A stateful plugin: its count survives reloads and (with reload.backup_state) restarts.
import { definePlugin } from 'plugvisor';

interface CounterState {
  count: number;
  history: Map<string, number>;
}

export default definePlugin({
  state: (): CounterState => ({ count: 0, history: new Map() }),
  migrate: (old: CounterState) => ({ ...old, history: old.history ?? new Map() }),
  commands: {
    increment(ctx, by: number = 1) {
      ctx.state.count += by;
      ctx.state.history.set(new Date().toISOString(), ctx.state.count);
      return ctx.state.count;
    },
    get(ctx) {
      return ctx.state.count;
    },
    reset(ctx) {
      ctx.state.count = 0;
      ctx.state.history.clear();
      return 0;
    },
  },
  health: (ctx) => ({ ok: Number.isFinite(ctx.state.count), count: ctx.state.count }),
});
