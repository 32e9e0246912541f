// The all-in-one process with KAFKA_BROKERS set: it consumes the input topics and publishes
// decisions itself (ingest, projector and relay in one process).
import { EventRouting, Topics } from '@fleetcompat/contract';
import { sampleFleet } from '@fleetcompat/sample-fleet';
import { AppProcess, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import { brokers, consumeAll, createTopics, produce, uniqueName } from '../support/kafka';
import { createTestDatabase, TestDatabase } from '../support/postgres';

describe('all-in-one with Kafka', () => {
  const prefix = `${uniqueName('e2e-aio')}.`;
  let db: TestDatabase;
  let app: AppProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_aio_kafka');
    await createTopics(
      Object.values(Topics).map((t) => prefix + t),
      3,
    );
  });
  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('consumes the input topics and publishes every guest a decision on the placement topic', async () => {
    const started = await startApp('all-in-one', {
      DATABASE_URL: db.url,
      KAFKA_BROKERS: brokers().join(','),
      FLEETCOMPAT_TOPIC_PREFIX: prefix,
      KAFKA_GROUP_ID: uniqueName('aio'),
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
    }).then((a) => a.ready());
    app = started;
    expect(started.log()).toMatch(/parts: httpApi, projector, relay, ingest/);
    const events = sampleFleet();
    for (const e of events) {
      const route = EventRouting[e.type];
      await produce(prefix + route.topic, [{ key: route.key(e.data), value: JSON.stringify(e) }], {
        token: TEST_ADMIN_TOKEN,
      });
    }
    const guests = new Set(
      events.filter((e) => e.type === 'GuestObserved').map((e) => (e.data as { guestId: string }).guestId),
    );
    // The topics are consumed in any relative order: wait for every guest's decision for its host's final target.
    const target: Record<string, string> = {
      'host-r1-01': '4.11.0',
      'host-r1-02': '4.17.3',
      'host-r2-01': '4.17.3',
      'host-r2-02': '4.17.3',
    };
    const last = new Map<string, any>();
    await consumeAll(prefix + Topics.placementDecisions, {
      timeoutMs: 60000,
      until: (messages) => {
        for (const m of messages) {
          const v = JSON.parse(m.value!);
          last.set(v.guestId, v);
        }
        return [...guests].every((g) => last.get(g)?.hypervisorVersion === target[g.split('.')[0]]);
      },
    });
    expect([...guests].filter((g) => last.get(g)?.hypervisorVersion !== target[g.split('.')[0]])).toEqual([]);
    expect(last.get('host-r1-02.db-old-grub')).toMatchObject({
      rsdp: 'low',
      action: 'override-low',
      hostId: 'host-r1-02',
    });
    expect(last.get('host-r1-01.api-new-direct')).toMatchObject({ rsdp: 'high', action: 'none' });
  });
});
