// Access control, what-if and explanations over HTTP, on the built all-in-one (no Kafka):
// every role against every endpoint, allowed and refused; the what-if of an upgrade against
// the decisions the projector makes once that upgrade is planned for real; the limits.
import { FleetEvent } from '@fleetcompat/contract';
import { envelope, fakeSha, sampleFleet } from '@fleetcompat/sample-fleet';
import { AppProcess, eventually, http, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import { createTestDatabase, TestDatabase } from '../support/postgres';

type Who = 'none' | 'admin' | 'planner' | 'ci' | 'host' | 'otherHost';

describe('access control, what-if and history over HTTP', () => {
  let db: TestDatabase;
  let app: AppProcess;
  const tokens: Record<Who, string> = {
    none: '',
    admin: TEST_ADMIN_TOKEN,
    planner: '',
    ci: '',
    host: '',
    otherHost: '',
  };
  let n = 0;
  const at = () => new Date(Date.parse('2026-11-22T00:00:00Z') + ++n * 1000).toISOString();
  const call = (who: Who, method: string, path: string, body?: unknown) =>
    http(`${app.url}${path}`, { method, body, token: tokens[who] || undefined });
  const post = async (events: FleetEvent[]) => {
    const r = await call('admin', 'POST', '/v1/events', events);
    expect(r.status).toBe(202);
  };

  beforeAll(async () => {
    db = await createTestDatabase('e2e_auth');
    app = await startApp('all-in-one', {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: '',
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
      WHAT_IF_RATE_LIMIT: '3',
      WHAT_IF_RATE_WINDOW_SECONDS: '600',
      HTTP_BODY_LIMIT: '256kb',
    }).then((a) => a.ready());
    for (const [who, role] of [
      ['planner', 'planner'],
      ['ci', 'ci'],
      ['host', 'host:host-r1-01'],
      ['otherHost', 'host:host-r2-02'],
    ] as const) {
      const r = await call('admin', 'POST', '/v1/tokens', { role, name: `e2e ${who}` });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ role, token: expect.stringMatching(/^fct_/) });
      tokens[who] = r.body.token;
    }
    // The sample fleet without its upgrade plans: the what-if below plans them.
    await post(sampleFleet().filter((e) => e.type !== 'HypervisorUpgradePlanned'));
    await eventually(
      'the sample fleet projected',
      async () => (await call('admin', 'GET', '/v1/summary')).body.guests === 36,
    );
  });

  afterAll(async () => {
    await app?.stop();
    if (app?.exit && app.exit.code !== 0 && app.exit.signal !== 'SIGTERM') console.error(app.log().slice(-4000));
    await db?.drop();
  });

  it('what-if on the sample fleet matches the decisions the projector makes after the upgrade is planned for real', async () => {
    const whatIf = await call('planner', 'POST', '/v1/what-if', {
      hosts: { labels: { rack: 'r1' } },
      target: { version: '4.17.3' },
    });
    expect(whatIf.status).toBe(200);
    expect(whatIf.body.totals).toMatchObject({ hosts: 2, guests: 18 });
    // Nothing changed: the hosts are still decided for 4.10.4.
    expect((await call('planner', 'GET', '/v1/hosts/host-r1-01/placements')).body.hypervisorVersion).toBe('4.10.4');

    await post(
      ['host-r1-01', 'host-r1-02'].map((hostId) =>
        envelope(`e2e-plan-${hostId}`, 'HypervisorUpgradePlanned', at(), 'orchestrator', {
          hostId,
          fromVersion: '4.10.4',
          toVersion: '4.17.3',
          plannedRebootAt: '2026-12-01T02:00:00Z',
          waveId: 'wave-1',
        }),
      ),
    );
    let compared = 0;
    for (const host of whatIf.body.hosts) {
      const real = await eventually(`decisions of ${host.hostId} for 4.17.3`, async () => {
        const r = await call('planner', 'GET', `/v1/hosts/${host.hostId}/placements`);
        return r.body.placements?.every((p: any) => p.decision === null || p.decision.hypervisorVersion === '4.17.3') &&
          r.body.hypervisorVersion === '4.17.3'
          ? r.body
          : undefined;
      });
      const byGuest = new Map<string, any>(real.placements.map((p: any) => [p.guestId, p]));
      expect([...byGuest.keys()]).toEqual(host.guests.map((g: any) => g.guestId));
      for (const g of host.guests) {
        const p = byGuest.get(g.guestId);
        expect({ guestId: g.guestId, status: g.status, rsdp: g.rsdp, action: g.action, reason: g.reason }).toEqual({
          guestId: p.guestId,
          status: p.status,
          rsdp: p.decision.rsdp,
          action: p.decision.action,
          reason: p.decision.reason,
        });
        expect(g.lostFirstGiBSuperpage).toBe(p.decision.costs.some((c: any) => c.code === 'first-gib-superpage-lost'));
        compared++;
      }
    }
    expect(compared).toBe(18);
  });

  it('explains a guest with the events its decisions rested on, and shows a host timeline from the store', async () => {
    const h = await call('planner', 'GET', '/v1/guests/host-r1-01.db-old-grub/history');
    expect(h.status).toBe(200);
    const last = h.body.items[h.body.items.length - 1];
    expect(last).toMatchObject({
      kind: 'decided',
      causedBy: {
        eventId: 'e2e-plan-host-r1-01',
        type: 'HypervisorUpgradePlanned',
        occurredAt: expect.any(String),
        recordedAt: expect.any(String),
      },
      rule: { reason: 'high-rsdp-without-override', status: 'blocked' },
    });
    expect(last.restedOn.map((f: any) => f.fact).sort()).toEqual(['guest', 'host', 'kernel', 'running', 'upgrade']);
    expect(h.body.items[0].causedBy.type).toEqual(expect.stringMatching(/GuestObserved|HostRegistered/));

    const placements = (await call('host', 'GET', '/v1/hosts/host-r1-01/placements')).body.placements;
    const ack = placements.find((p: any) => p.decision);
    expect(
      (
        await call(
          'host',
          'POST',
          '/v1/events',
          envelope('e2e-ack-1', 'PlacementApplied', at(), 'host-r1-01', {
            hostId: 'host-r1-01',
            guestId: ack.guestId,
            decisionId: ack.decision.decisionId,
          }),
        )
      ).status,
    ).toBe(202);
    const t = await eventually('the ack in the timeline', async () => {
      const r = await call('planner', 'GET', '/v1/hosts/host-r1-01/timeline');
      return r.body.items?.some((i: any) => i.type === 'PlacementApplied') ? r.body : undefined;
    });
    expect(t.items.map((i: any) => i.type)).toEqual(['HostRegistered', 'HypervisorUpgradePlanned', 'PlacementApplied']);
    expect(t.items[2]).toMatchObject({ eventId: 'e2e-ack-1', position: 3, data: { guestId: ack.guestId } });
    expect((await call('planner', 'GET', '/v1/hosts/nowhere/timeline')).status).toBe(404);
  });

  describe('each role against each endpoint', () => {
    const kernelEvent = () =>
      envelope(`e2e-k-${++n}`, 'KernelBuildCompleted', at(), 'ci', {
        imageSha256: fakeSha(`e2e-kernel-${n}`),
        release: '6.1.0-99',
        arch: 'x86_64',
        distro: 'debian-12',
        xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: true },
      });
    const guestEvent = (hostId: string) =>
      envelope(`e2e-g-${++n}`, 'GuestObserved', at(), 'agent', {
        guestId: `${hostId}.e2e-${n}`,
        hostId,
        mode: 'hvm',
        memoryMiB: 512,
        boot: { method: 'direct' },
      });
    const behaviourEvent = () =>
      envelope(`e2e-b-${++n}`, 'HypervisorBehaviourDeclared', at(), 'operator', {
        version: '4.99.0',
        behaviour: 'by-notes',
      });
    const whatIf = { hosts: { ids: ['host-r2-01'] }, target: { version: '4.17.3' }, guests: 'none' };
    const ALL: Who[] = ['none', 'admin', 'planner', 'ci', 'host', 'otherHost'];
    // [method, path, body, roles allowed (admin always is)]
    const matrix: [string, string, (() => unknown) | undefined, Who[]][] = [
      ['GET', '/v1/summary', undefined, ['planner']],
      ['GET', '/v1/guests?limit=2', undefined, ['planner']],
      ['GET', '/v1/guests/host-r1-01.web-old-direct', undefined, ['planner']],
      ['GET', '/v1/guests/host-r1-01.web-old-direct/history', undefined, ['planner']],
      ['GET', '/v1/hosts/host-r1-01', undefined, ['planner', 'host']],
      ['GET', '/v1/hosts/host-r1-01/placements', undefined, ['planner', 'host']],
      ['GET', '/v1/hosts/host-r2-02/placements', undefined, ['planner', 'otherHost']],
      ['GET', '/v1/hosts/host-r1-01/timeline', undefined, ['planner']],
      ['POST', '/v1/what-if', () => whatIf, ['planner']],
      ['POST', '/v1/events', kernelEvent, ['ci']],
      ['POST', '/v1/events', () => guestEvent('host-r1-01'), ['host']],
      ['POST', '/v1/events', () => [guestEvent('host-r2-02'), guestEvent('host-r2-02')], ['otherHost']],
      ['POST', '/v1/events', () => [kernelEvent(), guestEvent('host-r1-01')], []],
      ['POST', '/v1/events', behaviourEvent, []],
      [
        'POST',
        '/v1/events',
        () => envelope(`e2e-u-${++n}`, 'HypervisorUpgradeCancelled', at(), 'x', { hostId: 'host-r2-01' }),
        [],
      ],
      ['GET', '/v1/tokens', undefined, []],
      ['POST', '/v1/tokens', () => ({ role: 'planner', name: 'matrix' }), []],
    ];
    const ok: Record<string, number> = { GET: 200, POST: 202 };

    for (const [method, path, body, allowed] of matrix) {
      it(`${method} ${path}${body ? ` ${JSON.stringify(body()).slice(0, 60)}` : ''}`, async () => {
        for (const who of ALL) {
          const r = await call(who, method, path, body?.());
          const expected =
            who === 'none'
              ? 401
              : who === 'admin' || allowed.includes(who)
                ? path === '/v1/what-if'
                  ? 200
                  : path === '/v1/tokens' && method === 'POST'
                    ? 201
                    : ok[method]
                : 403;
          expect({ who, status: r.status }).toEqual({ who, status: expected });
          if (expected >= 400) {
            expect(r.type).toMatch(/application\/problem\+json/);
            expect(r.body).toMatchObject({ status: expected, code: expected === 401 ? 'unauthorized' : 'forbidden' });
          }
        }
      });
    }

    it('a host token reading another host is refused, and says why', async () => {
      const r = await call('host', 'GET', '/v1/hosts/host-r2-02/placements');
      expect(r.status).toBe(403);
      expect(r.body.detail).toMatch(/host:host-r1-01 may read its own host only, not host-r2-02/);
      const w = await call('host', 'POST', '/v1/events', [guestEvent('host-r1-01'), guestEvent('host-r2-02')]);
      expect(w.status).toBe(403);
      expect(w.body.refusals).toEqual([expect.objectContaining({ index: 1, type: 'GuestObserved' })]);
    });

    it('refuses missing, malformed, unknown and revoked tokens with 401 and WWW-Authenticate', async () => {
      const bare = await http(`${app.url}/v1/summary`);
      expect(bare.status).toBe(401);
      expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const basic = await fetch(`${app.url}/v1/summary`, { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } });
      expect(basic.status).toBe(401);
      expect((await http(`${app.url}/v1/summary`, { token: 'fct_nope' })).status).toBe(401);
      const created = await call('admin', 'POST', '/v1/tokens', { role: 'planner', name: 'short-lived' });
      expect((await http(`${app.url}/v1/summary`, { token: created.body.token })).status).toBe(200);
      expect((await call('admin', 'DELETE', `/v1/tokens/${created.body.id}`)).status).toBe(204);
      expect((await http(`${app.url}/v1/summary`, { token: created.body.token })).status).toBe(401);
      expect((await call('admin', 'DELETE', `/v1/tokens/${created.body.id}`)).status).toBe(404);
      const listed = await call('admin', 'GET', '/v1/tokens');
      expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
      expect((await call('admin', 'POST', '/v1/tokens', { role: 'root' })).body.code).toBe('invalid-role');
    });

    it('serves the API documents without a token, with the bearer scheme', async () => {
      const doc = await http(`${app.url}/openapi.json`);
      expect(doc.status).toBe(200);
      expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.body.paths['/v1/what-if'].post.security).toEqual([{ bearer: [] }]);
      expect(Object.keys(doc.body.paths)).toEqual(
        expect.arrayContaining(['/v1/what-if', '/v1/hosts/{hostId}/timeline', '/v1/tokens']),
      );
      expect((await fetch(`${app.url}/docs`)).status).toBe(200);
    });
  });

  describe('limits', () => {
    it('rate-limits what-if per token: 429 problem details with Retry-After', async () => {
      const mine = (await call('admin', 'POST', '/v1/tokens', { role: 'planner', name: 'rate' })).body.token;
      const ask = () =>
        http(`${app.url}/v1/what-if`, {
          method: 'POST',
          token: mine,
          body: { hosts: { ids: ['host-r2-02'] }, target: { version: '4.17.3' }, guests: 'none' },
        });
      for (let i = 0; i < 3; i++) expect((await ask()).status).toBe(200);
      const limited = await ask();
      expect(limited.status).toBe(429);
      expect(limited.type).toMatch(/application\/problem\+json/);
      expect(limited.body).toMatchObject({ status: 429, code: 'rate-limited', limit: 3, windowSeconds: 600 });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      // another token has its own budget
      const other = (await call('admin', 'POST', '/v1/tokens', { role: 'planner', name: 'rate-2' })).body.token;
      expect(
        (
          await http(`${app.url}/v1/what-if`, {
            method: 'POST',
            token: other,
            body: { hosts: { ids: ['host-r2-02'] }, target: { version: '4.17.3' } },
          })
        ).status,
      ).toBe(200);
    });

    it('answers a body over HTTP_BODY_LIMIT, a page too large and a bad what-if with problem details', async () => {
      const big = await call('admin', 'POST', '/v1/events', 'x'.repeat(300 * 1024));
      expect(big.status).toBe(413);
      expect(big.body).toMatchObject({ code: 'body-too-large' });
      const page = await call('planner', 'GET', '/v1/guests?limit=5000');
      expect(page.status).toBe(400);
      expect(page.body).toMatchObject({ code: 'invalid-limit' });
      const bad = await call('admin', 'POST', '/v1/what-if', { hosts: {}, target: { version: 'latest' } });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('invalid-what-if');
      expect(bad.body.detail).toMatch(/target\.version/);
    });
  });
});
