// The signature check of the ingest (KAFKA_AUTH=signed) on the real broker: headers as kafkajs
// delivers them (Buffers), token lookups that fail for a while (the database away) retried
// like a failed store, nothing committed meanwhile, nothing dead-lettered for it.
import { KafkaKeyring, KafkaKeySource, TokenStore } from '@fleetcompat/auth';
import { consumeAll, createTopics, produce, uniqueName } from '../../../test/support/kafka';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { hostRegistered, inventoryTopic, StoreSink, TestStore, testServer, waitFor } from '../test/support';
import { SignedMessageAuthenticator } from './ingest-auth';
import { KafkaDeadLetter } from './ingest-batch-handler';
import { KafkaIngestServer } from './kafka-ingest-server';

describe('signed messages through the ingest (real broker)', () => {
  let server: KafkaIngestServer | undefined;
  let db: TestStore | undefined;
  afterAll(async () => {
    await server?.close();
    await db?.close();
  });

  it('stores the signed events of the host, dead-letters the others, and retries token lookups that fail', async () => {
    const input = inventoryTopic();
    const dlq = uniqueName('ia.dlq');
    await createTopics([input, dlq], 1);
    db = await TestStore.open('ingest_auth');
    // the real token store: a host token of h1, its signing key looked up by the keyring
    const tokens = new TokenStore(db.ds);
    const { token } = await tokens.create('host:h1');
    let failing = 2;
    let lookups = 0;
    const source: KafkaKeySource = {
      kafkaKeys: async (ids: readonly string[]) => {
        lookups++;
        // the database away for the first two lookups (before the real store is reached)
        if (failing-- > 0) throw new Error('connect ECONNREFUSED 127.0.0.1:5432 (the database is down for this test)');
        return tokens.kafkaKeys(ids);
      },
    };
    await produce(input, [{ key: 'h1', value: hostRegistered('signed-1', 'h1') }], { token });
    await produce(input, [{ key: 'h1', value: hostRegistered('unsigned-2', 'h1') }]);
    await produce(input, [{ key: 'h2', value: hostRegistered('other-host-3', 'h2') }], { token });
    await produce(input, [{ key: 'h1', value: hostRegistered('signed-4', 'h1') }], { token });
    const sink = new StoreSink(new PostgresEventStore(db.ds));
    server = testServer({
      groupId: uniqueName('ia.group'),
      topics: [input],
      deadLetterTopic: dlq,
      sink,
      auth: new SignedMessageAuthenticator(new KafkaKeyring(source)),
    });
    await server.start();
    await waitFor('the two signed events stored', async () => (await db!.count()) >= 2, 60000);
    expect(await db.ids()).toEqual(['signed-1', 'signed-4']);
    const letters = (await consumeAll(dlq, { until: (m) => m.length >= 2, timeoutMs: 20000 })).map(
      (m) => JSON.parse(m.value!) as KafkaDeadLetter,
    );
    expect(letters.map((l) => [l.eventId, l.error.code])).toEqual([
      ['unsigned-2', 'unauthenticated'],
      ['other-host-3', 'forbidden'],
    ]);
    expect(lookups).toBeGreaterThanOrEqual(3); // two failures, then one lookup for the chunk
    expect(server.stats.failures).toBeGreaterThanOrEqual(2);
    expect(server.stalledPartitions(0)).toEqual([]);
  });
});
