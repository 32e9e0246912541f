// Dead letters that are large together: the broker refuses a record batch over its
// message.max.bytes (1 MiB by default) for good, and kafkajs puts one partition's messages of
// a send in one batch. A value of control characters grows sixfold when the letter escapes it
// as JSON (each letter is then cut to 768 KiB): the four or five such values of 200 KB that one
// fetch brings give letters of several MiB on one dead-letter partition, which sent in one
// request would be refused on every retry, and the partition would never move.
import { consumeAll, createTopics, produce, uniqueName } from '../../../test/support/kafka';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { hostRegistered, inventoryTopic, StoreSink, TestStore, testServer, waitFor } from '../test/support';
import { KafkaDeadLetter } from './ingest-batch-handler';
import { KafkaIngestServer } from './kafka-ingest-server';

describe('ingest dead letters larger together than the broker takes in one batch', () => {
  let server: KafkaIngestServer | undefined;
  let db: TestStore | undefined;
  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  it('dead-letters eight 200 KB values of control characters (one key, so one dead-letter partition) and goes on', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('idl.dlq');
    await createTopics([input, dlq], 1);
    // one at a time: the producer of the test is held to the broker's limit as well
    for (let i = 0; i < 8; i++) await produce(input, [{ key: 'same-key', value: Buffer.alloc(200_000, 0x01) }]);
    await produce(input, [{ key: 'same-key', value: hostRegistered('after-the-big-ones') }]);
    db = await TestStore.open('ingest_dead_letters');
    const sink = new StoreSink(new PostgresEventStore(db.ds));
    server = testServer({
      groupId: uniqueName('idl.group'),
      topics: [input],
      deadLetterTopic: dlq,
      sink,
      maxBatch: 100,
    });
    await server.start();
    await waitFor('the event behind them stored', () => db!.has('after-the-big-ones'), 60000);
    expect(await db.ids()).toEqual(['after-the-big-ones']);
    const letters = (await consumeAll(dlq, { until: (m) => m.length >= 8, timeoutMs: 30000 })).map(
      (m) => JSON.parse(m.value!) as KafkaDeadLetter,
    );
    expect(letters.map((l) => [l.offset, l.error.code, l.valueTruncated])).toEqual(
      ['0', '1', '2', '3', '4', '5', '6', '7'].map((o) => [o, 'invalid-json', true]),
    );
    expect(server.stats.failures).toBe(0);
    expect(server.stalledPartitions(0)).toEqual([]);
  });
});
