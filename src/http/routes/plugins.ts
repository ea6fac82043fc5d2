/** The plugin registry: list, load, status, reload, latency, unload. */
import type { FastifyInstance } from 'fastify';
import semver from 'semver';
import { PlugvisorError } from '../../errors.js';
import type { LoadSource } from '../../plugin/resolve-source.js';
import { PACKAGE_NAME_PATTERN } from '../../plugin/manifest-schema.js';
import type { Supervisor } from '../../supervisor.js';
import type { LatencyWindows } from '../latency-window.js';
import { reloadBody } from '../reload-body.js';
import { pluginStatus, pluginSummary } from '../views.js';

type NameParams = { Params: { name: string } };

const loadSchema = {
  body: {
    type: 'object',
    properties: { path: { type: 'string', minLength: 1 }, fromPackage: { type: 'string', pattern: PACKAGE_NAME_PATTERN }, version: { type: 'string', minLength: 1 } },
    additionalProperties: false,
    oneOf: [{ required: ['path'], not: { required: ['version'] } }, { required: ['fromPackage'] }],
  },
} as const;

/** Ajv's words for a failed oneOf help nobody: say what the body must be. */
const loadBodyError = (): Error => Object.assign(new Error('body must be { "path": DIR } or { "fromPackage": NAME, "version"?: RANGE }'), { statusCode: 400, validation: [] });

const reloadSchema = {
  body: { type: 'object', properties: { force: { type: 'boolean' }, backupState: { type: 'boolean' } }, additionalProperties: false },
} as const;

export function pluginRoutes(app: FastifyInstance, sup: Supervisor, latency: LatencyWindows): void {
  app.get('/api/plugins', async () => sup.list().map(pluginSummary));

  app.post<{ Body: { path: string } | { fromPackage: string; version?: string } }>('/api/plugins', { schema: loadSchema, schemaErrorFormatter: loadBodyError }, async (req) => {
    const source: LoadSource = 'path' in req.body ? req.body.path : req.body;
    // A malformed range is the request's fault (400), as the CLI's --version is; not a missing package.
    if (typeof source !== 'string' && source.version !== undefined && semver.validRange(source.version) === null) {
      throw new PlugvisorError('PLUGVISOR_HTTP_BAD_REQUEST', `version ${JSON.stringify(source.version)} is not a semver range (e.g. ^1.2.0)`);
    }
    const info = await sup.load(source);
    return pluginStatus(info, await sup.health(info.name));
  });

  app.get<NameParams>('/api/plugins/:name/status', async (req) => {
    const info = sup.info(req.params.name);
    return pluginStatus(info, await sup.health(info.name));
  });

  app.post<NameParams & { Body: { force?: boolean; backupState?: boolean } }>('/api/plugins/:name/reload', {
    schema: reloadSchema,
    // An empty POST is a plain reload.
    preValidation: async (req) => void (req.body ??= {}),
  }, async (req) => {
    // A reload the plugin made fail is still an answer (as sup.reload resolves it): 200 with ok: false.
    return reloadBody(await sup.reload(req.params.name, req.body));
  });

  app.get<NameParams>('/api/plugins/:name/latency', async (req) => {
    sup.info(req.params.name); // 404 for a plugin that is not loaded
    return latency.report(req.params.name);
  });

  app.delete<NameParams>('/api/plugins/:name', async (req) => {
    const { name, version } = sup.info(req.params.name);
    await sup.unload(name);
    return { name, version, unloaded: true };
  });
}
