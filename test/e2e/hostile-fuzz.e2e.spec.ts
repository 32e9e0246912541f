// A fuzz run on the real broker (issue 12): the workload of hostile-fuzz.support.ts (10,000
// malformed and hostile messages mixed with a valid fleet on every input topic) against the
// all-in-one with KAFKA_AUTH=signed. Every bad message must be in the dead-letter topic with
// the code its construction calls for, every valid event stored once and decided, no partition
// and no projector batch stuck, nothing set aside, the projections equal to a rebuild.
// FUZZ_SEED picks another workload (a failure prints its seed), FUZZ_BAD another size.
import { Partitioners } from 'kafkajs';
import { DataSource } from 'typeorm';
import { InputTopics, Topics } from '@fleetcompat/contract';
import { openDatabase } from '@fleetcompat/platform';
import { compareProjections, rebuildProjections } from '@fleetcompat/projections';
import { AppProcess, eventually, http, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import { brokers, createTopics, kafkaClient, uniqueName } from '../support/kafka';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { BAD, HOSTS, SEED, sendAll, workload } from './hostile-fuzz.support';

describe('fuzz: 10,000 hostile messages on the real broker', () => {
  const prefix = `${uniqueName('e2e-fuzz')}.`;
  const groupId = uniqueName('e2e-fuzz-ingest');
  let db: TestDatabase;
  let app: AppProcess | undefined;
  let ds: DataSource | undefined;
  const log = (m: string) => process.stderr.write(`[fuzz seed ${SEED}] ${m}\n`);

  beforeAll(async () => {
    db = await createTestDatabase('e2e_fuzz');
    await createTopics(
      Object.values(Topics).map((t) => prefix + t),
      3,
    );
    app = await startApp('all-in-one', {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers().join(','),
      FLEETCOMPAT_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: groupId,
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
    });
    await app.ready(120000);
  });
  afterAll(async () => {
    await ds?.destroy().catch(() => undefined);
    await app?.stop();
    if (process.env.E2E_LOGS) console.error(app?.log().slice(-8000));
    await db?.drop();
  });

  /** The ingest group's committed offsets at the end of every input partition. */
  async function consumedToEnd(): Promise<boolean> {
    const admin = kafkaClient().admin();
    await admin.connect();
    try {
      for (const name of InputTopics) {
        const ends = await admin.fetchTopicOffsets(prefix + name);
        const [committed] = await admin.fetchOffsets({ groupId, topics: [prefix + name] });
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

  async function projectorBehind(): Promise<number> {
    const rows: { n: string }[] = await ds!.query(
      `WITH cp AS (SELECT coalesce((SELECT transaction_id::text FROM processor_checkpoints WHERE processor = 'projector'), '0')::xid8 AS t,
                          coalesce((SELECT global_position FROM processor_checkpoints WHERE processor = 'projector'), 0) AS g)
       SELECT count(*)::text AS n FROM events e, cp WHERE (e.transaction_id, e.global_position) > (cp.t, cp.g)`,
    );
    return Number(rows[0].n);
  }

  /** Consumed to the end, the projector at the head, the outbox empty: nothing stuck. */
  async function drained(what: string): Promise<void> {
    const t = Date.now();
    await eventually(
      `${what}: the ingest at the end of every input partition, the projector at the head, the outbox empty`,
      async () =>
        (await consumedToEnd()) &&
        (await projectorBehind()) === 0 &&
        Number((await ds!.query(`SELECT count(*)::text AS n FROM outbox`))[0].n) === 0,
      240000,
    );
    log(`${what}: drained in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }

  it('dead-letters every bad message with its reason, stores every valid one once and decides it, sticks nowhere, and the projections equal a rebuild', async () => {
    const token = async (role: string) => {
      const res = await http(`${app!.url}/v1/tokens`, {
        method: 'POST',
        body: { role, name: `fuzz ${role}` },
        token: TEST_ADMIN_TOKEN,
      });
      expect(res.status).toBe(201);
      return res.body as { token: string; id: string };
    };
    const hostTokens: string[] = [];
    for (let i = 0; i < HOSTS; i++) hostTokens.push((await token(`host:fz-h${String(i).padStart(2, '0')}`)).token);
    const revoked = await token('host:fz-h00');
    expect(
      (await http(`${app!.url}/v1/tokens/${revoked.id}`, { method: 'DELETE', token: TEST_ADMIN_TOKEN })).status,
    ).toBe(204);
    const w = workload(SEED, prefix, {
      hosts: hostTokens,
      ci: (await token('ci')).token,
      admin: TEST_ADMIN_TOKEN,
      planner: (await token('planner')).token,
      revoked: revoked.token,
    });
    const byCode: Record<string, number> = {};
    for (const b of [...w.bad, ...w.squats]) byCode[b.code] = (byCode[b.code] ?? 0) + 1;
    log(
      `${w.valid.length} valid events (+${w.repeats.length} exact repeats, +${w.late.length} late), ${w.bad.length + w.squats.length} bad: ${JSON.stringify(byCode)}`,
    );
    expect(w.bad.length + w.squats.length).toBe(BAD);
    for (const t of InputTopics) expect(w.valid.filter((v) => v.topic === t).length).toBeGreaterThan(0);

    ds = await openDatabase({ url: db.url, poolSize: 3, migrate: false });
    const producer = kafkaClient().producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const t0 = Date.now();
    try {
      await sendAll(producer, prefix, w.phase1);
      log(`phase 1: ${w.phase1.length} messages produced in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      await drained('phase 1');
      // squats once the ids they take are stored, then valid events behind them
      await sendAll(producer, prefix, [...w.squats, ...w.late]);
      await drained('phase 2');
    } finally {
      await producer.disconnect();
    }

    // 1. every bad message in the dead-letter topic with the code its construction calls for
    const expected = new Map([...w.bad, ...w.squats].map((b) => [b.key, b]));
    const letters = new Map<string, any[]>();
    const consumer = kafkaClient().consumer({
      groupId: uniqueName('e2e-fuzz-dlq'),
      maxWaitTimeInMs: 200,
      maxBytesPerPartition: 8 << 20,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: prefix + Topics.deadLetters, fromBeginning: true });
    let read = 0;
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: async ({ message }) => {
        read++;
        const l = JSON.parse(message.value!.toString());
        letters.set(l.key, [...(letters.get(l.key) ?? []), l]);
        if ([...expected.keys()].length <= letters.size) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((r) => (timer = setTimeout(r, 120000)))]);
    clearTimeout(timer);
    await consumer.disconnect();
    const wrong: string[] = [];
    for (const [key, b] of expected) {
      const got = letters.get(key);
      if (!got) wrong.push(`${key} (${b.what}, ${b.topic}): no dead letter, expected ${b.code}`);
      else if (!got.some((l) => l.error.code === b.code && l.error.message))
        wrong.push(
          `${key} (${b.what}, ${b.topic}): ${got.map((l) => `${l.error.code}: ${l.error.message}`).join(' | ')}, expected ${b.code}`,
        );
    }
    const unexpected = [...letters.keys()].filter((k) => !expected.has(k));
    log(
      `dead letters: ${read} read for ${letters.size} keys; ${wrong.length} bad messages without their dead letter; ${unexpected.length} dead letters of valid messages`,
    );
    expect({ wrong: wrong.slice(0, 20), wrongCount: wrong.length }).toEqual({ wrong: [], wrongCount: 0 });
    expect(unexpected.slice(0, 20)).toEqual([]);
    expect(read).toBe(BAD); // exactly one each: no crash, no redelivery

    // 2. every valid event stored, once; nothing else stored
    const stored: { event_id: string }[] = await ds.query(`SELECT event_id FROM events`);
    const validIds = new Set([...w.valid, ...w.late].map((v) => v.event.eventId));
    const storedIds = new Set(stored.map((s) => s.event_id));
    expect(stored.length).toBe(storedIds.size);
    expect([...validIds].filter((id) => !storedIds.has(id)).slice(0, 20)).toEqual([]);
    expect([...storedIds].filter((id) => !validIds.has(id)).slice(0, 20)).toEqual([]);
    expect(storedIds.size).toBe(validIds.size);

    // 3. decided: every present guest of every host has its current decision, no other guest has one; nothing set aside
    for (const h of w.hosts) {
      const res = await http(`${app!.url}/v1/hosts/${h}/placements`, { token: TEST_ADMIN_TOKEN });
      expect(res.status).toBe(200);
      const got = (res.body.placements as any[]).map((p) => p.guestId).sort();
      expect({ h, guests: got }).toEqual({ h, guests: [...w.present.get(h)!].sort() });
      for (const p of res.body.placements)
        expect(p.decision).toMatchObject({ type: 'PlacementDecided', hostId: h, guestId: p.guestId });
    }
    expect((await http(`${app!.url}/v1/admin/set-aside`, { token: TEST_ADMIN_TOKEN })).body.items).toEqual([]);
    const ready = await http(`${app!.url}/health/ready`);
    expect({ status: ready.status, body: ready.body }).toMatchObject({ status: 200 });

    // 4. the projections equal a rebuild from the store
    await app!.stop();
    const rebuilt = await rebuildProjections(ds, { schema: 'projection_fuzz_rebuild' });
    expect(rebuilt.events).toBe(validIds.size);
    expect(await compareProjections(ds, 'projection', 'projection_fuzz_rebuild')).toEqual([]);
    log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }, 600000);
});
