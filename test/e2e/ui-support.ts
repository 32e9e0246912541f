/// <reference lib="dom" />
// The dashboard's browser tests: Debian's chromium (/usr/bin/chromium, `apt-get install
// chromium`; .ci/run installs it) driven by playwright-core, against the built all-in-one app.
// No browser is downloaded: without that binary the tests fail, naming what is missing.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { AppProcess, http, ROOT, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import { createTestDatabase, TestDatabase } from '../support/postgres';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The flags the machines of this project start Chromium with (no calls out, no first-run work). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** Writes screenshots of the pages to docs/ui/ when UPDATE_UI_SCREENSHOTS=1. */
export const SCREENSHOTS = process.env.UPDATE_UI_SCREENSHOTS === '1';
export const SCREENSHOT_DIR = path.join(ROOT, 'docs/ui');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH. The UI tests do not skip without it.`,
    );
  }
  // playwright's launch gives every browser a fresh, empty user-data-dir of its own
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60000 });
}

export interface UiApp {
  db: TestDatabase;
  app: AppProcess;
  url: string;
  tokens: { planner: string; ci: string; host: string; otherHost: string };
  call(token: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** The built all-in-one on a fresh database with the sample fleet, projected, and a token per role. */
export async function startUiApp(prefix: string, env: Record<string, string> = {}): Promise<UiApp> {
  const db = await createTestDatabase(prefix);
  const app = await startApp(
    'all-in-one',
    {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: '',
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
      WHAT_IF_RATE_LIMIT: '1000',
      ...env,
    },
    ['--sample-fleet'],
  ).then((a) => a.ready(120000));
  const call = async (token: string, method: string, p: string, body?: unknown) =>
    http(`${app.url}${p}`, { method, body, token: token || undefined });
  const tokens = { planner: '', ci: '', host: '', otherHost: '' };
  for (const [who, role] of [
    ['planner', 'planner'],
    ['ci', 'ci'],
    ['host', 'host:host-r1-01'],
    ['otherHost', 'host:host-r2-02'],
  ] as const) {
    const r = await call(TEST_ADMIN_TOKEN, 'POST', '/v1/tokens', { role, name: `ui ${who}` });
    if (r.status !== 201) throw new Error(`token for ${role}: ${r.status} ${JSON.stringify(r.body)}`);
    tokens[who] = r.body.token;
  }
  const until = Date.now() + 60000;
  while ((await call(tokens.planner, 'GET', '/v1/summary')).body?.guests !== 36) {
    if (Date.now() > until) throw new Error(`the sample fleet was not projected:\n${app.log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    db,
    app,
    url: app.url,
    tokens,
    call,
    async stop() {
      await app.stop();
      await db.drop();
    },
  };
}

/** A new browser context (its own session storage) and page; console errors and page errors are collected. */
export async function openPage(
  browser: Browser,
  options: { token?: string; width?: number; height?: number } = {},
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  if (options.token)
    await context.addInitScript((t: string) => sessionStorage.setItem('fleetcompat.token', t), options.token);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // a refused call (401/403/429) shows as a console error in Chromium: those the tests provoke on purpose are theirs to check
    if (m.type() === 'error' && !/status of (401|403|404|429)/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(30000);
  return { context, page, errors };
}

/** The dashboard at a route (e.g. `fleet`, `guest/<id>`), once its page element is shown. */
export async function visit(page: Page, url: string, route: string, testId?: string): Promise<void> {
  await page.goto(`${url}/ui/#/${route}`);
  if (testId) await page.getByTestId(testId).waitFor();
}

/** data-value of the element with this test id (exact numbers, not their formatted text). */
export async function valueOf(page: Page, testId: string, within?: string): Promise<number> {
  const scope = within ? page.locator(within) : page;
  const v = await scope.getByTestId(testId).first().getAttribute('data-value');
  if (v === null || v === '') throw new Error(`no data-value on ${testId}`);
  return Number(v);
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations of impact serious or critical on the page as shown (WCAG 2.1 A and AA rules, and best practices). */
export async function axeViolations(
  page: Page,
): Promise<{ id: string; impact: string; help: string; nodes: string[] }[]> {
  // evaluated through the DevTools protocol: the page's Content-Security-Policy (script-src 'self') stays as it is
  await page.evaluate(AXE);
  const result: any = await page.evaluate(() =>
    (window as any).axe.run(document, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    }),
  );
  return result.violations
    .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
    .map((v: any) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n: any) => n.target.join(' ')),
    }));
}

export async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true, animations: 'disabled' });
}
