/** POST /api/plugins/:name/commands/:cmd with { args: [...] } (or no body: no arguments): one call, answered { result }. */
import type { FastifyInstance } from 'fastify';
import type { Supervisor } from '../../supervisor.js';

const callSchema = {
  body: { type: 'object', properties: { args: { type: 'array' } }, additionalProperties: false },
} as const;

export function commandRoutes(app: FastifyInstance, sup: Supervisor): void {
  app.post<{ Params: { name: string; cmd: string }; Body: { args?: unknown[] } }>('/api/plugins/:name/commands/:cmd', {
    schema: callSchema,
    preValidation: async (req) => void (req.body ??= {}),
  }, async (req) => {
    const result: unknown = await sup.call(req.params.name, req.params.cmd, ...(req.body.args ?? []));
    return { result: result ?? null };
  });
}
