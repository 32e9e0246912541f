import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { createTestDatabase, TestDatabase } from '../../../../test/support/postgres';
import { Projector } from '../projector';
import { compareProjections, rebuildProjections } from '../rebuild';
import { inTimeOrder } from './comparable';
import { FactEvent } from './events';
import { fleetInAnyOrder } from './fleet-arbitrary';

const RUNS = Number(process.env.FC_INT_RUNS ?? 20);

/**
 * The order property over the real store and the live projector: events stored one by one
 * in a generated order, projected in the store's never-skip order, read back from the tables.
 */
describe('facts arrive in any order, over the real store', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('facts_order');
    ds = await openDatabase({ url: db.url });
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  /** The live projection after storing `events` in this order, as a planner reads it (decisions without id, sequence, time). */
  async function projectedFromStore(events: readonly FactEvent[]) {
    await ds.query(
      `TRUNCATE events, streams, processor_checkpoints, outbox, projection.kernels, projection.hosts, projection.guests, projection.decisions,
                projection.acks, projection.behaviour_rules, projection.guest_os_rules`,
    );
    const store = new PostgresEventStore(ds);
    for (const e of events)
      await store.store([{ event: { ...e, schemaVersion: 1, source: 'property' }, origin: { channel: 'http' } }]);
    await new Projector(ds).catchUp();
    const table = (sql: string) => ds.query(sql).then((rows: { r: unknown }[]) => rows.map((x) => x.r));
    return {
      kernels: await table(`SELECT to_jsonb(k) AS r FROM projection.kernels k ORDER BY image_sha256`),
      hosts: await table(`SELECT to_jsonb(h) AS r FROM projection.hosts h ORDER BY host_id`),
      acks: await table(`SELECT to_jsonb(a) AS r FROM projection.acks a ORDER BY host_id, guest_id`),
      rules: await table(`SELECT to_jsonb(b) AS r FROM projection.behaviour_rules b ORDER BY key`),
      guestOsRules: await table(`SELECT to_jsonb(o) AS r FROM projection.guest_os_rules o ORDER BY guest_os`),
      guests: await table(
        `SELECT to_jsonb(g) - 'sequence' - 'decision_id'
                || jsonb_build_object('decision', (d.message::jsonb) - 'decisionId' - 'sequence' - 'decidedAt' - 'facts') AS r
           FROM projection.guests g LEFT JOIN projection.decisions d ON d.decision_id = g.decision_id
          ORDER BY g.guest_id, g.host_id`,
      ),
    };
  }

  it('storing a fleet in any order gives the projection and the decisions that storing it in occurredAt order gives, and a rebuild equals the live projection', async () => {
    await fc.assert(
      fc.asyncProperty(fleetInAnyOrder(40), async ({ stored }) => {
        const reference = await projectedFromStore(inTimeOrder(stored));
        const live = await projectedFromStore(stored);
        expect(live).toEqual(reference);
        const rebuilt = await rebuildProjections(ds, { schema: 'order_rebuild' });
        expect(await compareProjections(ds, 'projection', rebuilt.schema)).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});
