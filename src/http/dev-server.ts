/**
 * The HTTP dev server (`plugvisor dev server`): the contract's API over a Supervisor (running, or
 * still starting when the server was created first: /readyz and the plugin routes answer 503), its
 * probes and metrics, a server-sent event stream and the dashboard. It listens on loopback only and
 * answers only requests that name it by a loopback Host (see local-only.ts).
 *
 *   request ─► onRequest: Host/Origin local? ─► supervisor starting? ─► route (routes/*: calls the Supervisor)
 *                    │ no: 403                     │ yes, /api/plugins…: 503   │ throws
 *                    ▼                             ▼                           ▼
 *              error handler: errorResponse(err) ─► { error: { code, message } } with a status
 *
 * Everything the server adds to the supervisor (the call observer, event listeners) is removed by
 * close(), which also ends the event streams so the HTTP server can finish.
 */
import { isIP, type AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import { PlugvisorError } from '../errors.js';
import type { Supervisor } from '../supervisor.js';
import { EventStream } from './event-stream.js';
import { errorResponse } from './http-errors.js';
import { toJsonText } from '../json-value.js';
import { LatencyWindows } from './latency-window.js';
import { allowedHosts, checkLocalRequest, assertLoopbackAddress } from './local-only.js';
import { createMetrics } from './metrics.js';
import { commandRoutes } from './routes/commands.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { eventRoutes } from './routes/events.js';
import { pluginRoutes } from './routes/plugins.js';
import { probeRoutes } from './routes/probes.js';
import { subscribe } from './subscribe.js';

export interface DevServerOptions {
  /** 0 picks a free port (see `url`). */
  port: number;
  /** A loopback address: 127.0.0.1 (the default), ::1 or localhost. */
  host?: string;
}

export interface DevServer {
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  readonly port: number;
  /** Ends the event streams, stops observing the supervisor and closes the HTTP server. Safe to call twice; it does not stop the supervisor. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A failure to listen as a typed error naming the address, so the CLI's one line says what to change. */
function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') {
    return new PlugvisorError('PLUGVISOR_HTTP_PORT_IN_USE',
      `the dev server cannot listen on ${host} port ${port}: another process is listening there; pick another --port (0 for any free one) or stop that process`, { host, port, cause: err });
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    return new PlugvisorError('PLUGVISOR_HTTP_LISTEN_FAILED', `the dev server cannot listen on ${host} port ${port}: ${(err as Error).message}`, { host, port, cause: err });
  }
  return err;
}

export async function createDevServer(sup: Supervisor, opts: DevServerOptions): Promise<DevServer> {
  const host = opts.host ?? '127.0.0.1';
  assertLoopbackAddress(host);
  const app = Fastify({
    loggerInstance: sup.log.child({ component: 'http' }),
    logController: new LogController({ disableRequestLogging: true }),
    // Bodies are what the client sent: no type coercion ("args": 5 is not [5]), unknown keys refused.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    // A path fastify cannot decode (`%ZZ`) is answered before any route: in our error shape too.
    frameworkErrors: (err, _req, reply) => {
      const { status, body } = errorResponse(err);
      void (reply as FastifyReply).code(status).send(body);
    },
  }) as unknown as FastifyInstance;

  const metrics = createMetrics(sup);
  const latency = new LatencyWindows();
  const events = new EventStream(sup);
  const unsubscribe = subscribe(sup, { unload: (e) => latency.forget(e.plugin) });
  const stopObserving = sup.observeCalls((plugin, command, durationMs, error) => {
    metrics.observeCall(plugin, command, durationMs, error);
    latency.record(plugin, command, durationMs, error);
  });
  const detach = (): void => {
    stopObserving();
    unsubscribe();
    metrics.close();
    events.close();
  };

  let hosts: ReadonlySet<string> = new Set();
  app.addHook('onRequest', async (req) => {
    const refused = checkLocalRequest(hosts, req.headers.host, req.headers.origin);
    if (refused !== undefined) throw refused;
    // `plugvisor dev server` listens before the supervisor starts, so that a busy port refuses the
    // host before any plugin runs. Until start() has loaded the configured plugins the plugin routes
    // would answer from a half-filled registry (a 404 for a plugin about to load, a load racing them).
    // A supervisor never started ('new') is left alone: a host may load() plugins without start().
    if (sup.status === 'starting' && req.routeOptions.url?.startsWith('/api/plugins') === true) {
      throw new PlugvisorError('PLUGVISOR_NOT_STARTED', 'the supervisor is still starting (loading its configured plugins): retry once /readyz answers 200');
    }
  });
  let closing: Promise<void> | undefined;
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    // An answer sent while the server closes ends its connection: a keep-alive client would
    // otherwise hold the close open until the keep-alive timeout.
    if (closing !== undefined) reply.header('connection', 'close');
    return payload;
  });
  // Every reply in the encoding the CLI's --json shares (src/json-value.ts). Only the payload is
  // passed on: fastify's second argument, the status code, would be taken for an indent.
  app.setReplySerializer((payload) => toJsonText(payload));
  // A POST with a JSON content type and no body (fetch with a helper that always sets the header)
  // means "no body", as it does without the header; fastify's own parser refuses it.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  // Bodies are JSON only: fastify's built-in text/plain parser would let a text body reach the
  // routes' schemas (a 400 about the body's shape) instead of the 415 other content types get.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = String(body);
    if (text.trim() === '') done(null, undefined);
    else parseJson(req, text, done);
  });
  app.setErrorHandler((err, req, reply) => {
    const { status, body } = errorResponse(err as Error);
    if (status >= 500) req.log.warn({ err, method: req.method, url: req.url, status }, 'dev server request failed');
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({
    error: { code: 'PLUGVISOR_HTTP_ROUTE_NOT_FOUND', message: `no route for ${req.method} ${req.url.split('?')[0]} (see docs/http-api.md)` },
  }));

  try {
    pluginRoutes(app, sup, latency);
    commandRoutes(app, sup);
    probeRoutes(app, sup, metrics);
    eventRoutes(app, events);
    dashboardRoutes(app);
    await app.listen({ port: opts.port, host });
  } catch (err) {
    detach();
    await app.close();
    throw listenError(err, host, opts.port);
  }
  const port = (app.server.address() as AddressInfo).port;
  hosts = allowedHosts(host, port);
  const url = `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  sup.log.info({ url }, 'dev server listening');

  const close = (): Promise<void> => (closing ??= (async () => {
    detach();
    await app.close();
  })());
  return { url, port, close, [Symbol.asyncDispose]: close };
}
