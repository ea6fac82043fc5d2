/** GET /api/events: server-sent events (see event-stream.ts). */
import type { FastifyInstance } from 'fastify';
import type { EventStream } from '../event-stream.js';

export function eventRoutes(app: FastifyInstance, events: EventStream): void {
  app.get('/api/events', (req, reply) => {
    reply.hijack();
    events.attach(req.raw, reply.raw);
  });
}
