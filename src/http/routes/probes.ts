/** /healthz (the process answers), /readyz (the supervisor has started and every eager plugin serves), /metrics (Prometheus). */
import type { FastifyInstance } from 'fastify';
import type { Supervisor } from '../../supervisor.js';
import type { DevMetrics } from '../metrics.js';
import { readiness } from '../readiness.js';

export function probeRoutes(app: FastifyInstance, sup: Supervisor, metrics: DevMetrics): void {
  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async (_req, reply) => {
    const plugins = sup.list();
    const r = readiness(sup.status, plugins, sup.brokenPlugins());
    return reply.code(r.ready ? 200 : 503).send({ ...r, plugins: plugins.length });
  });

  app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()));
}
