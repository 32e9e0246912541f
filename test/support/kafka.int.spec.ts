// Proves the local broker (scripts/kafka/start.sh) works end to end with both clients the
// tests use: the real kcat binary and kafkajs.
import {
  brokers,
  consumeAll,
  createTopics,
  kcatConsume,
  kcatMetadata,
  kcatProduce,
  produce,
  uniqueName,
} from './kafka';

describe('local Kafka broker', () => {
  it('answers a metadata request', async () => {
    const md = await kcatMetadata();
    expect(md.brokers.length).toBeGreaterThanOrEqual(1);
    expect(brokers().length).toBeGreaterThanOrEqual(1);
  });

  it('kcat produces, kafkajs reads from the beginning (keyed, 3 partitions)', async () => {
    const topic = uniqueName('it.kcat-to-kafkajs');
    await createTopics([topic], 3);
    const lines = [1, 2, 3, 4, 5].map((n) => JSON.stringify({ n }));
    await kcatProduce(topic, lines, 'host-1');

    const got = await consumeAll(topic, { until: (m) => m.length >= 5, timeoutMs: 30000 });
    expect(got.map((m) => m.value)).toEqual(lines); // one key -> one partition -> in order
    expect(new Set(got.map((m) => m.key))).toEqual(new Set(['host-1']));
    expect(new Set(got.map((m) => m.partition)).size).toBe(1);
  });

  it('kafkajs produces, kcat reads (auto-created topic gets 3 partitions)', async () => {
    const topic = uniqueName('it.kafkajs-to-kcat');
    await produce(topic, [{ key: 'a', value: 'first' }, { key: 'b', value: 'second' }, 'no-key']);
    const got = await kcatConsume(topic, { count: 3, timeoutMs: 30000 });
    expect(got.map((m) => m.value).sort()).toEqual(['first', 'no-key', 'second']);
    expect(got.find((m) => m.value === 'first')?.key).toBe('a');
    expect(got.find((m) => m.value === 'no-key')?.key).toBeNull();

    const md = await kcatMetadata();
    const t = md.topics.find((x) => x.topic === topic) as unknown as { partitions: unknown[] };
    expect(t.partitions).toHaveLength(3);
  });

  it('consumeAll returns what it read when the predicate never holds', async () => {
    const topic = uniqueName('it.timeout');
    await produce(topic, ['only']);
    const got = await consumeAll(topic, { until: (m) => m.length >= 2, timeoutMs: 4000 });
    expect(got.map((m) => m.value)).toEqual(['only']);
  });
});
