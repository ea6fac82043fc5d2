/**
 * What `import … from 'plugvisor'` gives a plugin inside its worker: a tiny module, since
 * definePlugin only adds types.
 */
import type { Plugin } from 'esbuild';

const PLUGVISOR_SHIM = 'export function definePlugin(definition) { return definition; }\n';

export const plugvisorShim: Plugin = {
  name: 'plugvisor-shim',
  setup(b) {
    b.onResolve({ filter: /^plugvisor$/ }, () => ({ path: 'plugvisor', namespace: 'plugvisor-shim' }));
    b.onLoad({ filter: /.*/, namespace: 'plugvisor-shim' }, () => ({ contents: PLUGVISOR_SHIM, loader: 'js' }));
  },
};
