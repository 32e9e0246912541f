#!/usr/bin/env node
// Time to first render of the dashboard's pages with the benchmark's generated fleet (default
// 5,000 hosts, 250,000 guests, 2,000 kernels, 10 waves: libs/sample-fleet generateFleet, as
// `npm run bench`), in Debian's headless Chromium, against the built all-in-one on a database
// of its own. Measured, not asserted; docs/ui.md reports it.
//
//   npm run build && node apps/ui/measure-first-render.mjs [--guests 250000] [--hosts 5000] [--runs 5] [--keep NAME]
//
// MEASURE_DATABASE_ADMIN_URL (else TEST_DATABASE_ADMIN_URL, else postgres://postgres@127.0.0.1:5432/postgres):
// the server on which a database fc_ui_render_<random> is made and dropped at the end. With
// --keep NAME the database is called NAME and kept; a later run with the same --keep finds the
// fleet there and measures at once (drop it yourself when done).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const { Client } = require('pg');
const { chromium } = require('playwright-core');
const { generateFleet } = require(path.join(root, 'dist/libs/sample-fleet/src/index.js'));

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const size = {
  hosts: arg('hosts', 5000),
  guests: arg('guests', 250000),
  kernels: arg('kernels', 2000),
  waves: arg('waves', 10),
};
const runs = arg('runs', 5);
const adminUrl =
  process.env.MEASURE_DATABASE_ADMIN_URL ??
  process.env.TEST_DATABASE_ADMIN_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const TOKEN = `ui-render-${randomBytes(12).toString('hex')}`;
const log = (m) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);

