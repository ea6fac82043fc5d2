/**
 * Regenerates docs/dashboard.png: the dashboard over the example plugins after a few calls, a
 * reload, a rolled-back reload and a crash. Run: node --import tsx test/dashboard-screenshot.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor } from 'plugvisor';
import { createDevServer } from '../src/http/dev-server.js';
import { launchChromium } from './browser.js';
import { REPO_ROOT } from './helpers.js';
import { writeVersioned } from './reload-helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'plugvisor-shot-'));
const sup = new Supervisor({ root: REPO_ROOT, config: { log_level: 'silent' } });
await sup.start();
const server = await createDevServer(sup, { port: 0 });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 720 }, deviceScaleFactor: 1 });
  await page.goto(server.url);
  await page.locator('#stream', { hasText: 'live' }).waitFor();
  for (const p of ['plugins/counter', 'plugins/store', 'plugins/greeter', 'plugins/hasher']) await sup.load(p);
  await sup.load(writeVersioned(join(dir, 'orders'), { name: 'orders', version: '1.0.0' }));
  for (let i = 0; i < 40; i++) {
    await sup.call('counter', 'increment', 1);
    await sup.call('store', 'set', `k${i}`, i);
    await sup.call('orders', i % 9 === 8 ? 'slow' : 'inc', i % 9 === 8 ? 12 : 'web');
    await sup.call('hasher', 'sha256', `text ${i}`);
    if (i % 13 === 0) await sup.call('counter', 'nope').catch(() => undefined);
  }
  await sup.call('greeter', 'greet', 'Ada');
  writeVersioned(join(dir, 'orders'), { name: 'orders', version: '1.1.0' });
  await sup.reload('orders');
  writeFileSync(join(dir, 'orders', 'index.ts'), 'export default {{ broken');
  await sup.reload('orders');
  writeVersioned(join(dir, 'orders'), { name: 'orders', version: '1.1.0' });
  const restarted = new Promise((resolve) => sup.once('restart', resolve));
  await sup.call('orders', 'crashSoon').catch(() => undefined);
  await restarted;
  await sup.reload('counter');
  await page.locator('button[data-reload="store"]').click();
  await page.locator('tr[data-plugin="store"] .result').waitFor();
  await sleep(3500); // one dashboard refresh after the last event
  await page.screenshot({ path: join(REPO_ROOT, 'docs', 'dashboard.png'), fullPage: true });
  console.log('wrote docs/dashboard.png');
} finally {
  await browser.close();
  await server.close();
  await sup.stop();
  rmSync(dir, { recursive: true, force: true });
}
