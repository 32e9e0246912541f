import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MicroserviceOptions } from '@nestjs/microservices';
import { Topics } from '@fleetcompat/contract';
import { consumeAll, createTopics, kafkaClient, produce, uniqueName } from '../../../test/support/kafka';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { hostRegistered, inventoryTopic, poison, StoreSink, TestStore, testServer, waitFor } from '../test/support';
import { KafkaDeadLetter } from './ingest-batch-handler';
import { KafkaIngestServer } from './kafka-ingest-server';

jest.setTimeout(60000);

/** Committed offsets of a group on a topic, by partition (-1: none). */
async function committed(groupId: string, topic: string): Promise<Record<number, string>> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Object.fromEntries(t.partitions.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** The end offset (high watermark) of each partition. */
async function ends(topic: string): Promise<Record<number, string>> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return Object.fromEntries(offsets.map((p) => [p.partition, p.high]));
  } finally {
    await admin.disconnect();
  }
}

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

describe('KafkaIngestServer (real broker, real event store)', () => {
  const servers: KafkaIngestServer[] = [];
  const stores: TestStore[] = [];
  const started = async (s: KafkaIngestServer) => {
    servers.push(s);
    await new Promise<void>((resolve, reject) => {
      void s.listen((err?: unknown) =>
        err ? reject(err instanceof Error ? err : new Error('listen failed', { cause: err })) : resolve(),
      );
    });
    return s;
  };
  /** A database of this test's own, and a sink storing into it with the real event store. */
  const database = async (name: string): Promise<TestStore> => {
    const db = await TestStore.open(`kafka_ingest_${name}`);
    stores.push(db);
    return db;
  };
  const sinkOn = (db: TestStore) => new StoreSink(new PostgresEventStore(db.ds));
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await Promise.all(stores.splice(0).map((d) => d.close()));
  });

  it('stores valid events, commits their offsets, and a restarted group gets only new messages', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('kb.dlq');
    const groupId = uniqueName('kb.group');
    await createTopics([input], 3);
    await createTopics([dlq], 1);
    await produce(
      input,
      Array.from({ length: 30 }, (_, i) => ({ key: `host-${i % 7}`, value: hostRegistered(`e${i}`) })),
    );

    const db = await database('restart');
    const sink = sinkOn(db);
    const first = await started(testServer({ groupId, topics: [input], deadLetterTopic: dlq, sink, maxBatch: 8 }));
    await waitFor('30 stored events', async () => (await db.count()) === 30);
    const stored = await db.events();
    expect(stored.every((e) => e.origin.channel === 'kafka' && e.origin.topic === input)).toBe(true);
    // Per partition, in offset order.
    for (const p of [0, 1, 2]) {
      const offsets = sink.calls
        .flat()
        .filter((e) => e.origin.partition === p)
        .map((e) => Number(e.origin.offset));
      expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    }
    expect(sink.calls.every((c) => c.length <= 8)).toBe(true);
    await waitFor(
      'offsets committed to the end',
      async () => JSON.stringify(await committed(groupId, input)) === JSON.stringify(await ends(input)),
    );
    expect(first.stats).toMatchObject({ stored: 30, duplicates: 0, deadLettered: 0 });
    await first.close();

    // A new member of the same group: nothing is redelivered, only the new event arrives.
    const sink2 = sinkOn(db);
    await started(testServer({ groupId, topics: [input], deadLetterTopic: dlq, sink: sink2 }));
    await produce(input, [{ key: 'host-new', value: hostRegistered('e-new') }]);
    await waitFor('the new event', () => db.has('e-new'));
    await new Promise((r) => setTimeout(r, 500));
    expect(sink2.calls.flat().map((e) => e.event.eventId)).toEqual(['e-new']);
    expect(await db.count()).toBe(31);
    expect((await ends(dlq))[0]).toBe('0');
  });

  it('dead-letters poison messages with reason and origin, and stores the valid events behind them', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('kb.dlq');
    const groupId = uniqueName('kb.group');
    await createTopics([input, dlq], 1);
    const values = [
      hostRegistered('v1'),
      poison.badJson,
      poison.unknownType(),
      poison.invalidData(),
      poison.oversize(),
      hostRegistered('v2'),
    ];
    await produce(
      input,
      values.map((value, i) => ({ key: `k${i}`, value })),
    );

    const db = await database('poison');
    const server = await started(testServer({ groupId, topics: [input], deadLetterTopic: dlq, sink: sinkOn(db) }));
    await waitFor('v1 and v2 stored', async () => (await db.ids()).join() === 'v1,v2');
    const letters = await consumeAll(dlq, { until: (m) => m.length >= 4, timeoutMs: 15000 });
    expect(letters).toHaveLength(4);
    const parsed = letters.map((m) => JSON.parse(m.value!) as KafkaDeadLetter);
    expect(parsed.map((d) => [d.topic, d.partition, d.offset, d.key, d.error.code, d.eventId])).toEqual([
      [input, 0, '1', 'k1', 'invalid-json', undefined],
      [input, 0, '2', 'k2', 'unknown-type', 'p-unknown'],
      [input, 0, '3', 'k3', 'invalid-data', 'p-invalid'],
      [input, 0, '4', 'k4', 'oversize', undefined],
    ]);
    expect(parsed[0].value).toBe(poison.badJson);
    expect(parsed[1].value).toBe(values[2]);
    // The oversize value is kept, cut to the 256 KiB default.
    expect(parsed[3]).toMatchObject({ valueEncoding: 'utf8', valueTruncated: true });
    expect(values[4].startsWith(parsed[3].value!)).toBe(true);
    expect(Buffer.byteLength(parsed[3].value!)).toBe(256 * 1024);
    expect(letters.map((m) => m.key)).toEqual(['k1', 'k2', 'k3', 'k4']);
    expect(letters[0].headers['fleetcompat-error-code']).toBe('invalid-json');
    expect(parsed.every((d) => !Number.isNaN(Date.parse(d.receivedAt)))).toBe(true);
    await waitFor('offset 6 committed', async () => (await committed(groupId, input))[0] === '6');
    expect(server.stats).toMatchObject({ stored: 2, deadLettered: 4, failures: 0 });
  });

  it('retries a failing sink with backoff until it recovers: all stored, nothing dead-lettered', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('kb.dlq');
    const groupId = uniqueName('kb.group');
    await createTopics([input, dlq], 1);
    await produce(
      input,
      Array.from({ length: 5 }, (_, i) => ({ key: 'h', value: hostRegistered(`f${i}`) })),
    );

    const db = await database('retry');
    const sink = sinkOn(db);
    sink.failTimes = 4;
    const server = await started(testServer({ groupId, topics: [input], deadLetterTopic: dlq, sink }));
    // while the chunk keeps failing, the partition is reported stalled (readiness reads this)
    await waitFor('the partition reported stalled', () => server.stalledPartitions(0).length === 1);
    expect(server.stalledPartitions(0)[0]).toMatchObject({ partition: `${input}[0]`, error: expect.any(String) });
    await waitFor('5 stored after the sink recovered', async () => (await db.count()) === 5);
    expect(await db.ids()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
    expect(server.stalledPartitions(0)).toEqual([]);
    expect(sink.calls.length).toBeGreaterThanOrEqual(5);
    expect(server.stats).toMatchObject({ stored: 5, deadLettered: 0, failures: 4 });
    expect(server.stats.crashes).toBe(0);
    await waitFor('offset 5 committed', async () => (await committed(groupId, input))[0] === '5');
    expect((await ends(dlq))[0]).toBe('0');
  });

  it('keeps its group membership through an outage longer than the session timeout (heartbeats while backing off)', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('kb.dlq');
    const groupId = uniqueName('kb.group');
    await createTopics([input, dlq], 1);
    await produce(input, [hostRegistered('o1'), hostRegistered('o2')]);
    const db = await database('outage');
    const sink = sinkOn(db);
    const downUntil = Date.now() + 8000; // session timeout below is 6 s
    let failedCalls = 0;
    sink.isDown = () => {
      if (Date.now() >= downUntil) return false;
      failedCalls++;
      return true;
    };
    const server = testServer({ groupId, topics: [input], deadLetterTopic: dlq, sink, retryMaxMs: 1000 });
    let joins = 0;
    let heartbeatsWhileDown = 0;
    server.on('consumer.group_join', () => joins++);
    server.on('consumer.heartbeat', () => {
      if (failedCalls > 0 && Date.now() < downUntil) heartbeatsWhileDown++;
    });
    await started(server);
    await waitFor('stored after the outage', async () => (await db.count()) === 2, 20000);
    expect(joins).toBe(1);
    expect(heartbeatsWhileDown).toBeGreaterThanOrEqual(5); // every 300 ms over ~8 s
    expect(server.stats).toMatchObject({ stored: 2, duplicates: 0, crashes: 0 });
    await waitFor('offset 2 committed', async () => (await committed(groupId, input))[0] === '2');
  });

  it('does not commit while the sink is down: a restart redelivers, the sink dedupes', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('kb.dlq');
    const groupId = uniqueName('kb.group');
    await createTopics([input, dlq], 2);
    await produce(
      input,
      Array.from({ length: 12 }, (_, i) => ({ key: `g${i % 4}`, value: hostRegistered(`r${i}`) })),
    );

    // Instance A stores a batch and then "dies" before it can commit, again and again (it is
    // stuck on its first partition: a failing store holds the consumer, it does not skip).
    const db = await database('crash');
    const sinkA = sinkOn(db);
    sinkA.crashAfterStore = true;
    const a = await started(testServer({ groupId, topics: [input], deadLetterTopic: dlq, sink: sinkA }));
    await waitFor('A stored a batch and retried it', async () => (await db.count()) > 0 && sinkA.calls.length >= 3);
    await a.close();
    const storedByA = await db.count();
    expect(new Set(sinkA.calls.map((c) => c.map((e) => e.event.eventId).join()))).toHaveProperty('size', 1);
    expect(Object.values(await committed(groupId, input)).every((o) => o === '-1')).toBe(true);
    expect(a.stats.batches).toBe(0);

    // Instance B, same group, same database (a pool of its own, as another process): everything
    // comes (again) and A's part is deduped by the store.
    const sinkB = new StoreSink(await db.anotherStore());
    const b = await started(testServer({ groupId, topics: [input], deadLetterTopic: dlq, sink: sinkB }));
    await waitFor('B saw all 12', () => sinkB.seen >= 12);
    expect(sinkB.seen).toBe(12);
    expect(sinkB.duplicates).toBe(storedByA);
    expect(sinkB.stored).toBe(12 - storedByA);
    expect(await db.count()).toBe(12);
    expect(b.stats).toMatchObject({ stored: 12 - storedByA, duplicates: storedByA });
    await waitFor(
      'offsets committed to the end',
      async () => JSON.stringify(await committed(groupId, input)) === JSON.stringify(await ends(input)),
    );
  });

  it('retries the dead-letter send until the broker takes it, then commits past the poison message', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('kb.dlq');
    const groupId = uniqueName('kb.group');
    await createTopics([input, dlq], 1);
    await setTopicConfig(dlq, 'max.message.bytes', '100'); // every dead letter is rejected for now
    await produce(input, [hostRegistered('d1'), poison.badJson, hostRegistered('d2')]);

    const db = await database('dlq_retry');
    const sink = sinkOn(db);
    const server = await started(testServer({ groupId, topics: [input], deadLetterTopic: dlq, sink }));
    await waitFor('failed dead-letter sends', () => server.stats.failures >= 2);
    expect(await db.ids()).toEqual(['d1', 'd2']);
    expect(sink.calls).toHaveLength(1); // stored once, not again on each retry
    expect((await committed(groupId, input))[0]).toBe('-1');

    await setTopicConfig(dlq, 'max.message.bytes', '1048588');
    await waitFor('offset 3 committed', async () => (await committed(groupId, input))[0] === '3', 30000);
    const letters = await consumeAll(dlq, { until: (m) => m.length >= 1, timeoutMs: 5000 });
    expect(letters.map((m) => JSON.parse(m.value!).offset)).toEqual(['1']);
    expect(sink.calls).toHaveLength(1);
    expect(server.stats).toMatchObject({ stored: 2, deadLettered: 1 });
  });

  it('runs as a Nest microservice (custom transport strategy)', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('kb.dlq');
    await createTopics([input, dlq], 1);
    @Module({})
    class EmptyModule {}
    const db = await database('nest');
    const strategy = testServer({
      groupId: uniqueName('kb.group'),
      topics: [input],
      deadLetterTopic: dlq,
      sink: sinkOn(db),
    });
    const app = await NestFactory.createMicroservice<MicroserviceOptions>(EmptyModule, { strategy, logger: false });
    await app.listen();
    try {
      await produce(input, [hostRegistered('n1')]);
      await waitFor('n1 stored', () => db.has('n1'));
      expect(strategy.unwrap<{ consumer: unknown }>().consumer).toBeDefined();
    } finally {
      await app.close();
    }
  });

  it('defaults to the contract topics', () => {
    const s = testServer({ groupId: 'g', sink: new StoreSink({ store: () => Promise.reject(new Error('not used')) }) });
    expect((s as any).topics).toContain(Topics.guestInventory);
    expect((s as any).deadLetterTopic).toBe(Topics.deadLetters);
  });
});
