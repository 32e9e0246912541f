// The ingest against the real broker and the real event store: what one careless or hostile
// message does to its partition (nothing: it is dead-lettered with its reason, the valid
// events behind it are stored).
import { DataSource } from 'typeorm';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { consumeAll, createTopics, produce, uniqueName } from '../../../test/support/kafka';
import { hostRegistered, inventoryTopic, testServer, waitFor } from '../test/support';
import { KafkaDeadLetter } from './ingest-batch-handler';
import { KafkaIngestServer } from './kafka-ingest-server';

describe('ingest of hostile messages (real broker, real store)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;
  const servers: KafkaIngestServer[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('ingest_hostile');
    ds = await openDatabase({ url: db.url });
    store = new PostgresEventStore(ds);
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await ds?.destroy();
    await db?.drop();
  });

  const storedIds = async (): Promise<string[]> =>
    (await ds.query(`SELECT event_id FROM events ORDER BY global_position`)).map(
      (r: { event_id: string }) => r.event_id,
    );

  it('an event Postgres refuses is found by splitting its chunk and dead-lettered (unstorable); the events around it are stored and the partition goes on', async () => {
    // a rule of the database that refuses one event as data (SQLSTATE 23514, as Postgres refuses bytes it cannot take)
    await ds.query(`ALTER TABLE events ADD CONSTRAINT test_refuses_poison CHECK (event_id NOT LIKE 'refused-%')`);
    try {
      const input = inventoryTopic();
      const dlq = uniqueName('ih.dlq');
      await createTopics([input, dlq], 1);
      const ids = ['u1', 'u2', 'refused-3', 'u4', 'u5', 'u6', 'refused-7', 'u8'];
      await produce(
        input,
        ids.map((id) => ({ key: 'h', value: hostRegistered(id) })),
      );
      const server = testServer({
        groupId: uniqueName('ih.group'),
        topics: [input],
        deadLetterTopic: dlq,
        sink: store,
        maxBatch: 8,
      });
      servers.push(server);
      await server.start();
      await waitFor(
        'the six valid events stored',
        async () => (await storedIds()).filter((id) => id.startsWith('u')).length === 6,
        30000,
      );
      const letters = (await consumeAll(dlq, { until: (m) => m.length >= 2, timeoutMs: 20000 })).map(
        (m) => JSON.parse(m.value!) as KafkaDeadLetter,
      );
      expect(letters.map((l) => [l.offset, l.eventId, l.error.code])).toEqual([
        ['2', 'refused-3', 'unstorable'],
        ['6', 'refused-7', 'unstorable'],
      ]);
      expect(letters[0].error.message).toContain('23514');
      expect(await storedIds()).toEqual(['u1', 'u2', 'u4', 'u5', 'u6', 'u8']);
      // the partition is not stuck: what comes next is stored too
      await produce(input, [{ key: 'h', value: hostRegistered('u9') }]);
      await waitFor('u9 stored', async () => (await storedIds()).includes('u9'), 20000);
      expect(server.stalledPartitions(0)).toEqual([]);
    } finally {
      await ds.query(`ALTER TABLE events DROP CONSTRAINT test_refuses_poison`);
    }
  });

  it('an eventId already stored with other content is dead-lettered as a conflict; the same event again is a plain duplicate', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('ih.dlq');
    await createTopics([input, dlq], 1);
    const original = hostRegistered('c1', 'host-a');
    const squatter = hostRegistered('c1', 'host-b');
    await produce(input, [
      { key: 'h', value: original },
      { key: 'h', value: squatter },
      { key: 'h', value: original },
      { key: 'h', value: hostRegistered('c2') },
    ]);
    const server = testServer({ groupId: uniqueName('ih.group'), topics: [input], deadLetterTopic: dlq, sink: store });
    servers.push(server);
    await server.start();
    await waitFor('c2 stored', async () => (await storedIds()).includes('c2'), 30000);
    const letters = (await consumeAll(dlq, { until: (m) => m.length >= 1, timeoutMs: 20000 })).map(
      (m) => JSON.parse(m.value!) as KafkaDeadLetter,
    );
    expect(letters.map((l) => [l.offset, l.eventId, l.error.code])).toEqual([['1', 'c1', 'conflict']]);
    const [row] = await ds.query(`SELECT data->>'hostId' AS host FROM events WHERE event_id = 'c1'`);
    expect(row.host).toBe('host-a');
  });

  it('values Postgres cannot take and times no producer can have are dead-lettered before the store; the events behind them are stored', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('ih.dlq');
    await createTopics([input, dlq], 1);
    const base = JSON.parse(hostRegistered('x'));
    const bad = [
      JSON.stringify({ ...base, eventId: 'nul', data: { ...base.data, hostId: 'h\u0000' } }),
      JSON.stringify({ ...base, eventId: 'far', occurredAt: '9999-12-31T23:59:59-15:00' }),
      JSON.stringify({ ...base, eventId: 'year0', occurredAt: '0000-01-01T00:00:00Z' }),
      JSON.stringify({ ...base, eventId: 'sur', data: { ...base.data, hostId: 'h\ud800' } }),
      `{"eventId":"deep","x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
    ];
    await produce(input, [...bad.map((value) => ({ key: 'h', value })), { key: 'h', value: hostRegistered('after') }]);
    const server = testServer({ groupId: uniqueName('ih.group'), topics: [input], deadLetterTopic: dlq, sink: store });
    servers.push(server);
    await server.start();
    await waitFor('the event after them stored', async () => (await storedIds()).includes('after'), 30000);
    const letters = (await consumeAll(dlq, { until: (m) => m.length >= 5, timeoutMs: 20000 })).map(
      (m) => JSON.parse(m.value!) as KafkaDeadLetter,
    );
    expect(letters.map((l) => l.error.code)).toEqual([
      'invalid-string',
      'invalid-time',
      'invalid-time',
      'invalid-string',
      'too-deep',
    ]);
    expect(await storedIds()).not.toEqual(expect.arrayContaining(['nul', 'far', 'year0', 'sur', 'deep']));
  });
});
