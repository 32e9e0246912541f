// Every attack of issue 12, tried again as an attacker would, against the all-in-one with the
// real broker (kcat as the outside client, every message signed as producers must sign:
// KAFKA_AUTH=signed, the default) and the real Postgres: each one now fails, and the valid
// events sent after it are stored and decided.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { Consumer } from 'kafkajs';
import { KAFKA_AUTH_HEADER, KafkaSigner } from '@fleetcompat/auth';
import { EventRouting, FleetEvent, Topics } from '@fleetcompat/contract';
import { envelope, SAMPLE_KERNELS, sampleFleet } from '@fleetcompat/sample-fleet';
import { ackEventId } from '../../apps/cli/src/host/state';
import { AppProcess, eventually, http, ROOT, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import {
  brokers,
  createTopics,
  kafkaClient,
  kcatBinary,
  kcatProduceEach,
  kcatProduceSigned,
  uniqueName,
} from '../support/kafka';
import { createTestDatabase, TestDatabase } from '../support/postgres';

const run = (cmd: string, args: string[]) =>
  new Promise<string>((resolve, reject) =>
    execFile(cmd, args, { timeout: 30000 }, (err, out, stderr) =>
      err ? reject(new Error(`${cmd} ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(out),
    ),
  );

const R1 = 'host-r1-01';
const R2 = 'host-r2-01';
const FAR_FUTURE = '9999-12-31T23:59:59-15:00';
const RATE_LIMIT = 300;
const MAX_GUESTS = 20;

describe('hostile and malformed input (issue 12): refused, and nothing stalls', () => {
  const prefix = `${uniqueName('e2e-hostile')}.`;
  const topic = (name: string) => `${prefix}${name}`;
  let db: TestDatabase;
  let app: AppProcess;
  const consumers: Consumer[] = [];
  const decisions: any[] = [];
  const deadLetters: any[] = [];
  const tokens: Record<'r1' | 'r2' | 'ci' | 'rate' | 'lim', string> = { r1: '', r2: '', ci: '', rate: '', lim: '' };
  const t0 = Date.now() - 120_000;
  let tick = 0;
  /** A time after the sample fleet's and every earlier call's, before now. */
  const at = () => new Date(t0 + ++tick * 10).toISOString();
  let n = 0;
  const id = (what: string) => `e2e-hostile-${what}-${++n}`;

  const post = (token: string, body: unknown) => http(`${app.url}/v1/events`, { method: 'POST', body, token });
  const get = (path: string) => http(`${app.url}${path}`, { token: TEST_ADMIN_TOKEN });
  const observed = (
    hostId: string,
    guestId: string,
    extra: Partial<{ occurredAt: string; eventId: string; mode: string; method: string; kernel: string }> = {},
  ): FleetEvent => ({
    ...envelope(extra.eventId ?? id('obs'), 'GuestObserved', extra.occurredAt ?? at(), `agent/${hostId}`, {
      guestId,
      hostId,
      mode: (extra.mode ?? 'pvh') as 'pvh',
      memoryMiB: 1024,
      boot: {
        method: (extra.method ?? 'direct') as 'direct',
        kernelSha256: extra.kernel ?? SAMPLE_KERNELS.linux61.sha,
      },
    }),
  });
  /** Produces events with kcat on their own topics and keys (or `on` another topic), each signed with `token` (null: unsigned). */
  const kcat = async (
    token: string | null,
    events: (FleetEvent | { raw: string; type: FleetEvent['type']; data: any })[],
    on?: string,
  ) => {
    for (const e of events) {
      const route = EventRouting[e.type];
      await kcatProduceSigned(
        topic(on ?? route.topic),
        [{ key: route.key(e.data), value: 'raw' in e ? e.raw : JSON.stringify(e) }],
        token,
      );
    }
  };
  const letter = (eventId: string) =>
    eventually(`the dead letter of ${eventId}`, async () => deadLetters.find((l) => l.eventId === eventId), 60000);
  const decided = (guestId: string, hostId: string, check: (d: any) => boolean = () => true) =>
    eventually(
      `a decision for ${guestId} on ${hostId}`,
      async () => [...decisions].reverse().find((d) => d.guestId === guestId && d.hostId === hostId && check(d)),
      60000,
    );
  const placement = async (hostId: string, guestId: string) =>
    ((await get(`/v1/hosts/${hostId}/placements`)).body.placements as any[]).find((p) => p.guestId === guestId);

  beforeAll(async () => {
    db = await createTestDatabase('e2e_hostile');
    await createTopics(Object.values(Topics).map(topic), 3);
    app = await startApp('all-in-one', {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers().join(','),
      FLEETCOMPAT_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: uniqueName('e2e-hostile-ingest'),
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
      // longer than the test: a revocation must apply because the ingest hears of it, not because a lookup expired
      KAFKA_AUTH_CACHE_SECONDS: '600',
      EVENTS_RATE_LIMIT: String(RATE_LIMIT),
      EVENTS_RATE_WINDOW_SECONDS: '4',
      MAX_GUESTS_PER_HOST: String(MAX_GUESTS),
    });
    await app.ready(120000);
    for (const [name, into] of [
      [Topics.placementDecisions, decisions],
      [Topics.deadLetters, deadLetters],
    ] as const) {
      const c = kafkaClient().consumer({ groupId: uniqueName('e2e-hostile-reader'), maxWaitTimeInMs: 100 });
      await c.connect();
      await c.subscribe({ topic: topic(name), fromBeginning: true });
      await c.run({ eachMessage: async ({ message }) => void into.push(JSON.parse(message.value!.toString())) });
      consumers.push(c);
    }
    for (const [who, role] of [
      ['r1', `host:${R1}`],
      ['r2', `host:${R2}`],
      ['ci', 'ci'],
      ['rate', 'ci'],
      ['lim', 'host:host-lim'],
    ] as const) {
      const r = await http(`${app.url}/v1/tokens`, {
        method: 'POST',
        body: { role, name: `e2e ${who}` },
        token: TEST_ADMIN_TOKEN,
      });
      expect(r.status).toBe(201);
      tokens[who] = r.body.token;
    }
    expect((await post(TEST_ADMIN_TOKEN, sampleFleet())).status).toBe(202);
    await decided(`${R2}.db-old-grub`, R2, (d) => d.hypervisorVersion === '4.17.3');
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
    await app?.stop();
    if (process.env.E2E_LOGS) console.error(app?.log().slice(-8000));
    await db?.drop();
  });

  afterEach(async () => {
    // never stuck: the service stays ready, nothing is waiting behind a poison event
    const ready = await http(`${app.url}/health/ready`);
    expect(ready.status).toBe(200);
  });

  it('1. a far-future occurredAt with -15:00: HTTP 400 invalid-time, Kafka dead letter invalid-time; the events after it are stored and decided', async () => {
    const guest = `${R1}.future`;
    const bad = observed(R1, guest, { occurredAt: FAR_FUTURE });
    const r = await post(tokens.r1, bad);
    expect(r.status).toBe(400);
    expect(r.type).toMatch(/application\/problem\+json/);
    expect(r.body.errors).toEqual([
      expect.objectContaining({
        code: 'invalid-time',
        eventId: bad.eventId,
        message: expect.stringMatching(/offset beyond ±14:00/),
      }),
    ]);
    const ack = envelope(id('ack'), 'PlacementApplied', FAR_FUTURE, R1, {
      hostId: R1,
      guestId: `${R1}.web-old-direct`,
      decisionId: 'x#1',
    });
    expect((await post(tokens.r1, ack)).body.errors[0].code).toBe('invalid-time');
    // offset fine, instant far ahead
    expect(
      (await post(tokens.r1, observed(R1, guest, { occurredAt: '9999-12-31T23:59:59+14:00' }))).body.errors[0].code,
    ).toBe('invalid-time');

    // Kafka: the same, signed by the host; then a valid event on the same key (same partition)
    const badK = observed(R1, guest, { occurredAt: FAR_FUTURE });
    await kcat(tokens.r1, [badK, observed(R1, guest)]);
    expect((await letter(badK.eventId)).error).toMatchObject({
      code: 'invalid-time',
      message: expect.stringMatching(/occurredAt/),
    });
    expect(await decided(guest, R1)).toMatchObject({ type: 'PlacementDecided', hypervisorVersion: '4.11.0' });
    // and over HTTP
    expect((await post(tokens.r1, observed(R1, `${guest}-http`))).status).toBe(202);
    await decided(`${guest}-http`, R1);
    expect((await get('/v1/admin/set-aside')).body.items).toEqual([]);
  });

  it('2. NUL in a guestId via kcat is dead-lettered and the partition goes on; NUL, a lone surrogate, year 0000, 200,000 nested arrays over HTTP: 400 problem details, never 500', async () => {
    const target = await placement(R1, `${R1}.api-new-direct`);
    const nul = envelope(id('nul'), 'PlacementApplied', at(), R1, {
      hostId: R1,
      guestId: `${R1}.api-new-direct\u0000x`,
      decisionId: target.decision.decisionId,
    });
    const good = envelope(id('ack'), 'PlacementApplied', at(), R1, {
      hostId: R1,
      guestId: `${R1}.api-new-direct`,
      decisionId: target.decision.decisionId,
    });
    await kcat(tokens.r1, [nul, good]); // same key (hostId): same partition
    expect((await letter(nul.eventId)).error).toMatchObject({
      code: 'invalid-string',
      message: expect.stringMatching(/NUL/),
    });
    await eventually(
      'the acknowledgement behind the NUL stored and shown',
      async () =>
        (await get(`/v1/guests/${R1}.api-new-direct?hostId=${R1}`)).body.acknowledged?.decisionId ===
        target.decision.decisionId,
    );

    const problems: [string, string | object, string][] = [
      ['NUL', { ...observed(R1, `${R1}.nul\u0000`) }, 'invalid-events'],
      [
        'lone surrogate',
        JSON.stringify(observed(R1, `${R1}.SURROGATE`)).replace('SURROGATE', '\\ud800'),
        'invalid-events',
      ],
      ['year 0000', { ...observed(R1, `${R1}.y0`), occurredAt: '0000-01-01T00:00:00Z' }, 'invalid-events'],
      [
        '200,000 nested arrays',
        `{"eventId":"deep","type":"GuestObserved","schemaVersion":1,"occurredAt":"${at()}","source":"x","data":${'['.repeat(200_000)}${']'.repeat(200_000)}}`,
        'too-deep',
      ],
    ];
    for (const [what, body, code] of problems) {
      const res = await post(tokens.r1, body);
      expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status: 400, code });
      expect(res.type).toMatch(/application\/problem\+json/);
    }
    // bytes that are not UTF-8: refused, not stored with U+FFFD in their place
    const bytes = Buffer.concat([
      Buffer.from(JSON.stringify(observed(R1, `${R1}.BYTES`)).split('BYTES')[0]),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(JSON.stringify(observed(R1, `${R1}.BYTES`)).split('BYTES')[1]),
    ]);
    const notUtf8 = await fetch(`${app.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.r1}` },
      body: bytes,
    });
    expect({ status: notUtf8.status, body: await notUtf8.json() }).toMatchObject({
      status: 400,
      body: { code: 'invalid-json', detail: 'the request body is not valid UTF-8' },
    });
    const codes = async (body: unknown) => (await post(tokens.r1, body)).body.errors.map((e: any) => e.code);
    expect(await codes(observed(R1, `${R1}.nul\u0000`))).toEqual(['invalid-string']);
    expect(await codes({ ...observed(R1, `${R1}.y0`), occurredAt: '0000-01-01T00:00:00Z' })).toEqual(['invalid-time']);
    expect((await post(tokens.r1, observed(R1, `${R1}.after-bad-bodies`))).status).toBe(202);
    await decided(`${R1}.after-bad-bodies`, R1);
  });

  it("3. a host cannot take another host's guest: host-r2-01's view and decision stay, the guest shows reportedBy both, and host-r2-01's later observation takes effect", async () => {
    const guest = `${R2}.db-old-grub`;
    const before = await placement(R2, guest);
    expect(before.decision).toMatchObject({ hostId: R2, rsdp: 'high', action: 'blocked' });
    // naming the other host: 403; a far-future time: 400
    const forbidden = await post(tokens.r1, observed(R2, guest));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.refusals[0].reason).toMatch(/of host host-r1-01 only, not of host-r2-01/);
    expect((await post(tokens.r1, observed(R1, guest, { occurredAt: FAR_FUTURE }))).status).toBe(400);
    // naming its own host, at a present time: stored, but it is host-r1-01's own view only
    expect((await post(tokens.r1, observed(R1, guest, { mode: 'hvm' }))).status).toBe(202);
    expect(await decided(guest, R1)).toMatchObject({ rsdp: 'not-applicable' });
    const view = await get(`/v1/guests/${guest}?hostId=${R2}`);
    expect(view.body.reportedBy.sort()).toEqual([R1, R2]);
    expect(view.body.flags).toEqual(['reported-by-several-hosts']);
    expect(view.body.decision).toEqual(before.decision);
    expect((await placement(R2, guest)).decision).toEqual(before.decision);
    expect(decisions.filter((d) => d.guestId === guest && d.hostId === R2 && d.type === 'PlacementWithdrawn')).toEqual(
      [],
    );
    // host-r2-01's own later observation still counts: a newer kernel, booted directly
    expect((await post(tokens.r2, observed(R2, guest, { kernel: SAMPLE_KERNELS.linux61.sha }))).status).toBe(202);
    expect(await decided(guest, R2, (d) => d.kernelSha256 === SAMPLE_KERNELS.linux61.sha)).toMatchObject({
      action: 'none',
      hostId: R2,
      hypervisorVersion: '4.17.3',
    });
    expect((await get(`/v1/guests/${guest}?hostId=${R1}`)).body.decision).toMatchObject({
      hostId: R1,
      rsdp: 'not-applicable',
    });
  });

  it("3b. a host cannot pre-claim a guest id: the real host's reports are decided", async () => {
    const guest = `${R2}.not-yet-created`;
    expect((await post(tokens.r1, observed(R1, guest, { mode: 'pv' }))).status).toBe(202);
    await decided(guest, R1);
    expect(
      (
        await post(
          tokens.r1,
          envelope(id('rm'), 'GuestRemoved', at(), R1, { guestId: `${R2}.web-old-direct`, hostId: R1 }),
        )
      ).status,
    ).toBe(202);
    expect((await post(tokens.r2, observed(R2, guest))).status).toBe(202);
    expect(await decided(guest, R2)).toMatchObject({ hostId: R2, type: 'PlacementDecided' });
    expect((await placement(R2, guest)).decision.hostId).toBe(R2);
    expect((await placement(R2, `${R2}.web-old-direct`))?.decision).toBeTruthy(); // another host's removal took nothing away
    expect((await get(`/v1/guests/${guest}?hostId=${R2}`)).body.reportedBy.sort()).toEqual([R1, R2]);
  });

  it('4. operator and upgrade events on fleet.placement-acks.v1 are dead-lettered wrong-topic, whoever signs them', async () => {
    const declared = envelope(id('decl'), 'HypervisorBehaviourDeclared', at(), 'operator', {
      version: '4.17.3',
      behaviour: 'always-low',
    });
    const cancelled = envelope(id('cancel'), 'HypervisorUpgradeCancelled', at(), 'orchestrator', {
      hostId: R2,
      reason: 'hijack',
    });
    const byHost = { ...cancelled, eventId: id('cancel') };
    await kcat(TEST_ADMIN_TOKEN, [declared, cancelled], Topics.placementAcks);
    await kcat(tokens.r1, [byHost], Topics.placementAcks);
    for (const e of [declared, cancelled, byHost])
      expect((await letter(e.eventId)).error).toMatchObject({
        code: 'wrong-topic',
        message: expect.stringMatching(/belongs on .*fleet\.(operator-declarations|hypervisor-upgrades)\.v1/),
      });
    // nothing applied: host-r2-01 still plans 4.17.3; a valid ack after them on the acks topic is stored
    expect((await get(`/v1/hosts/${R2}`)).body.plannedUpgrade).toMatchObject({ toVersion: '4.17.3' });
    const p = await placement(R2, `${R2}.cache-new-grub`);
    const ack = envelope(ackEventId(R2, p.decision.decisionId), 'PlacementApplied', at(), R2, {
      hostId: R2,
      guestId: p.guestId,
      decisionId: p.decision.decisionId,
    });
    await kcat(tokens.r2, [ack]);
    await eventually(
      'host-r2-01 acknowledgement stored',
      async () =>
        (await get(`/v1/guests/${p.guestId}?hostId=${R2}`)).body.acknowledged?.decisionId === p.decision.decisionId,
    );
  });

  it('4c. an operator with kcat: the value in a file, the header from `fleetcompat kafka sign`; stored with an admin token, forbidden with a host token', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fc-hostile-'));
    const t = topic(Topics.operatorDeclarations);
    const produceFile = async (token: string, e: FleetEvent) => {
      const file = path.join(dir, `${e.eventId}.json`);
      writeFileSync(file, JSON.stringify(e) + '\n'); // kcat sends the file as it is, newline included
      const key = EventRouting[e.type].key(e.data);
      const sig = (
        await run(process.execPath, [
          path.join(ROOT, 'dist/apps/cli/src/main.js'),
          'kafka',
          'sign',
          '--topic',
          t,
          '--key',
          key,
          '--value-file',
          file,
          '--token',
          token,
        ])
      ).trim();
      await run(kcatBinary(), [
        '-P',
        '-b',
        brokers().join(','),
        '-t',
        t,
        '-k',
        key,
        '-H',
        `${KAFKA_AUTH_HEADER}=${sig}`,
        file,
      ]);
    };
    const byAdmin = envelope(id('os'), 'GuestOsDeclared', at(), 'operator', {
      guestOs: 'HaikuOS',
      copesWithHighRsdp: true,
    });
    const byHost = envelope(id('os'), 'GuestOsDeclared', at(), 'operator', {
      guestOs: 'HaikuOS',
      copesWithHighRsdp: false,
    });
    await produceFile(TEST_ADMIN_TOKEN, byAdmin);
    await produceFile(tokens.r1, byHost);
    expect((await letter(byHost.eventId)).error).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/a host may write/),
    });
    const sql = new Client({ connectionString: db.url });
    await sql.connect();
    try {
      await eventually(
        'the declaration stored',
        async () => (await sql.query('SELECT 1 FROM events WHERE event_id = $1', [byAdmin.eventId])).rowCount === 1,
      );
    } finally {
      await sql.end();
    }
  });

  it("4b. a producer without host-r2-01's credential cannot change host-r2-01's guests, acks or upgrades over Kafka", async () => {
    const victim = `${R2}.web-old-direct`;
    const p = await placement(R2, victim);
    const removal = () => envelope(id('rm'), 'GuestRemoved', at(), R2, { guestId: victim, hostId: R2 });
    const unsigned = removal();
    const otherHost = removal();
    const otherHostAck = envelope(id('ack'), 'PlacementApplied', at(), R1, {
      hostId: R2,
      guestId: victim,
      decisionId: p.decision.decisionId,
    });
    const otherHostCancel = envelope(id('cancel'), 'HypervisorUpgradeCancelled', at(), R1, {
      hostId: R2,
      reason: 'hijack',
    });
    const ciRollback = envelope(id('reg'), 'HostRegistered', at(), 'ci', {
      hostId: R2,
      hypervisor: { name: 'xen', version: '4.10.4' },
      rsdpOverrideSupported: false,
    });
    await kcat(null, [unsigned]);
    await kcat(tokens.r1, [otherHost, otherHostAck, otherHostCancel]);
    await kcat(tokens.ci, [ciRollback]);
    // a valid signature of host-r2-01 lifted onto another value; a key id no token has
    const inventory = topic(Topics.guestInventory);
    const harmless = JSON.stringify(observed(R2, `${R2}.harmless`));
    const lifted = removal();
    const forged = removal();
    await kcatProduceEach(inventory, [
      {
        key: victim,
        value: JSON.stringify(lifted),
        headers: { [KAFKA_AUTH_HEADER]: new KafkaSigner(tokens.r2).headerValue(inventory, victim, harmless)! },
      },
      {
        key: victim,
        value: JSON.stringify(forged),
        headers: {
          [KAFKA_AUTH_HEADER]: new KafkaSigner('fct_made-up-token').headerValue(
            inventory,
            victim,
            JSON.stringify(forged),
          )!,
        },
      },
    ]);
    // a token of host-r2-01 that is revoked after its first use: the ingest hears of it (NOTIFY), its lookups are 600 s old at most
    const old = await http(`${app.url}/v1/tokens`, {
      method: 'POST',
      body: { role: `host:${R2}`, name: 'to revoke' },
      token: TEST_ADMIN_TOKEN,
    });
    await kcat(old.body.token, [observed(R2, `${R2}.revoke-probe`)]);
    await decided(`${R2}.revoke-probe`, R2);
    expect(
      (await http(`${app.url}/v1/tokens/${old.body.id}`, { method: 'DELETE', token: TEST_ADMIN_TOKEN })).status,
    ).toBe(204);
    await new Promise((r) => setTimeout(r, 250)); // the notification's way to the ingest's LISTEN (milliseconds)
    const revoked = removal();
    await kcat(old.body.token, [revoked]);

    const expected: [FleetEvent, string, RegExp][] = [
      [unsigned, 'unauthenticated', /unsigned/],
      [otherHost, 'forbidden', /role host:host-r1-01 may write events of host host-r1-01 only, not of host-r2-01/],
      [otherHostAck, 'forbidden', /not of host-r2-01/],
      [
        otherHostCancel,
        'forbidden',
        /a host may write HostRegistered, GuestObserved, GuestRemoved and PlacementApplied only/,
      ],
      [ciRollback, 'forbidden', /role ci may write KernelBuildCompleted and KernelBuildRevoked only/],
      [lifted, 'unauthenticated', /signature does not match/],
      [forged, 'unauthenticated', /unknown or revoked/],
      [revoked, 'unauthenticated', /unknown or revoked/],
    ];
    for (const [e, code, why] of expected)
      expect((await letter(e.eventId)).error).toMatchObject({ code, message: expect.stringMatching(why) });
    // host-r2-01 is as it was: the guest present with its decision, not acknowledged by anyone, the upgrade planned, the version kept
    expect((await placement(R2, victim)).decision).toEqual(p.decision);
    expect((await get(`/v1/guests/${victim}?hostId=${R2}`)).body.acknowledged).toBeNull();
    const host = (await get(`/v1/hosts/${R2}`)).body;
    expect(host.plannedUpgrade).toMatchObject({ toVersion: '4.17.3' });
    expect(host.hypervisor.version).toBe('4.10.4');
    expect(decisions.filter((d) => d.guestId === victim && d.type === 'PlacementWithdrawn')).toEqual([]);
    // host-r2-01's own signed removal, after all of that, is applied
    await kcat(tokens.r2, [removal()]);
    expect(await decided(victim, R2, (d) => d.type === 'PlacementWithdrawn')).toMatchObject({ hostId: R2 });
  });

  it('5. a squatted eventId is a conflict (HTTP 409, dead letter conflict), never a silent duplicate; the events after it are stored', async () => {
    const sha = createHash('sha256').update('e2e-squatted-kernel').digest('hex');
    const cliId = `kernel-build-completed-${sha}`; // what `fleetcompat kernel publish` derives
    expect((await post(tokens.r1, observed(R1, `${R1}.squatter`, { eventId: cliId }))).status).toBe(202);
    const build = (eventId: string) =>
      envelope(eventId, 'KernelBuildCompleted', at(), 'ci', {
        imageSha256: sha,
        release: '6.12.0-e2e',
        arch: 'x86_64',
        xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: true, phys32Entry: '0x1000000' },
      });
    const http409 = await post(tokens.ci, build(cliId));
    expect(http409.status).toBe(409);
    expect(http409.body.code).toBe('conflict');
    expect(JSON.stringify(http409.body.conflicts)).toContain(cliId);
    await kcat(tokens.ci, [build(cliId)]);
    expect((await letter(cliId)).error).toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/already stored with other content/),
    });
    // the documented ack id of another host
    const p = await placement(R2, `${R2}.api-new-direct`);
    const ackId = ackEventId(R2, p.decision.decisionId);
    expect((await post(tokens.r1, observed(R1, `${R1}.ack-squatter`, { eventId: ackId }))).status).toBe(202);
    const realAck = envelope(ackId, 'PlacementApplied', at(), R2, {
      hostId: R2,
      guestId: p.guestId,
      decisionId: p.decision.decisionId,
    });
    expect((await post(tokens.r2, realAck)).status).toBe(409);
    await kcat(tokens.r2, [realAck]);
    await eventually('the conflict dead letter of the ack', async () =>
      deadLetters.some((l) => l.eventId === ackId && l.error.code === 'conflict'),
    );
    // after them: the build under another id, and a guest booting it, decided with the kernel known
    await kcat(tokens.ci, [build(`${cliId}-again`)]);
    const guest = `${R1}.boots-squatted-kernel`;
    expect((await post(tokens.r1, observed(R1, guest, { kernel: sha }))).status).toBe(202);
    await eventually(
      'the guest decided with the build known',
      async () => (await get(`/v1/guests/${guest}?hostId=${R1}`)).body.explanation?.facts?.kernelKnown === true,
      60000,
    );
  });

  it('6. limits: events per token (429), labels, string lengths, what-if target.version (400), guests per host (set aside)', async () => {
    const builds = (k: number, from: number) =>
      Array.from({ length: k }, (_, i) =>
        envelope(id('rate'), 'KernelBuildRevoked', at(), 'ci', {
          imageSha256: createHash('sha256')
            .update(`rate-${from + i}`)
            .digest('hex'),
          reason: 'rate test',
        }),
      );
    expect((await post(tokens.rate, builds(RATE_LIMIT - 10, 0))).status).toBe(202);
    const limited = await post(tokens.rate, builds(11, 1000));
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'rate-limited', limit: RATE_LIMIT });
    const wait = Number(limited.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    // another token is not held up meanwhile
    expect((await post(tokens.r1, observed(R1, `${R1}.during-rate`))).status).toBe(202);
    await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    expect((await post(tokens.rate, builds(11, 1000))).status).toBe(202);

    const labels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v']));
    const tooMany = await post(
      tokens.r1,
      envelope(id('reg'), 'HostRegistered', at(), R1, {
        hostId: R1,
        hypervisor: { name: 'xen', version: '4.10.4' },
        rsdpOverrideSupported: false,
        labels,
      }),
    );
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors[0]).toMatchObject({
      code: 'invalid-data',
      message: expect.stringMatching(/at most 64 labels/),
    });
    const longValue = await post(
      tokens.r1,
      envelope(id('reg'), 'HostRegistered', at(), R1, {
        hostId: R1,
        hypervisor: { name: 'xen', version: '4.10.4' },
        rsdpOverrideSupported: false,
        labels: { rack: 'x'.repeat(257) },
      }),
    );
    expect(longValue.body.errors[0].code).toBe('invalid-data');
    expect((await post(tokens.r1, observed(R1, `${R1}.${'g'.repeat(300)}`))).body.errors[0].code).toBe('invalid-data');
    const whatIf = await http(`${app.url}/v1/what-if`, {
      method: 'POST',
      token: TEST_ADMIN_TOKEN,
      body: { hosts: { ids: [R1] }, target: { version: `4.17.3-${'x'.repeat(60)}` }, guests: 'none' },
    });
    expect(whatIf.status).toBe(400);
    expect(whatIf.type).toMatch(/application\/problem\+json/);
    expect(JSON.stringify(whatIf.body)).toMatch(/target\.version/);

    // guests per host: the observation past MAX_GUESTS_PER_HOST is set aside, visible, the others decided
    const lim = 'host-lim';
    expect(
      (
        await post(
          tokens.lim,
          envelope(id('reg'), 'HostRegistered', at(), lim, {
            hostId: lim,
            hypervisor: { name: 'xen', version: '4.17.3' },
            rsdpOverrideSupported: true,
          }),
        )
      ).status,
    ).toBe(202);
    const many = Array.from({ length: MAX_GUESTS + 1 }, (_, i) =>
      observed(lim, `${lim}.g${String(i).padStart(2, '0')}`),
    );
    expect((await post(tokens.lim, many)).status).toBe(202);
    const aside = await eventually('the guest past the limit set aside', async () =>
      ((await get('/v1/admin/set-aside')).body.items as any[]).find((i) => i.eventId === many[MAX_GUESTS].eventId),
    );
    expect(aside).toMatchObject({ type: 'GuestObserved', reason: expect.stringMatching(/guests/) });
    await eventually(
      '20 decided',
      async () => ((await get(`/v1/hosts/${lim}/placements`)).body.placements as any[]).length === MAX_GUESTS,
    );
    // and the projector went on: a later event of another host is decided
    expect((await post(tokens.r1, observed(R1, `${R1}.after-limits`))).status).toBe(202);
    await decided(`${R1}.after-limits`, R1);
    expect((await get('/health/ready')).status).toBe(200);
  });
});
