/**
 * The dependsOn graph: load order, cycles (reported with their path) and dependents.
 */
import { PlugvisorError } from './errors.js';

export type DependsOn = ReadonlyMap<string, readonly string[]>;

/** Names in an order where every plugin comes after its dependencies; throws on a cycle. */
export function topologicalOrder(graph: DependsOn): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      throw new PlugvisorError('PLUGVISOR_DEPENDENCY_CYCLE', `dependsOn forms a cycle: ${cycle.join(' -> ')}`, { plugin: name, cycle });
    }
    state.set(name, 'visiting');
    for (const dep of graph.get(name) ?? []) if (graph.has(dep)) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of graph.keys()) visit(name, []);
  return order;
}

/** Every plugin that depends on `name`, directly or not, in topological order. */
export function dependentsOf(graph: DependsOn, name: string): string[] {
  const found = new Set<string>();
  const walk = (target: string): void => {
    for (const [plugin, deps] of graph) {
      if (deps.includes(target) && !found.has(plugin)) {
        found.add(plugin);
        walk(plugin);
      }
    }
  };
  walk(name);
  return topologicalOrder(graph).filter((n) => found.has(n));
}
