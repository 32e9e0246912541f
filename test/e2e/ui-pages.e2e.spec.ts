/// <reference lib="dom" />
// The planner's dashboard in real headless Chromium (Debian's, through playwright-core) against
// the built all-in-one on the sample fleet: each page shows the API's numbers, the what-if form
// gives what POST /v1/what-if gives, and axe-core finds nothing serious or critical on any page.
// UPDATE_UI_SCREENSHOTS=1 writes each page's screenshot to docs/ui/ (docs/ui.md shows them).
import { Browser, Page } from 'playwright-core';
import { envelope, fakeSha } from '@fleetcompat/sample-fleet';
import { axeViolations, launchChromium, openPage, screenshot, startUiApp, UiApp, valueOf, visit } from './ui-support';

describe('dashboard pages on the sample fleet (headless Chromium)', () => {
  let ui: UiApp;
  let browser: Browser;
  const pages: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    ui = await startUiApp('e2e_ui_pages');
  });

  afterAll(async () => {
    for (const p of pages) await p.close().catch(() => undefined);
    await browser?.close();
    await ui?.stop();
  });

  async function planner(): Promise<{ page: Page; errors: string[] }> {
    const { context, page, errors } = await openPage(browser, { token: ui.tokens.planner });
    pages.push(context);
    return { page, errors };
  }

  async function expectAccessible(page: Page): Promise<void> {
    expect(await axeViolations(page)).toEqual([]);
  }

  it('without a token shows the login; the token pasted once is kept in the tab and signs in', async () => {
    const { context, page, errors } = await openPage(browser);
    pages.push(context);
    await page.goto(`${ui.url}/ui/#/fleet`);
    await page.getByTestId('login-form').waitFor();
    expect(await page.locator('nav[aria-label="Pages"]').count()).toBe(0);
    await expectAccessible(page);
    await screenshot(page, 'login');

    await page.fill('#token', 'fct_not-a-token');
    await page.click('button[type=submit]');
    await page.getByRole('alert').filter({ hasText: 'unknown or revoked' }).waitFor();

    await page.fill('#token', ui.tokens.planner);
    await page.click('button[type=submit]');
    await page.getByTestId('fleet-page').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('fleetcompat.token'))).toBe(ui.tokens.planner);
    await page.reload();
    await page.getByTestId('fleet-page').waitFor();
    expect(await page.getByTestId('role').textContent()).toContain('planner');
    // the link from / and the page's own security headers
    const landing = await (await fetch(`${ui.url}/`)).text();
    expect(landing).toContain('href="/ui/"');
    const res = await fetch(`${ui.url}/ui/`);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(errors).toEqual([]);
  });

  it('Fleet shows the totals of GET /v1/summary: by status, by version and target, by wave, the superpages lost', async () => {
    const { page, errors } = await planner();
    await visit(page, ui.url, 'fleet', 'fleet-page');
    await page.getByTestId('chart-by-status').waitFor();
    const summary = (await ui.call(ui.tokens.planner, 'GET', '/v1/summary')).body;
    expect(await valueOf(page, 'total-guests')).toBe(summary.guests);
    expect(await valueOf(page, 'lost-superpages')).toBe(summary.lostFirstGiBSuperpage);
    expect(summary.lostFirstGiBSuperpage).toBeGreaterThan(0);
    for (const [status, count] of Object.entries(summary.byStatus))
      expect([status, await valueOf(page, `status-${status}`)]).toEqual([status, count]);
    const versions = page.getByTestId('version-row');
    expect(await versions.count()).toBe(summary.byHypervisorVersion.length);
    for (const v of summary.byHypervisorVersion) {
      const row = `[data-testid=version-row][data-version="${v.version ?? ''}"][data-target="${v.targetVersion ?? ''}"]`;
      expect({
        hosts: await valueOf(page, 'version-hosts', row),
        guests: await valueOf(page, 'version-guests', row),
        blocked: await valueOf(page, 'version-blocked', row),
      }).toEqual({
        hosts: v.hosts,
        guests: v.guests,
        blocked: v.byStatus.blocked ?? 0,
      });
    }
    expect(await page.getByTestId('wave-row').count()).toBe(summary.byWave.length);
    for (const w of summary.byWave) {
      const row = `[data-testid=wave-row][data-wave="${w.waveId}"]`;
      expect({
        hosts: await valueOf(page, 'wave-hosts', row),
        guests: await valueOf(page, 'wave-guests', row),
      }).toEqual({ hosts: w.hosts, guests: w.guests });
    }
    // the charts are drawn (a canvas with pixels), with a name for screen readers
    for (const id of ['chart-by-status', 'chart-by-version', 'chart-by-wave']) {
      const canvas = page.getByTestId(id);
      expect(await canvas.getAttribute('role')).toBe('img');
      expect(await canvas.evaluate((c: HTMLCanvasElement) => c.width > 100 && c.toDataURL().length > 2000)).toBe(true);
    }
    expect(await page.evaluate(() => performance.getEntriesByName('fc:fleet-rendered').length)).toBe(1);
    await expectAccessible(page);
    await screenshot(page, 'fleet');
    expect(errors).toEqual([]);
  });

  it('Waves shows each wave and its hosts with the readiness of GET /v1/waves and GET /v1/hosts/{id}, go / no-go, and the planned reboots', async () => {
    const { page, errors } = await planner();
    await visit(page, ui.url, 'waves', 'waves-page');
    await page.getByTestId('table-wave-hosts').waitFor();
    const waves = (await ui.call(ui.tokens.planner, 'GET', '/v1/waves')).body.items;
    expect(waves.map((w: any) => w.waveId)).toEqual(['wave-1', 'wave-2']);
    expect(await page.getByTestId('wave-card').count()).toBe(waves.length);
    for (const w of waves) {
      const card = `[data-testid=wave-card][data-wave="${w.waveId}"]`;
      expect({
        hosts: await valueOf(page, 'wave-hosts', card),
        ready: await valueOf(page, 'wave-hosts-ready', card),
        guests: await valueOf(page, 'wave-guests', card),
        decided: await valueOf(page, 'wave-decided', card),
        acknowledged: await valueOf(page, 'wave-acknowledged', card),
        blocked: await valueOf(page, 'wave-blocked', card),
        go: await page.locator(card).getByTestId('wave-go').getAttribute('data-value'),
      }).toEqual({
        hosts: w.hosts,
        ready: w.hostsReady,
        guests: w.guests,
        decided: w.decided,
        acknowledged: w.acknowledged,
        blocked: w.blocked,
        go: w.go ? 'go' : 'no-go',
      });
    }
    // the wave's hosts: each row as GET /v1/hosts/{id} counts its readiness
    const rows = page.getByTestId('host-row');
    expect(await rows.count()).toBe(2);
    for (const hostId of ['host-r1-01', 'host-r1-02']) {
      const r = (await ui.call(ui.tokens.planner, 'GET', `/v1/hosts/${hostId}`)).body.readiness;
      const row = `[data-testid=host-row][data-host="${hostId}"]`;
      expect({
        guests: await valueOf(page, 'host-guests', row),
        decided: await valueOf(page, 'host-decided', row),
        acknowledged: await valueOf(page, 'host-acknowledged', row),
        blocked: await valueOf(page, 'host-blocked', row),
        go: await page.locator(row).getByTestId('host-go').getAttribute('data-value'),
      }).toEqual({
        guests: r.guests,
        decided: r.decided,
        acknowledged: r.acknowledged,
        blocked: r.blocked,
        go: r.ready ? 'go' : 'no-go',
      });
    }
    await page.getByTestId('chart-reboots').waitFor();
    expect(await page.getByTestId('table-reboots').locator('tbody tr').count()).toBe(
      waves.reduce((n: number, w: any) => n + w.reboots.length, 0),
    );
    await expectAccessible(page);
    await screenshot(page, 'waves');

    // another wave, and the no-go filter (as GET /v1/hosts?readiness=no-go)
    await page.locator('[data-testid=wave-card][data-wave="wave-2"]').getByTestId('wave-select').click();
    await page.locator('[data-testid=host-row][data-host="host-r2-01"]').waitFor();
    await page.getByTestId('readiness-filter').selectOption('go');
    await page.getByTestId('hosts-total').and(page.locator('[data-value="0"]')).waitFor();
    expect((await ui.call(ui.tokens.planner, 'GET', '/v1/hosts?waveId=wave-2&readiness=go')).body.total).toBe(0);
    expect(errors).toEqual([]);
  });

  it('Attention lists blocked guests, overrides and unknown kernels as GET /v1/attention does, with reason and remedy, filtered by kind, wave, label and reason', async () => {
    // CI announces a kernel of the ubuntu-18.04 line that sets bit 15: it would unblock the old Linux guests behind pvh-grub
    const fix = envelope('e2e-ui-fix-kernel', 'KernelBuildCompleted', new Date().toISOString(), 'ci/e2e', {
      imageSha256: fakeSha('linux-5.4.0-200-generic'),
      release: '5.4.0-200-generic',
      arch: 'x86_64',
      distro: 'ubuntu-18.04',
      xenNotes: {
        guestOs: 'linux',
        guestVersion: '2.6',
        xenVersion: 'xen-3.0',
        loader: 'generic',
        supportedFeatures: 0x8801,
        phys32Entry: '0x1000400',
        pvh: true,
      },
    });
    expect((await ui.call(ui.tokens.ci, 'POST', '/v1/events', [fix])).status).toBe(202);
    const fixes = (r: any) => r.items.find((i: any) => i.guestId === 'host-r1-01.db-old-grub')?.fixes ?? [];
    for (
      const until = Date.now() + 30000;
      !fixes((await ui.call(ui.tokens.planner, 'GET', '/v1/attention?kind=blocked')).body).length;
    ) {
      if (Date.now() > until) throw new Error('the announced kernel is not offered as a fix');
      await new Promise((r) => setTimeout(r, 200));
    }
    const { page, errors } = await planner();
    await visit(page, ui.url, 'attention', 'attention-page');
    await page.getByTestId('attention-list').waitFor();
    const all = (await ui.call(ui.tokens.planner, 'GET', '/v1/attention?limit=25')).body;
    expect(all.counts.total).toBe(12);
    expect(await valueOf(page, 'count-total')).toBe(all.counts.total);
    for (const k of ['blocked', 'override', 'unknown-kernel'])
      expect(await valueOf(page, `count-${k}`)).toBe(all.counts.kinds[k]);
    const shown = await page
      .getByTestId('attention-item')
      .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-guest')}@${e.getAttribute('data-host')}`));
    expect(shown).toEqual(all.items.map((i: any) => `${i.guestId}@${i.hostId}`));
    // a blocked guest: its reason in words, the remedy of its decision, the kernels that would unblock it
    const item = page.locator('[data-testid=attention-item][data-guest="host-r1-01.db-old-grub"]');
    const api = all.items.find((i: any) => i.guestId === 'host-r1-01.db-old-grub');
    expect(api.remedy.length).toBeGreaterThan(0);
    const text = await item.textContent();
    expect(text).toContain('the guest will not boot');
    for (const r of api.remedy) expect(text).toContain(r);
    // the fixes are what-if's for the same guest
    expect(api.fixes).toEqual([
      { imageSha256: fakeSha('linux-5.4.0-200-generic'), release: '5.4.0-200-generic', distro: 'ubuntu-18.04' },
    ]);
    const whatIf = (
      await ui.call(ui.tokens.planner, 'POST', '/v1/what-if', {
        hosts: { ids: ['host-r1-01'] },
        target: { version: '4.11.0' },
        guests: 'attention',
      })
    ).body;
    expect(whatIf.hosts[0].guests.find((x: any) => x.guestId === 'host-r1-01.db-old-grub').fixes).toEqual(api.fixes);
    expect(await item.getByTestId('fixes').textContent()).toContain('5.4.0-200-generic (ubuntu-18.04)');
    expect(
      await page
        .locator('[data-testid=attention-item][data-guest="host-r1-01.legacy-49"]')
        .getByTestId('fixes')
        .textContent(),
    ).toContain('none announced for its distro line (debian-9)');
    await expectAccessible(page);
    await screenshot(page, 'attention');

    // filters: blocked guests of wave-2 hosts labelled rack=r2
    await page.selectOption('#f-kind', 'blocked');
    await page.selectOption('#f-wave', 'wave-2');
    await page.fill('#f-labels', 'rack=r2');
    await page.getByTestId('apply-filters').click();
    const filtered = (
      await ui.call(ui.tokens.planner, 'GET', '/v1/attention?kind=blocked&waveId=wave-2&label=rack%3Dr2&limit=25')
    ).body;
    expect(filtered.items.length).toBe(2);
    await page.waitForFunction(
      (n) =>
        document.querySelectorAll('[data-testid=attention-item]').length === n &&
        location.hash.includes('kind=blocked'),
      filtered.items.length,
    );
    expect(
      await page.getByTestId('attention-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-guest'))),
    ).toEqual(filtered.items.map((i: any) => i.guestId));
    // by reason, from the reasons the counts offer (under the wave, host and label filters: cleared first)
    await page.selectOption('#f-kind', '');
    await page.selectOption('#f-wave', '');
    await page.fill('#f-labels', '');
    await page.getByTestId('apply-filters').click();
    await page.locator('#f-reason option[value="override-low-required"]').waitFor({ state: 'attached' });
    await page.selectOption('#f-reason', 'override-low-required');
    await page.getByTestId('apply-filters').click();
    const byReason = (await ui.call(ui.tokens.planner, 'GET', '/v1/attention?reason=override-low-required&limit=25'))
      .body;
    await page.waitForFunction(
      (n) =>
        location.hash.includes('reason=override-low-required') &&
        document.querySelectorAll('[data-testid=attention-item]').length === n,
      byReason.items.length,
    );
    expect(
      await page.getByTestId('attention-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-guest'))),
    ).toEqual(byReason.items.map((i: any) => i.guestId));
    expect(errors).toEqual([]);
  });

  it('the guest page shows the current decision with its explanation, and the history of GET /v1/guests/{id}/history as a timeline', async () => {
    const { page, errors } = await planner();
    const guestId = 'host-r1-01.db-old-grub';
    await visit(page, ui.url, `guest/${guestId}`, 'guest-page');
    await page.getByTestId('history').waitFor();
    const g = (await ui.call(ui.tokens.planner, 'GET', `/v1/guests/${guestId}`)).body;
    const h = (await ui.call(ui.tokens.planner, 'GET', `/v1/guests/${guestId}/history`)).body;
    expect(await page.getByTestId('decision-reason').getAttribute('data-value')).toBe(g.decision.reason);
    expect(await page.getByTestId('decision-rsdp').textContent()).toBe(g.decision.rsdp);
    expect(await page.getByTestId('explanation').locator('li').allTextContents()).toEqual(g.explanation.steps);
    expect(await page.getByTestId('remedy').locator('li').allTextContents()).toEqual(g.explanation.remedy);
    const items = page.getByTestId('history-item');
    expect(await items.count()).toBe(h.items.length);
    // newest first, each with the event it came after
    expect(await items.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-sequence'))))).toEqual(
      h.items.map((i: any) => i.sequence).reverse(),
    );
    expect(await items.first().textContent()).toContain(h.items[h.items.length - 1].causedBy.eventId);
    await expectAccessible(page);
    await screenshot(page, 'guest');
    expect(errors).toEqual([]);
  });

  it('the host page shows readiness as GET /v1/hosts/{id}, its guests as /placements, and its timeline', async () => {
    const { page, errors } = await planner();
    await visit(page, ui.url, 'host/host-r1-01', 'host-page');
    await page.getByTestId('host-timeline').waitFor();
    await page.getByTestId('host-guests').waitFor();
    const host = (await ui.call(ui.tokens.planner, 'GET', '/v1/hosts/host-r1-01')).body;
    for (const k of ['guests', 'decided', 'acknowledged', 'blocked'])
      expect([k, await valueOf(page, `readiness-${k}`)]).toEqual([k, host.readiness[k]]);
    expect(await page.getByTestId('host-go').getAttribute('data-value')).toBe(host.readiness.ready ? 'go' : 'no-go');
    const placements = (await ui.call(ui.tokens.planner, 'GET', '/v1/hosts/host-r1-01/placements')).body.placements;
    expect(
      await page
        .getByTestId('placement-row')
        .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-guest')}:${e.getAttribute('data-status')}`)),
    ).toEqual(placements.map((p: any) => `${p.guestId}:${p.status}`));
    const timeline = (await ui.call(ui.tokens.planner, 'GET', '/v1/hosts/host-r1-01/timeline')).body.items;
    expect(await page.getByTestId('timeline-item').count()).toBe(timeline.length);
    await expectAccessible(page);
    await screenshot(page, 'host');
    expect(errors).toEqual([]);
  });

  it('the what-if form gives what POST /v1/what-if gives, beside the current plan of POST /v1/plan', async () => {
    const { page, errors } = await planner();
    await visit(page, ui.url, 'what-if', 'whatif-page');
    await page.locator('#w-wave option[value="wave-1"]').waitFor({ state: 'attached' });
    await page.selectOption('#w-wave', 'wave-1');
    await page.fill('#w-labels', 'pool=general');
    await page.fill('#w-version', '4.17.3');
    await expectAccessible(page);
    await page.getByTestId('whatif-run').click();
    await page.getByTestId('whatif-result').waitFor();
    await page.getByTestId('current-fine').waitFor();
    const hosts = { waveId: 'wave-1', labels: { pool: 'general' } };
    const whatIf = (
      await ui.call(ui.tokens.planner, 'POST', '/v1/what-if', {
        hosts,
        target: { version: '4.17.3' },
        guests: 'attention',
        maxGuests: 200,
      })
    ).body;
    const plan = (await ui.call(ui.tokens.planner, 'POST', '/v1/plan', { hosts })).body;
    for (const k of [
      'fine',
      'overrideLow',
      'blocked',
      'notApplicable',
      'unknownKernel',
      'lostFirstGiBSuperpage',
      'guests',
      'hosts',
    ]) {
      expect([k, await valueOf(page, `whatif-${k}`)]).toEqual([k, whatIf.totals[k]]);
      expect([k, await valueOf(page, `current-${k}`)]).toEqual([k, plan.totals[k]]);
    }
    for (const [reason, count] of Object.entries(whatIf.totals.byReason))
      expect([reason, await valueOf(page, `whatif-reason-${reason}`)]).toEqual([reason, count]);
    const listed = whatIf.hosts.flatMap((h: any) => h.guests.map((g: any) => `${g.guestId}:${g.outcome}`));
    expect(listed.length).toBeGreaterThan(0);
    expect(
      await page
        .getByTestId('whatif-row')
        .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-guest')}:${e.getAttribute('data-outcome')}`)),
    ).toEqual(listed);
    await page.getByTestId('chart-whatif').waitFor();
    await expectAccessible(page);
    await screenshot(page, 'what-if');

    // a form without hosts says so, and sends nothing
    await page.selectOption('#w-wave', '');
    await page.fill('#w-labels', '');
    await page.getByTestId('whatif-run').click();
    await page.getByRole('alert').filter({ hasText: 'Choose the hosts' }).waitFor();
    expect(errors).toEqual([]);
  });
});
