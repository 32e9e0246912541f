// The whole pipeline on the real broker and real Postgres, with every role as its own
// process: kcat (an outside client) produces the events, the ingest, projector, relay and api
// processes run as built, and the test reads fleet.placement-decisions.v1 as a host would.
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Consumer } from 'kafkajs';
import { Client } from 'pg';
import { EventRouting, FleetEvent, InputTopics, Topics } from '@fleetcompat/contract';
import { shardsBehind } from '@fleetcompat/projections';
import { envelope, SAMPLE_KERNELS, sampleFleet } from '@fleetcompat/sample-fleet';
import {
  AppProcess,
  eventually,
  http as rawHttp,
  rawGet as rawHttpGet,
  startApp,
  TEST_ADMIN_TOKEN,
} from '../support/apps';
import { brokers, createTopics, kafkaClient, kcatProduceSigned, uniqueName } from '../support/kafka';
import { createTestDatabase, TestDatabase } from '../support/postgres';

/** Every call here is an admin's (the bootstrap token); test/e2e/auth.e2e.spec.ts tries the other roles. */
const http = (url: string, init: { method?: string; body?: unknown } = {}) =>
  rawHttp(url, { ...init, token: TEST_ADMIN_TOKEN });

interface Received {
  partition: number;
  offset: number;
  key: string | null;
  value: any;
}

/** Produces the messages with kcat, each signed with the admin token (the ingest runs with KAFKA_AUTH=signed, the default). */
function kcat(topic: string, lines: { key: string; value: string }[]): Promise<void> {
  return kcatProduceSigned(topic, lines, TEST_ADMIN_TOKEN);
}

