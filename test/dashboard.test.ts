/**
 * The dashboard in a real headless Chromium (Debian's chromium package, driven by playwright-core):
 * it lists the plugins, follows the event stream and reloads a plugin from its button.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Supervisor } from 'plugvisor';
import { createDevServer } from '../src/http/dev-server.js';
import { chromiumMissing, launchChromium } from './browser.js';
import { heldSetupPlugin, REPO_ROOT, startSupervisor, tempDir } from './helpers.js';
import { writeVersioned } from './reload-helpers.js';

test("dashboard: clicking a plugin's reload button shows its new version", { skip: chromiumMissing(), timeout: 60_000 }, async (t) => {
  const dir = writeVersioned(tempDir(t), { version: '1.0.0', hooks: 'health(ctx) { return { ok: true, count: ctx.state.count }; },' });
  const sup = await startSupervisor(t);
  await sup.load(dir);
  await sup.load('plugins/counter');
  const server = await createDevServer(sup, { port: 0 });
  t.after(() => server.close());
  const browser = await launchChromium();
  t.after(() => browser.close());

  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  for (let i = 0; i < 5; i++) await sup.call('versioned', 'inc');
  await page.goto(server.url);

  const row = page.locator('tr[data-plugin="versioned"]');
  await row.locator('td.version', { hasText: '1.0.0' }).waitFor();
  await row.locator('.badge', { hasText: 'serving' }).waitFor();
  await page.locator('#stream', { hasText: 'live' }).waitFor();
  await page.locator('#ready', { hasText: 'ready' }).waitFor();
  assert.equal(await page.locator('tbody#plugins tr[data-plugin]').count(), 2);

  // Calls made before the page opened are in its latency chart and health details.
  await row.locator('.latency .figures', { hasText: 'p50' }).waitFor();
  assert.equal(await row.locator('.latency svg polyline').count(), 1);
  await row.locator('.health-detail', { hasText: 'count: 5' }).waitFor();

  writeVersioned(dir, { version: '2.0.0' });
  await row.locator('button[data-reload="versioned"]').click();
  await row.locator('td.version', { hasText: '2.0.0' }).waitFor();
  await row.locator('td.reloads', { hasText: '1' }).waitFor();
  await row.locator('.result.ok', { hasText: '1.0.0 → 2.0.0' }).waitFor();
  // The reload arrived through the event stream too.
  await page.locator('#events li[data-event="reload"][data-plugin="versioned"]').waitFor();
  assert.equal(sup.info('versioned').version, '2.0.0');
  assert.deepEqual(await sup.call('versioned', 'get'), { version: '2.0.0', count: 5 });

  // A reload the host starts by itself (here: directly) reaches the page without a click.
  await sup.reload('counter');
  await page.locator('tr[data-plugin="counter"] td.reloads', { hasText: '1' }).waitFor();
  assert.deepEqual(problems, []);
});

test('dashboard: while the host starts it shows "not ready" and why, then the plugins (not "server unreachable")', { skip: chromiumMissing(), timeout: 60_000 }, async (t) => {
  const { dir, setupRunning } = await heldSetupPlugin(t);
  const sup = new Supervisor({ root: REPO_ROOT, config: { log_level: 'silent', plugins: [{ path: dir }] } });
  t.after(() => sup.stop());
  // As `plugvisor dev server` does: the server listens before the supervisor starts.
  const server = await createDevServer(sup, { port: 0 });
  t.after(() => server.close());
  const started = sup.start();
  const [setup] = await setupRunning;
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(server.url);

  const ready = page.locator('#ready');
  await ready.locator('xpath=self::*[text()="not ready"]').waitFor();
  assert.equal(await ready.getAttribute('title'), 'the supervisor is starting');

  setup.end();
  await started;
  await page.locator('tr[data-plugin="slow-setup"] .badge', { hasText: 'serving' }).waitFor();
  await ready.locator('xpath=self::*[text()="ready"]').waitFor();
});

test('dashboard: at 1280 px wide the Reload buttons are on screen, not clipped under the events panel', { skip: chromiumMissing(), timeout: 60_000 }, async (t) => {
  const sup = await startSupervisor(t);
  await sup.load('plugins/counter');
  const server = await createDevServer(sup, { port: 0 });
  t.after(() => server.close());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(10_000);
  await page.goto(server.url);
  const button = page.locator('button[data-reload="counter"]');
  await button.waitFor();
  // What a person clicking the middle of the button would hit: the button (or inside it), not what
  // hides it. Checked in the page on each frame, on the button as it is then: a row the dashboard
  // renders again replaces it, and a check of the replaced one failed. Fails at the timeout when the
  // button stays hidden. (Not a trial click: that scrolls the clipped table to bring the button out.)
  await page.waitForFunction(`(() => {
    const button = document.querySelector('button[data-reload="counter"]');
    if (button === null) return false;
    const box = button.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit !== null && button.contains(hit);
  })()`, undefined, { timeout: 10_000 });
});
