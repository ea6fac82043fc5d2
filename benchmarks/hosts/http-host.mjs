// The "restart the whole process" alternative of the reload benchmark: a minimal application host
// that starts a Supervisor with one plugin and serves its calls over HTTP on 127.0.0.1, as a user
// would run it under `node --watch` or a process manager. The benchmark kills and restarts this
// process (SIGTERM, graceful) and, for comparison, asks it to hot reload the plugin instead.
//
//   GET  /rec?c=CALLER&s=SEQ   -> the plugin's rec(c, s) as JSON
//   GET  /counts               -> the plugin's counts()
//   POST /reload               -> sup.reload(plugin), the reload result as JSON
//
// Environment: PLUGVISOR_DIST_ENTRY (file: URL of the built library), HOST_ROOT (the supervisor's
// root: its .plugvisor/ holds the compile cache and the state backups), HOST_PLUGIN_DIR, HOST_PORT
// (0: any). Prints "ready PORT" on stdout once it serves. On SIGTERM it stops accepting, finishes
// the requests in flight, stops the supervisor (which writes the state backup) and exits 0.
//
// Plain JavaScript: it runs under plain `node`, as a user's host would.
import { createServer } from 'node:http';

const { Supervisor } = await import(process.env.PLUGVISOR_DIST_ENTRY);
const pluginDir = process.env.HOST_PLUGIN_DIR;
const sup = new Supervisor({
  root: process.env.HOST_ROOT,
  // backup_state: the state survives the restart (written at stop(), read at start()), the best a
  // restarting host can do; no periodic checkpoints.
  config: { log_level: 'silent', reload: { backup_state: true, checkpoint_interval: 0 } },
});
await sup.start();
const { name } = await sup.load(pluginDir);

let inFlight = 0;
let idle;
const json = (res, status, value) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
};
const server = createServer((req, res) => {
  inFlight++;
  res.on('close', () => {
    if (--inFlight === 0 && idle !== undefined) idle();
  });
  const url = new URL(req.url, 'http://host');
  let work;
  if (req.method === 'GET' && url.pathname === '/rec') work = sup.call(name, 'rec', Number(url.searchParams.get('c')), Number(url.searchParams.get('s')));
  else if (req.method === 'GET' && url.pathname === '/counts') work = sup.call(name, 'counts');
  else if (req.method === 'POST' && url.pathname === '/reload') work = sup.reload(name).then((r) => ({ ...r, error: r.error?.message }));
  else return json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
  work.then((v) => json(res, 200, v), (err) => json(res, 500, { error: err.message, code: err.code }));
});
server.keepAliveTimeout = 60_000;

process.once('SIGTERM', async () => {
  server.close();
  server.closeIdleConnections();
  if (inFlight > 0) await new Promise((resolve) => (idle = resolve));
  await sup.stop();
  process.exit(0);
});

server.listen(Number(process.env.HOST_PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`ready ${server.address().port}\n`);
});
