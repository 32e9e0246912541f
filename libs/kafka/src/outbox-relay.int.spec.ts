import { OutboxMessage, OutboxStore } from '@fleetcompat/contract';
import { OUTBOX_MESSAGES } from '@fleetcompat/projections';
import { consumeAll, createTopics, kafkaClient, uniqueName } from '../../../test/support/kafka';
import { brokers } from '../../../test/support/kafka';
import { TestOutbox, waitFor } from '../test/support';
import { OutboxRelay } from './outbox-relay';

jest.setTimeout(60000);

async function setTopicConfig(topic: string, name: string, value: string): Promise<void> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2 /* TOPIC */, name: topic, configEntries: [{ name, value }] }],
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * The real outbox, whose connection to Postgres is cut (pg_terminate_backend, from another
 * session) right after the broker acknowledged a batch, before the rows are deleted: a relay
 * dying between the send and its commit, `times` times.
 */
class CutAfterSend implements OutboxStore {
  constructor(
    private readonly inner: OutboxStore,
    private readonly test: TestOutbox,
    private times: number,
  ) {}

  publishBatch(limit: number, publish: (messages: readonly OutboxMessage[]) => Promise<void>): Promise<number> {
    return this.inner.publishBatch(limit, async (messages) => {
      await publish(messages);
      if (this.times > 0) {
        this.times--;
        // the session holding the relay's lock is the one publishing
        await this.test.ds.query(
          `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
      }
    });
  }
}

describe('OutboxRelay (real broker, real PostgresOutbox)', () => {
  const relays: OutboxRelay[] = [];
  const outboxes: TestOutbox[] = [];
  const relay = (outbox: OutboxStore, pollIntervalMs = 50) => {
    const r = new OutboxRelay({
      kafka: { brokers: brokers(), clientId: 'relay-int', logLevel: 'error' },
      outbox,
      batchSize: 7,
      maxBatchSize: 14,
      pollIntervalMs,
      retryInitialMs: 50,
      retryMaxMs: 300,
    });
    relays.push(r);
    return r;
  };
  const database = async (name: string) => {
    const o = await TestOutbox.open(`outbox_relay_${name}`);
    outboxes.push(o);
    return o;
  };
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await Promise.all(outboxes.splice(0).map((o) => o.close()));
  });

  it('publishes outbox messages in order per key, with their keys and headers, to their own topics', async () => {
    const decisions = uniqueName('rl.decisions');
    const other = uniqueName('rl.other');
    await createTopics([decisions], 3);
    await createTopics([other], 1);
    const db = await database('order');
    for (let i = 0; i < 40; i++) {
      const hostId = `host-${i % 5}`;
      await db.add(i % 10 === 9 ? other : decisions, hostId, JSON.stringify({ hostId, n: i }), {
        'fleetcompat-id': String(i),
      });
    }
    const r = relay(db.outbox);
    r.start();
    await waitFor('all 40 published', async () => (await db.unpublished()) === 0);
    expect(r.stats).toMatchObject({ published: 40, failures: 0 });
    // 7, then (a full batch: a backlog) 14, 14, and the 5 left
    expect(r.stats.batches).toBe(4);

    const got = await consumeAll(decisions, { until: (m) => m.length >= 36 });
    expect(got).toHaveLength(36);
    const byKey = new Map<string, { n: number; partition: number; header: string }[]>();
    for (const m of got) {
      const v = JSON.parse(m.value!);
      expect(m.key).toBe(v.hostId);
      byKey.set(m.key!, [
        ...(byKey.get(m.key!) ?? []),
        { n: v.n, partition: m.partition, header: m.headers['fleetcompat-id'] },
      ]);
    }
    for (const [, list] of byKey) {
      expect(new Set(list.map((x) => x.partition)).size).toBe(1); // one key, one partition
      expect(list.map((x) => x.n)).toEqual([...list.map((x) => x.n)].sort((a, b) => a - b)); // in outbox order
      expect(list.every((x) => x.header === String(x.n))).toBe(true);
    }
    const others = await consumeAll(other, { until: (m) => m.length >= 4 });
    expect(others.map((m) => JSON.parse(m.value!).n)).toEqual([9, 19, 29, 39]);
  });

  it('when the broker rejects a batch, leaves the rows unmarked and publishes them once it can', async () => {
    const topic = uniqueName('rl.small');
    await createTopics([topic], 1);
    await setTopicConfig(topic, 'max.message.bytes', '200'); // the broker rejects larger batches
    const db = await database('rejected');
    for (let i = 0; i < 3; i++) await db.add(topic, 'k', JSON.stringify({ n: i, pad: 'x'.repeat(300) }));
    const r = relay(db.outbox);
    r.start();
    await waitFor('a few failed attempts', () => r.stats.failures >= 2);
    expect(await db.unpublished()).toBe(3);
    expect(r.stats.published).toBe(0);

    await setTopicConfig(topic, 'max.message.bytes', '1048588');
    await waitFor('the rows published after the fix', async () => (await db.unpublished()) === 0, 30000);
    const got = await consumeAll(topic, { until: (m) => m.length >= 3 });
    expect(got.map((m) => JSON.parse(m.value!).n)).toEqual([0, 1, 2]);
  });

  it('retries when the outbox fails before or after the send: nothing lost (a failed commit republishes)', async () => {
    const topic = uniqueName('rl.retry');
    await createTopics([topic], 1);
    const db = await database('retry');
    for (let i = 0; i < 5; i++) await db.add(topic, 'k', JSON.stringify({ n: i }));
    // Before the send: the view the relay reads is away (a real database error on the read;
    // renaming the table would not do: the view follows it, and only the delete would fail).
    await db.ds.query(`ALTER VIEW ${OUTBOX_MESSAGES} RENAME TO ${OUTBOX_MESSAGES}_away`);
    const r = relay(new CutAfterSend(db.outbox, db, 1));
    r.start();
    await waitFor('failed reads', () => r.stats.failures >= 2);
    expect(r.stats.published).toBe(0);
    await db.ds.query(`ALTER VIEW ${OUTBOX_MESSAGES}_away RENAME TO ${OUTBOX_MESSAGES}`);
    // After the send: the connection is cut before the delete commits; the rows stay and go out again.
    await waitFor('all published', async () => (await db.unpublished()) === 0);
    expect(r.stats.failures).toBeGreaterThanOrEqual(3);
    expect(r.stats.published).toBe(5);
    const got = await consumeAll(topic, { until: (m) => m.length >= 10, timeoutMs: 3000 });
    // The batch whose commit failed went out twice (at least once); order kept each time.
    expect(got.map((m) => JSON.parse(m.value!).n)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  });

  it('two relays at once, each with its own PostgresOutbox on its own pool: every row published once, in order', async () => {
    const topic = uniqueName('rl.two');
    await createTopics([topic], 1);
    const db = await database('two');
    for (let i = 0; i < 60; i++) await db.add(topic, 'k', JSON.stringify({ n: i }));
    const a = relay(db.outbox);
    const b = relay(await db.another());
    a.start();
    b.start();
    await waitFor('all 60 published', async () => (await db.unpublished()) === 0);
    expect(a.stats.published + b.stats.published).toBe(60);
    expect(a.stats.failures + b.stats.failures).toBe(0);
    const got = await consumeAll(topic, { until: (m) => m.length >= 60, timeoutMs: 5000 });
    expect(got.map((m) => JSON.parse(m.value!).n)).toEqual(Array.from({ length: 60 }, (_, i) => i));
  });

  it('notify() wakes an idle relay at once; stop() finishes and disconnects', async () => {
    const topic = uniqueName('rl.notify');
    await createTopics([topic], 1);
    const db = await database('notify');
    const r = relay(db.outbox, 60000);
    await db.add(topic, 'k', '{"n":0}');
    r.start();
    await waitFor('first row (polled at start)', async () => (await db.unpublished()) === 0, 10000);
    await new Promise((res) => setTimeout(res, 200)); // now idle for a minute
    await db.add(topic, 'k', '{"n":1}');
    const t0 = Date.now();
    r.notify();
    await waitFor('second row after notify', async () => (await db.unpublished()) === 0, 5000);
    expect(Date.now() - t0).toBeLessThan(2000);
    await r.stop();
    expect(r.isRunning).toBe(false);
    await db.add(topic, 'k', '{"n":2}');
    r.notify();
    await new Promise((res) => setTimeout(res, 300));
    expect(await db.unpublished()).toBe(1);
  });
});