async function admin(sql) {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const keepIndex = process.argv.indexOf('--keep');
const keep = keepIndex > 0 ? process.argv[keepIndex + 1] : null;
if (keep !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(keep))
  throw new Error('--keep takes a database name (a-z, 0-9, _)');
const dbName = keep ?? `fc_ui_render_${randomBytes(5).toString('hex')}`;
const dbUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

let app;
let browser;
try {
  let existing = false;
  try {
    await admin(`CREATE DATABASE "${dbName}"`);
  } catch (e) {
    if (!keep) throw e;
    existing = true;
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  app = spawn(process.execPath, [path.join(root, 'dist/apps/all-in-one/src/main.js')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: dbUrl,
      KAFKA_BROKERS: '',
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TOKEN,
      EVENTS_RATE_LIMIT: '100000000',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const call = async (p, init = {}) => {
    const res = await fetch(`${url}${p}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${TOKEN}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
      body: init.body ? JSON.stringify(init.body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  for (const until = Date.now() + 120000; ;) {
    try {
      if ((await fetch(`${url}/health/live`)).ok) break;
    } catch {
      /* not yet */
    }
    if (app.exitCode !== null) throw new Error(`the app exited (${app.exitCode}) before it answered`);
    if (Date.now() > until) throw new Error('the app did not start');
    await new Promise((r) => setTimeout(r, 300));
  }

  const t0 = Date.now();
  let batch = [];
  let events = 0;
  const loaded = existing && (await call('/v1/summary')).body?.guests >= size.guests;
  if (!loaded) log(`posting a generated fleet: ${JSON.stringify(size)}`);
  const flush = async () => {
    if (!batch.length) return;
    const r = await call('/v1/events', { method: 'POST', body: batch });
    if (r.status !== 202) throw new Error(`POST /v1/events: ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
    events += batch.length;
    batch = [];
  };
  for (const e of loaded ? [] : generateFleet(size)) {
    batch.push(e);
    if (batch.length === 1000) await flush();
  }
  await flush();
  if (!loaded) log(`${events} events stored in ${((Date.now() - t0) / 1000).toFixed(0)} s; waiting for the projector`);
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const lag = Number(/^fleetcompat_projector_lag_events\S* (\d+)/m.exec(metrics)?.[1] ?? NaN);
    const s = await call('/v1/summary');
    if (lag === 0 && s.body?.guests >= size.guests) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  log(`projected after ${((Date.now() - t0) / 1000).toFixed(0)} s`);

  const api = {};
  for (const [name, p] of [
    ['summary', '/v1/summary'],
    ['waves', '/v1/waves'],
    ['attention', '/v1/attention?limit=25'],
    ['hosts of a wave', `/v1/hosts?waveId=gen-wave-1&limit=25`],
  ]) {
    const times = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const r = await call(p);
      if (r.status !== 200) throw new Error(`${p}: ${r.status}`);
      times.push(performance.now() - t);
    }
    api[name] = times.map((t) => Math.round(t));
  }

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  // "cold": right after a projector batch committed (one new guest posted), when GET /v1/summary
  // and the other aggregates are read from Postgres again; else they are kept until the next batch
  let extra = 0;
  const afterABatch = async () => {
    const r = await call('/v1/events', {
      method: 'POST',
      body: [
        {
          eventId: `ui-render-${TOKEN}-${++extra}`,
          type: 'GuestObserved',
          schemaVersion: 1,
          occurredAt: new Date().toISOString(),
          source: 'ui-render',
          data: {
            guestId: `ui-render-extra-${extra}`,
            hostId: 'gen-host-000001',
            mode: 'hvm',
            memoryMiB: 1024,
            boot: { method: 'direct' },
          },
        },
      ],
    });
    if (r.status !== 202) throw new Error(`POST /v1/events: ${r.status}`);
    for (;;) {
      const metrics = await (await fetch(`${url}/metrics`)).text();
      if (Number(/^fleetcompat_projector_lag_events\S* (\d+)/m.exec(metrics)?.[1] ?? NaN) === 0) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    await new Promise((res) => setTimeout(res, 1500)); // the notification reaches the API
  };
  const pages = [
    ['fleet (cold: first read after a projector batch)', 'fleet', null, true],
    ['fleet', 'fleet', null],
    ['waves', 'waves', '[data-testid=host-row]'],
    ['attention', 'attention', '[data-testid=attention-item]'],
    ['host', 'host/gen-host-000000', '[data-testid=placement-row]'],
  ];
  const results = {};
  for (const [name, route, selector, cold] of pages) {
    const samples = [];
    for (let i = 0; i < runs; i++) {
      if (cold) await afterABatch();
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript((t) => sessionStorage.setItem('fleetcompat.token', t), TOKEN);
      const page = await context.newPage();
      await page.goto(`${url}/ui/#/${route}`);
      let ms;
      if (selector === null) {
        await page.waitForSelector('html[data-fleet-rendered]', { timeout: 120000 });
        ms = await page.evaluate(() => performance.getEntriesByName('fc:fleet-rendered')[0].startTime);
      } else {
        await page.waitForSelector(selector, { timeout: 120000 });
        ms = await page.evaluate(() => performance.now());
      }
      const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? null);
      const transferred = await page.evaluate(() =>
        performance.getEntriesByType('resource').reduce((n, e) => n + (e.transferSize || 0), 0),
      );
      samples.push({
        ms: Math.round(ms),
        heapMiB: heap ? +(heap / 1048576).toFixed(1) : null,
        transferredKiB: Math.round(transferred / 1024),
      });
      await context.close();
    }
    results[name] = { medianMs: median(samples.map((s) => s.ms)), samples };
    log(`${name}: median ${results[name].medianMs} ms (${samples.map((s) => s.ms).join(', ')})`);
  }
  const report = {
    fleet: size,
    events: events || 'already loaded',
    runs,
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      loadavg: os.loadavg().map((x) => +x.toFixed(1)),
      node: process.version,
    },
    chromium: browser.version(),
    apiMs: api,
    firstRenderMs: results,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
} finally {
  await browser?.close().catch(() => undefined);
  if (app && app.exitCode === null) {
    app.kill('SIGTERM');
    await new Promise((r) => app.once('exit', r));
  }
  if (!keep) await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`).catch((e) => log(`drop: ${e.message}`));
}