describe('pipeline end to end (kcat -> ingest -> store -> projector -> outbox -> relay -> placement topic)', () => {
  const prefix = `${uniqueName('e2e')}.`;
  const topic = (name: string) => `${prefix}${name}`;
  let db: TestDatabase;
  let apps: AppProcess[] = [];
  let api: AppProcess;
  const consumers: Consumer[] = [];
  const decisions: Received[] = [];
  const deadLetters: Received[] = [];
  let t = 0;
  let env: Record<string, string>;
  const later = () => new Date(Date.parse('2026-11-22T00:00:00Z') + ++t * 1000).toISOString();

  async function send(events: FleetEvent[]) {
    const byTopic = new Map<string, { key: string; value: string }[]>();
    for (const e of events) {
      const route = EventRouting[e.type];
      const list = byTopic.get(route.topic) ?? [];
      list.push({ key: route.key(e.data), value: JSON.stringify(e) });
      byTopic.set(route.topic, list);
    }
    await Promise.all([...byTopic].map(([name, lines]) => kcat(topic(name), lines)));
  }

  async function record(name: string, into: Received[]) {
    const consumer = kafkaClient().consumer({ groupId: uniqueName('e2e-reader'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: topic(name), fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        into.push({
          partition,
          offset: Number(message.offset),
          key: message.key?.toString() ?? null,
          value: JSON.parse(message.value!.toString()),
        });
      },
    });
    consumers.push(consumer);
  }

  /** True once the group's committed offsets reach the end of every input topic. */
  async function consumedToEnd(groupId: string): Promise<boolean> {
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      for (const name of InputTopics) {
        const ends = await admin.fetchTopicOffsets(topic(name));
        const [committed] = await admin.fetchOffsets({ groupId, topics: [topic(name)] });
        for (const end of ends) {
          const c = committed.partitions.find((p) => p.partition === end.partition);
          if (Number(end.high) > 0 && Number(c?.offset ?? -1) < Number(end.high)) return false;
        }
      }
      return true;
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * True once everything sent is stored, projected and relayed: the ingest group at the end of
   * every input topic, every projector shard's checkpoint at the head of the store, the outbox empty.
   */
  async function settled(): Promise<boolean> {
    if (!(await consumedToEnd(env.KAFKA_GROUP_ID))) return false;
    const c = new Client({ connectionString: db.url });
    await c.connect();
    try {
      // every projector shard of the layout in force at the head
      const shards = await shardsBehind({ query: async (sql, params) => (await c.query(sql, params)).rows as never });
      const { rows } = await c.query<{ outbox: number }>(`SELECT count(*)::int AS outbox FROM outbox`);
      return shards.every((s) => s.behind === 0) && rows[0].outbox === 0;
    } finally {
      await c.end();
    }
  }

  const lastFor = (guestId: string) => [...decisions].reverse().find((d) => d.value.guestId === guestId)?.value;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_pipeline');
    await createTopics([...Object.values(Topics)].map(topic), 3);
    env = {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers().join(','),
      FLEETCOMPAT_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: uniqueName('e2e-ingest'),
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
    };
    // The api first: it runs the migrations; the others wait on the same advisory lock anyway.
    api = await startApp('api', env).then((a) => a.ready());
    apps = await Promise.all(
      (['ingest', 'projector', 'relay'] as const).map((role) =>
        startApp(role, { ...env, LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'log' }).then((a) => a.ready()),
      ),
    );
    apps.push(api);
    await record(Topics.placementDecisions, decisions);
    await record(Topics.deadLetters, deadLetters);
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect().catch(() => undefined)));
    await Promise.all(apps.map((a) => a.stop()));
    for (const a of apps)
      if (process.env.E2E_LOGS || (a.exit && a.exit.code !== 0 && a.exit.signal !== 'SIGTERM'))
        console.error(`${a.role} exited ${JSON.stringify(a.exit)}:\n${a.log().slice(-4000)}`);
    if (process.env.E2E_KEEP) console.error(`kept database ${db.url} and topics ${prefix}*`);
    else await db?.drop();
  });

  it('decides every guest of the sample fleet, on the topic and over HTTP alike', async () => {
    await send(sampleFleet());
    const guestIds = sampleFleet()
      .filter((e) => e.type === 'GuestObserved')
      .map((e) => (e.data as any).guestId as string);
    expect(guestIds).toHaveLength(36);
    const expected: [string, object][] = [
      ['host-r1-01.web-old-direct', { rsdp: 'low', action: 'none', hypervisorVersion: '4.11.0' }],
      ['host-r1-01.db-old-grub', { rsdp: 'high', action: 'blocked', reason: 'high-rsdp-without-override' }],
      ['host-r1-01.api-new-direct', { rsdp: 'high', action: 'none' }],
      ['host-r1-01.batch-custom', { rsdp: 'low', action: 'none' }],
      ['host-r1-01.legacy-49', { rsdp: 'not-applicable', action: 'blocked' }],
      ['host-r1-01.win-hvm', { rsdp: 'not-applicable', action: 'none' }],
      ['host-r1-02.db-old-grub', { rsdp: 'low', action: 'override-low', hypervisorVersion: '4.17.3' }],
      ['host-r2-01.db-old-grub', { rsdp: 'high', action: 'blocked', hypervisorVersion: '4.17.3' }],
      ['host-r2-02.db-old-grub', { rsdp: 'low', action: 'override-low', hypervisorVersion: '4.17.3' }],
      ['host-r2-02.fw-freebsd', { rsdp: 'high', action: 'none' }],
    ];
    // Events on different topics arrive in any relative order; wait for the final state: all of
    // it stored, projected and relayed, every guest decided, each expected decision reached.
    const reached = (guestId: string, e: object) => {
      const d = lastFor(guestId) as Record<string, unknown> | undefined;
      return d !== undefined && Object.entries(e).every(([k, v]) => d[k] === v);
    };
    await eventually(
      'final decisions for the sample fleet',
      async () =>
        (await settled()) &&
        guestIds.every((g) => lastFor(g) !== undefined) &&
        expected.every(([g, e]) => reached(g, e)),
      60000,
    );
    for (const [guestId, e] of expected) expect(lastFor(guestId)).toMatchObject(e);

    // The topic and the HTTP API agree, for every guest of every host.
    await eventually('HTTP placements equal the last decision on the topic', async () => {
      for (const hostId of ['host-r1-01', 'host-r1-02', 'host-r2-01', 'host-r2-02']) {
        const res = await http(`${api.url}/v1/hosts/${hostId}/placements`);
        if (res.status !== 200 || res.body.placements.length !== 9) return false;
        for (const p of res.body.placements)
          if (JSON.stringify(p.decision) !== JSON.stringify(lastFor(p.guestId))) return false;
      }
      return true;
    });
  });

  it('sends placements gzip-compressed to clients that accept gzip, as JSON to the others, under one tag', async () => {
    const url = `${api.url}/v1/hosts/host-r1-01/placements`;
    const rawGet = (u: string, headers: Record<string, string>) =>
      rawHttpGet(u, { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...headers });
    const plain = await rawGet(url, {});
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const json = plain.body.toString('utf8');
    expect(JSON.parse(json).placements).toHaveLength(9);
    const etag = String(plain.headers.etag);
    // Accept-Encoding as clients write it: codings with and without q, upper case, wildcards, gzip refused
    const coding = fc.constantFrom('gzip', 'GZIP', 'x-gzip', 'deflate', 'br', 'identity', '*', 'zstd');
    const q = fc.constantFrom('', ';q=0', ';q=0.5', ';q=1', ';q=0.001');
    const header = fc
      .array(
        fc.tuple(coding, q).map(([c, w]) => c + w),
        { maxLength: 4 },
      )
      .map((l) => l.join(', '));
    await fc.assert(
      fc.asyncProperty(header, fc.boolean(), async (acceptEncoding, conditional) => {
        const res = await rawGet(url, {
          'accept-encoding': acceptEncoding,
          ...(conditional ? { 'if-none-match': etag } : {}),
        });
        expect(String(res.headers.vary)).toMatch(/accept-encoding/i);
        expect(res.headers.etag).toBe(etag);
        if (conditional) return expect(res.status).toBe(304);
        expect(res.status).toBe(200);
        expect([undefined, 'gzip']).toContain(res.headers['content-encoding']);
        const gzipped = res.headers['content-encoding'] === 'gzip';
        expect((gzipped ? gunzipSync(res.body) : res.body).toString('utf8')).toBe(json);
        // gzip only to a client that accepts it: named (any case) or by *, with a q above 0
        const accepted = acceptEncoding
          .split(',')
          .map((t) => t.trim().toLowerCase())
          .some((t) => /^(gzip|\*)(;q=(1|0\.5|0\.001))?$/.test(t));
        if (!accepted) expect(gzipped).toBe(false);
        if (acceptEncoding.trim().toLowerCase() === 'gzip') expect(gzipped).toBe(true);
      }),
      { numRuns: 60 },
    );
    // what the host agent and the browser send
    expect((await rawGet(url, { 'accept-encoding': 'gzip, deflate' })).headers['content-encoding']).toBe('gzip');
  });

  it('publishes keyed by host, with per-guest sequences strictly increasing in partition order', () => {
    const seen = new Map<string, number>();
    for (const d of [...decisions].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
      expect(d.key).toBe(d.value.hostId);
      expect(d.value.sequence).toBeGreaterThan(seen.get(d.value.guestId) ?? 0);
      seen.set(d.value.guestId, d.value.sequence);
    }
  });

  it('the same events delivered again change nothing', async () => {
    const before = decisions.length;
    await send(sampleFleet());
    await eventually('the ingest group to consume the redelivered events', () => consumedToEnd(env.KAFKA_GROUP_ID));
    // A sentinel stored after the redelivery: once its decision is out, everything stored before it was projected and relayed.
    const sentinel = envelope('e2e-sentinel-1', 'GuestObserved', later(), 'e2e', {
      guestId: 'sentinel-1',
      hostId: 'host-r2-02',
      mode: 'hvm',
      memoryMiB: 64,
      boot: { method: 'direct' },
    });
    expect((await http(`${api.url}/v1/events`, { method: 'POST', body: sentinel })).status).toBe(202);
    await eventually('the sentinel decision', async () => lastFor('sentinel-1'));
    expect(decisions.slice(before).map((d) => d.value.guestId)).toEqual(['sentinel-1']);
  });

  it('a poison message goes to the dead-letter topic with its reason, and the events behind it are still processed', async () => {
    const inventory = topic(Topics.guestInventory);
    const valid = envelope('e2e-after-poison', 'GuestObserved', later(), 'e2e', {
      guestId: 'after-poison',
      hostId: 'host-r1-02',
      mode: 'pvh',
      memoryMiB: 512,
      boot: { method: 'direct', kernelSha256: SAMPLE_KERNELS.linux61.sha },
    });
    await kcat(inventory, [
      { key: 'after-poison', value: '{"eventId": "broken-1", not json' },
      { key: 'after-poison', value: JSON.stringify({ ...valid, eventId: 'poison-type', type: 'GuestTeleported' }) },
      {
        key: 'after-poison',
        value: JSON.stringify({ ...valid, eventId: 'poison-data', data: { ...valid.data, mode: 'xen' } }),
      },
      {
        key: 'after-poison',
        value: JSON.stringify({ ...valid, eventId: 'poison-big', source: 'x'.repeat(300 * 1024) }),
      },
      { key: 'after-poison', value: JSON.stringify(valid) },
    ]);
    await eventually('the decision of the valid event behind the poison', async () => lastFor('after-poison'));
    expect(lastFor('after-poison')).toMatchObject({ hostId: 'host-r1-02', rsdp: 'high', action: 'none' });
    await eventually('four dead letters', async () => deadLetters.length >= 4);
    const letters = deadLetters.map((d) => d.value);
    expect(letters.map((l) => l.error.code).sort()).toEqual([
      'invalid-data',
      'invalid-json',
      'oversize',
      'unknown-type',
    ]);
    for (const l of letters) {
      expect(l).toMatchObject({ topic: inventory, key: 'after-poison' });
      expect(typeof l.error.message).toBe('string');
      expect(l.offset).toEqual(expect.any(String));
    }
    expect(letters.find((l) => l.error.code === 'invalid-data').error.message).toMatch(/mode/);
  });

  it('a kernel announced after its guests changes their decisions', async () => {
    const sha = 'f'.repeat(63) + '1';
    await send([
      envelope('e2e-late-guest', 'GuestObserved', later(), 'e2e', {
        guestId: 'late-kernel-guest',
        hostId: 'host-r2-01',
        mode: 'pvh',
        memoryMiB: 2048,
        boot: { method: 'pvh-grub', kernelSha256: sha },
      }),
    ]);
    await eventually('the unknown-kernel decision', async () => lastFor('late-kernel-guest'));
    expect(lastFor('late-kernel-guest')).toMatchObject({ rsdp: 'high', action: 'blocked' });
    expect((await http(`${api.url}/v1/guests/late-kernel-guest`)).body.status).toBe('blocked');
    await send([
      envelope('e2e-late-kernel', 'KernelBuildCompleted', later(), 'ci', {
        imageSha256: sha,
        release: '6.12.0-cloud-amd64',
        arch: 'x86_64',
        xenNotes: { guestOs: 'linux', supportedFeatures: 0x8801, pvh: true },
      }),
    ]);
    await eventually(
      'the decision after the kernel was announced',
      async () => lastFor('late-kernel-guest')?.action === 'none',
    );
    expect(lastFor('late-kernel-guest')).toMatchObject({
      rsdp: 'high',
      action: 'none',
      reason: 'kernel-handles-high-rsdp',
      kernelSha256: sha,
    });
    expect((await http(`${api.url}/v1/guests/late-kernel-guest`)).body.status).toBe('ok');
  });

  it('an upgrade cancelled restores the decisions for the current version', async () => {
    expect(lastFor('host-r2-01.db-old-grub')).toMatchObject({ hypervisorVersion: '4.17.3', action: 'blocked' });
    await send([
      envelope('e2e-cancel', 'HypervisorUpgradeCancelled', later(), 'orchestrator', {
        hostId: 'host-r2-01',
        reason: 'freeze',
      }),
    ]);
    await eventually(
      'decisions back on 4.10.4',
      async () => lastFor('host-r2-01.db-old-grub')?.hypervisorVersion === '4.10.4',
    );
    expect(lastFor('host-r2-01.db-old-grub')).toMatchObject({ rsdp: 'low', action: 'none' });
    expect(lastFor('host-r2-01.web-old-direct')).toMatchObject({ hypervisorVersion: '4.10.4', rsdp: 'low' });
    const host = await http(`${api.url}/v1/hosts/host-r2-01`);
    expect(host.body.plannedUpgrade).toBeNull();
  });

  it('acknowledgements from a host on the acks topic show in its readiness', async () => {
    const placements = (await http(`${api.url}/v1/hosts/host-r1-01/placements`)).body.placements as any[];
    await send(
      placements.map((p, i) =>
        envelope(`e2e-ack-${i}`, 'PlacementApplied', later(), 'host-r1-01', {
          hostId: 'host-r1-01',
          guestId: p.guestId,
          decisionId: p.decision.decisionId,
        }),
      ),
    );
    const host = await eventually('acks in readiness', async () => {
      const res = await http(`${api.url}/v1/hosts/host-r1-01`);
      return res.body.readiness.acknowledged === placements.length ? res.body : undefined;
    });
    // host-r1-01 has blocked guests (an old Linux behind pvh-grub without override, a non-PVH kernel): not ready
    expect(host.readiness).toMatchObject({ guests: placements.length, acknowledged: placements.length, ready: false });
    expect(host.readiness.blocked).toBeGreaterThan(0);
  });
});
