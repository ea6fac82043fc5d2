/** GET /: the dashboard, one static page (public/dashboard.html), read on each request. */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { dashboardFile } from '../dashboard-file.js';

// Inline script and style only, every request to this origin, never framed (clickjacking the reload buttons).
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function dashboardRoutes(app: FastifyInstance): void {
  const file = dashboardFile();
  app.get('/', async (_req, reply) => reply
    .type('text/html; charset=utf-8')
    .header('content-security-policy', CSP)
    .header('x-frame-options', 'DENY')
    .send(await readFile(file)));
}
