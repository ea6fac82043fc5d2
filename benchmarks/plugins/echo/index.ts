// The RPC benchmark's workload: no work of its own, so a call measures only the path to the worker
// and back. A plain default export (the type import is erased), so the in-process baseline can
// import this same definition without loading the library.
import type { PluginDefinition } from 'plugvisor';

export default {
  commands: {
    echo(_ctx, x: unknown) {
      return x;
    },
  },
} satisfies PluginDefinition;
