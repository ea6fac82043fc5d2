// A key-value store with a config file validated against a JSON Schema (schemas/store.json).
import { definePlugin } from 'plugvisor';

interface StoreConfig {
  maxEntries: number;
  defaultTtlSeconds?: number;
}

interface StoreState {
  entries: Map<string, { value: unknown; expiresAt: number | null }>;
}

export default definePlugin<StoreState, StoreConfig>({
  state: () => ({ entries: new Map() }),
  setup(ctx) {
    ctx.log.debug({ maxEntries: ctx.config.maxEntries }, 'store ready');
  },
  commands: {
    set(ctx, key: string, value: unknown, ttlSeconds?: number) {
      const { entries } = ctx.state;
      if (!entries.has(key) && entries.size >= ctx.config.maxEntries) {
        throw Object.assign(new Error(`store is full (${ctx.config.maxEntries} entries)`), { code: 'STORE_FULL', maxEntries: ctx.config.maxEntries });
      }
      const ttl = ttlSeconds ?? ctx.config.defaultTtlSeconds;
      entries.set(key, { value, expiresAt: ttl === undefined ? null : Date.now() + ttl * 1000 });
      return true;
    },
    get(ctx, key: string) {
      const entry = ctx.state.entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
        ctx.state.entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    size(ctx) {
      return ctx.state.entries.size;
    },
  },
});
