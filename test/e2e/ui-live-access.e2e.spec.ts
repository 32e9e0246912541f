/// <reference lib="dom" />
// The dashboard per role and live, in Debian's headless Chromium against the built all-in-one:
// a planner sees every page, a host token its own host only, a ci token nothing, no token the
// login; an event posted while a page is open shows up on it without a reload (the projector's
// NOTIFY, through GET /v1/live's server-sent events); the live stream's tickets.
import { Browser, Page } from 'playwright-core';
import { envelope, SAMPLE_KERNELS } from '@fleetcompat/sample-fleet';
import { TEST_ADMIN_TOKEN } from '../support/apps';
import { axeViolations, launchChromium, openPage, screenshot, startUiApp, UiApp, valueOf, visit } from './ui-support';

describe('dashboard per role, and live (headless Chromium)', () => {
  let ui: UiApp;
  let browser: Browser;
  const contexts: { close(): Promise<void> }[] = [];
  let n = 0;
  const now = () => new Date(Date.now() - 1000 + ++n).toISOString();

  beforeAll(async () => {
    browser = await launchChromium();
    ui = await startUiApp('e2e_ui_live');
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await ui?.stop();
  });

  async function open(token?: string): Promise<{ page: Page; errors: string[] }> {
    const { context, page, errors } = await openPage(browser, { token });
    contexts.push(context);
    return { page, errors };
  }

  const navLinks = (page: Page) => page.locator('nav[aria-label="Pages"] a').allTextContents();
  const waitLive = (page: Page) => page.locator('[data-testid=live-state][data-state=live]').waitFor();
  const valueBecomes = (page: Page, testId: string, value: number) =>
    page.waitForFunction(
      ([id, v]) => document.querySelector(`[data-testid="${id}"]`)?.getAttribute('data-value') === String(v),
      [testId, value] as const,
      { timeout: 30000 },
    );

  it('a planner token sees every page', async () => {
    const { page, errors } = await open(ui.tokens.planner);
    await visit(page, ui.url, '', 'fleet-page');
    expect(await navLinks(page)).toEqual(['Fleet', 'Waves', 'Attention', 'What-if']);
    for (const [route, id] of [
      ['waves', 'waves-page'],
      ['attention', 'attention-page'],
      ['what-if', 'whatif-page'],
      ['host/host-r2-02', 'host-page'],
      ['guest/host-r2-02.win-hvm', 'guest-page'],
    ]) {
      await visit(page, ui.url, route, id);
    }
    expect(errors).toEqual([]);
  });

  it('a host token sees its own host only (no fleet, no other host, no guest pages, no timeline); ci nothing; no token the login', async () => {
    const { page, errors } = await open(ui.tokens.host);
    await visit(page, ui.url, '', 'host-page');
    expect(page.url()).toContain('#/host/host-r1-01');
    expect(await navLinks(page)).toEqual(['Host host-r1-01']);
    expect(await page.getByTestId('role').textContent()).toContain('host:host-r1-01');
    await page.getByTestId('host-guests').waitFor();
    const placements = (await ui.call(ui.tokens.host, 'GET', '/v1/hosts/host-r1-01/placements')).body.placements;
    expect(await page.getByTestId('placement-row').count()).toBe(placements.length);
    // guests are not links (a host may not read GET /v1/guests), and the host's timeline is for planners
    expect(await page.getByTestId('host-guests').locator('a').count()).toBe(0);
    expect(await page.getByTestId('host-timeline').count()).toBe(0);
    expect(await valueOf(page, 'readiness-guests')).toBe(placements.length);
    expect(await axeViolations(page)).toEqual([]);
    await screenshot(page, 'host-token');
    for (const route of ['fleet', 'waves', 'attention', 'what-if', 'host/host-r2-01', 'guest/host-r1-01.win-hvm']) {
      await page.goto(`${ui.url}/ui/#/${route}`);
      await page.getByText('may not see this page').waitFor();
      expect(await page.getByTestId('fleet-page').count()).toBe(0);
    }
    expect(errors).toEqual([]); // nothing was asked that the role may not read

    const ci = await open(ui.tokens.ci);
    await visit(ci.page, ui.url, '', undefined);
    await ci.page.getByText('Nothing to show').waitFor();
    expect(await navLinks(ci.page)).toEqual([]);

    const none = await open();
    for (const route of ['fleet', 'host/host-r1-01']) {
      await none.page.goto(`${ui.url}/ui/#/${route}`);
      await none.page.getByTestId('login-form').waitFor();
    }
  });

  it('a new event posted while the pages are open shows up on them, without a reload', async () => {
    const fleet = await open(ui.tokens.planner);
    await visit(fleet.page, ui.url, 'fleet', 'fleet-page');
    const attention = await open(ui.tokens.planner);
    await visit(attention.page, ui.url, 'attention?kind=blocked&wave=wave-2', 'attention-list');
    const host = await open(ui.tokens.host);
    await visit(host.page, ui.url, 'host/host-r1-01', 'host-page');
    for (const p of [fleet.page, attention.page, host.page]) {
      await waitLive(p);
      await p.evaluate(() => ((window as any).__sameDocument = true));
    }
    const before = (await ui.call(ui.tokens.planner, 'GET', '/v1/summary')).body;
    expect(await valueOf(fleet.page, 'total-guests')).toBe(before.guests);

    // a new guest on host-r2-01 (wave-2, to 4.17.3, no override) booting an old Linux through pvh-grub: blocked
    const guestId = 'host-r2-01.e2e-live-grub';
    const posted = await ui.call(TEST_ADMIN_TOKEN, 'POST', '/v1/events', [
      envelope('e2e-ui-live-1', 'GuestObserved', now(), 'agent/e2e', {
        guestId,
        hostId: 'host-r2-01',
        mode: 'pvh',
        memoryMiB: 2048,
        boot: { method: 'pvh-grub', kernelSha256: SAMPLE_KERNELS.linux415.sha },
      }),
    ]);
    expect(posted.status).toBe(202);
    await valueBecomes(fleet.page, 'total-guests', before.guests + 1);
    await valueBecomes(fleet.page, 'status-blocked', before.byStatus.blocked + 1);
    await attention.page.locator(`[data-testid=attention-item][data-guest="${guestId}"]`).waitFor({ timeout: 30000 });

    // the host acknowledges a decision: its page counts it
    const placements = (await ui.call(ui.tokens.host, 'GET', '/v1/hosts/host-r1-01/placements')).body.placements;
    const acked = (await ui.call(ui.tokens.host, 'GET', '/v1/hosts/host-r1-01')).body.readiness.acknowledged;
    expect(await valueOf(host.page, 'readiness-acknowledged')).toBe(acked);
    const p = placements.find((x: any) => x.decision);
    const ack = await ui.call(ui.tokens.host, 'POST', '/v1/events', [
      envelope('e2e-ui-live-ack-1', 'PlacementApplied', now(), 'host-r1-01', {
        hostId: 'host-r1-01',
        guestId: p.guestId,
        decisionId: p.decision.decisionId,
      }),
    ]);
    expect(ack.status).toBe(202);
    await valueBecomes(host.page, 'readiness-acknowledged', acked + 1);

    for (const page of [fleet.page, attention.page, host.page])
      expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    expect([...fleet.errors, ...attention.errors, ...host.errors]).toEqual([]);
  });

  it('a token revoked while its page is open signs the page out at the next read', async () => {
    const made = await ui.call(TEST_ADMIN_TOKEN, 'POST', '/v1/tokens', { role: 'planner', name: 'ui revoked' });
    const { page } = await open(made.body.token);
    await visit(page, ui.url, 'fleet', 'fleet-page');
    await waitLive(page);
    expect((await ui.call(TEST_ADMIN_TOKEN, 'DELETE', `/v1/tokens/${made.body.id}`)).status).toBeLessThan(300);
    await ui.call(TEST_ADMIN_TOKEN, 'POST', '/v1/events', [
      envelope('e2e-ui-live-2', 'GuestObserved', now(), 'agent/e2e', {
        guestId: 'host-r2-02.e2e-live-hvm',
        hostId: 'host-r2-02',
        mode: 'hvm',
        memoryMiB: 1024,
        boot: { method: 'direct' },
      }),
    ]);
    await page.getByTestId('login-form').waitFor({ timeout: 30000 });
    expect(await page.evaluate(() => sessionStorage.getItem('fleetcompat.token'))).toBeNull();
  });

  describe('GET /v1/live and its tickets', () => {
    const ticket = async (token: string) => ui.call(token, 'POST', '/v1/live/tickets', {});

    it('needs a ticket made with a token of a role that may read (planner, host, admin), good once', async () => {
      expect((await ui.call('', 'GET', '/v1/live')).status).toBe(401);
      expect((await ticket('')).status).toBe(401);
      expect((await ticket(ui.tokens.ci)).status).toBe(403);
      const t = await ticket(ui.tokens.host);
      expect(t.status).toBe(201);
      expect(t.body).toMatchObject({
        ticket: expect.stringMatching(/^lt1\./),
        url: expect.stringMatching(/^\/v1\/live\?ticket=/),
        expiresAt: expect.any(String),
      });
      expect(t.body.ticket).not.toContain(ui.tokens.host);
      const ac = new AbortController();
      const first = await fetch(`${ui.url}${t.body.url}`, { signal: ac.signal });
      expect(first.status).toBe(200);
      expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
      ac.abort();
      // used once: refused; a ticket whose MAC is changed: refused
      expect((await ui.call('', 'GET', t.body.url)).status).toBe(401);
      const other = (await ticket(ui.tokens.planner)).body.ticket as string;
      const forged = other.slice(0, -2) + (other.endsWith('AA') ? 'BB' : 'AA');
      expect((await ui.call('', 'GET', `/v1/live?ticket=${encodeURIComponent(forged)}`)).status).toBe(401);
      // a ticket for another token id with this token's MAC: refused
      const parts = other.split('.');
      const hostTicket = (await ticket(ui.tokens.host)).body.ticket.split('.');
      expect(
        (
          await ui.call(
            '',
            'GET',
            `/v1/live?ticket=${encodeURIComponent([parts[0], hostTicket[1], parts[2], parts[3]].join('.'))}`,
          )
        ).status,
      ).toBe(401);
    });

    it("streams a projection event when a projector batch commits; a revoked token's tickets stop working", async () => {
      const made = await ui.call(TEST_ADMIN_TOKEN, 'POST', '/v1/tokens', { role: 'planner', name: 'ui stream' });
      const t = await ticket(made.body.token);
      const ac = new AbortController();
      const res = await fetch(`${ui.url}${t.body.url}`, { signal: ac.signal });
      const reader = res.body!.getReader();
      let text = '';
      const readUntil = async (pattern: RegExp) => {
        const until = Date.now() + 30000;
        while (!pattern.test(text)) {
          if (Date.now() > until) throw new Error(`no ${pattern} in the stream: ${text}`);
          const { value, done } = await reader.read();
          if (done) throw new Error(`the stream ended: ${text}`);
          text += new TextDecoder().decode(value);
        }
      };
      await readUntil(/event: ready\ndata: \{[^\n]*"listening":true/);
      await ui.call(TEST_ADMIN_TOKEN, 'POST', '/v1/events', [
        envelope('e2e-ui-live-3', 'GuestObserved', now(), 'agent/e2e', {
          guestId: 'host-r2-02.e2e-stream-hvm',
          hostId: 'host-r2-02',
          mode: 'hvm',
          memoryMiB: 1024,
          boot: { method: 'direct' },
        }),
      ]);
      await readUntil(/event: projection\nid: \d+\ndata: \{"generation":\d+,"listening":true\}/);
      ac.abort();

      const unused = await ticket(made.body.token);
      await ui.call(TEST_ADMIN_TOKEN, 'DELETE', `/v1/tokens/${made.body.id}`);
      expect((await ui.call('', 'GET', unused.body.url)).status).toBe(401);
    });
  });
});
