import fc from 'fast-check';
import { DataSource } from 'typeorm';
import { FleetEvent } from '@fleetcompat/contract';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { eventually } from '@fleetcompat/testing';
import { envelope, sampleFleet } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { Projector } from './projector';
import { compareProjections, rebuildProjections } from './rebuild';
import {
  ownerOfEvent,
  ownerOfEventSql,
  RESET_SHARD_LAYOUT_SQL,
  shardOf,
  shardOfSql,
  shardsBehind,
  ShardLayoutError,
} from './shards';

/**
 * Projector shards over the real store: two shard projectors write the tables one projector
 * writes; a change of shard count goes through the guard and the documented reset.
 */
describe('projector shards on real Postgres', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestDatabase('shards');
    ds = await openDatabase({ url: db.url });
    store = new PostgresEventStore(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('shardOfSql is shardOf, for any text (non-ASCII included) and any count', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('\u0000')),
          { minLength: 1, maxLength: 50 },
        ),
        fc.integer({ min: 1, max: 1000 }),
        async (ids, n) => {
          const rows: { k: number }[] = await ds.query(
            `SELECT ${shardOfSql('id', n)} AS k FROM unnest($1::text[]) WITH ORDINALITY AS t(id, i) ORDER BY i`,
            [ids],
          );
          expect(rows.map((r) => r.k)).toEqual(ids.map((id) => shardOf(id, n)));
        },
      ),
      { numRuns: 60 },
    );
    // ownerOfEvent in SQL, over event rows
    const events = [
      { type: 'GuestObserved', data: { guestId: 'ü-1', hostId: 'h' } },
      { type: 'PlacementApplied', data: { guestId: 'g-2', hostId: 'h', decisionId: 'd' } },
      { type: 'GuestRemoved', data: { guestId: 3, hostId: 'h' } },
      { type: 'HostRegistered', data: { hostId: 'h', guestId: 'g-4' } },
    ];
    const rows: { k: number }[] = await ds.query(
      `SELECT ${ownerOfEventSql('e', 5)} AS k
         FROM (SELECT j->>'type' AS type, j->'data' AS data, i FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(j, i)) e
        ORDER BY e.i`,
      [JSON.stringify(events)],
    );
    expect(rows.map((r) => r.k)).toEqual(events.map((e) => ownerOfEvent(e, 5)));
  });

  const later = (n: number) => new Date(Date.parse('2026-11-22T00:00:00Z') + n * 1000).toISOString();
  /** The sample fleet, then a removal, an ack, an upgrade plan and an event set aside (bad data). */
  async function storeFleet() {
    await store.store(sampleFleet().map((event) => ({ event, origin: { channel: 'http' as const } })));
    const more: FleetEvent[] = [
      envelope('rm-1', 'GuestRemoved', later(1), 'agent', {
        guestId: 'host-r1-01.win-hvm',
        hostId: 'host-r1-01',
      }),
      envelope('plan-1', 'HypervisorUpgradePlanned', later(2), 'planner', {
        hostId: 'host-r1-01',
        fromVersion: '4.11.0',
        toVersion: '4.17.3',
        plannedRebootAt: later(100),
        waveId: 'w-1',
      }),
      envelope('ack-1', 'PlacementApplied', later(3), 'agent', {
        hostId: 'host-r1-01',
        guestId: 'host-r1-01.web-old-direct',
        decisionId: 'host-r1-01.web-old-direct#1',
      }),
    ];
    for (const event of more) await store.store([{ event, origin: { channel: 'http' as const } }]);
    await ds.query(`INSERT INTO streams (stream_id, version) VALUES ('raw-bad', 1)`);
    await ds.query(
      `INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, occurred_at, source, data, origin)
       VALUES ('bad-guest', 'raw-bad', 1, 'GuestObserved', 1, $1, 'raw', $2, '{}')`,
      [later(4), JSON.stringify({ guestId: 'g-bad-ü', hostId: 'host-r1-01', memoryMiB: -5 })],
    );
  }

  async function tables() {
    const rows = (sql: string) => ds.query(sql).then((r: { r: unknown }[]) => r.map((x) => x.r));
    return {
      kernels: await rows(`SELECT to_jsonb(k) AS r FROM projection.kernels k ORDER BY image_sha256`),
      hosts: await rows(`SELECT to_jsonb(h) AS r FROM projection.hosts h ORDER BY host_id`),
      guests: await rows(`SELECT to_jsonb(g) AS r FROM projection.guests g ORDER BY guest_id, host_id`),
      acks: await rows(`SELECT to_jsonb(a) AS r FROM projection.acks a ORDER BY host_id, guest_id`),
      rules: await rows(`SELECT to_jsonb(b) AS r FROM projection.behaviour_rules b ORDER BY key`),
      guestOsRules: await rows(`SELECT to_jsonb(o) AS r FROM projection.guest_os_rules o ORDER BY guest_os`),
      setAside: await rows(`SELECT to_jsonb(s) AS r FROM projection.set_aside s ORDER BY event_id`),
      decisions: await rows(`SELECT to_jsonb(d) AS r FROM projection.decisions d ORDER BY guest_id, sequence`),
      // the outbox in the relay's order, per guest
      outbox: await rows(
        `SELECT jsonb_build_object('key', key, 'value', value, 'headers', headers) AS r FROM outbox_messages
          ORDER BY headers->>'guestId', transaction_id, id`,
      ),
    };
  }

  async function reset() {
    await ds.query(
      `TRUNCATE processor_checkpoints, outbox, projection.kernels, projection.hosts, projection.guests, projection.decisions,
                projection.acks, projection.behaviour_rules, projection.guest_os_rules, projection.set_aside, projection.meta`,
    );
  }

  /** Runs the shards' batches in turn (small batches, so that they interleave) until each is at the head. */
  async function runShards(count: number, batchSize = 7) {
    const shards = Array.from(
      { length: count },
      (_, index) => new Projector(ds, { shard: { index, count }, batchSize, listen: false }),
    );
    for (let round = 0; round < 10_000; round++) {
      const results = await Promise.all(shards.map((p) => p.runOnce()));
      if (results.some((r) => r.events > 0)) continue;
      if ((await shardsBehind(ds, count)).every((s) => s.behind === 0)) break;
      await new Promise((r) => setTimeout(r, 20)); // held back by a transaction open on the server
    }
    return shards;
  }

  it('two shard projectors, batches interleaved, write the tables, decisions and outbox rows one projector writes; a rebuild equals them', async () => {
    await storeFleet();
    await new Projector(ds).catchUp();
    const one = await tables();
    expect(one.setAside).toHaveLength(1);
    expect(one.decisions.length).toBeGreaterThan(10);

    await reset();
    const shards = await runShards(2);
    expect(shards.map((p) => p.processor)).toEqual(['projector:0/2', 'projector:1/2']);
    expect(await tables()).toEqual(one);
    // both shards had guests to decide
    const perShard = [0, 0];
    for (const d of one.decisions as { guest_id: string }[]) perShard[shardOf(d.guest_id, 2)]++;
    expect(perShard.every((n) => n > 0)).toBe(true);
    const rebuilt = await rebuildProjections(ds, { schema: 'shards_rebuild' });
    expect(await compareProjections(ds, 'projection', rebuilt.schema)).toEqual([]);
    // a shard restarted (nothing in memory) reads its part of the tables and its copy of the shared facts from the store
    await store.store([
      {
        event: envelope('plan-2', 'HypervisorUpgradeCancelled', later(10), 'planner', { hostId: 'host-r1-01' }),
        origin: { channel: 'http' },
      },
    ]);
    await runShards(2);
    const restarted = await tables();
    await reset();
    await new Projector(ds).catchUp();
    expect(await tables()).toEqual(restarted);
    // the next test starts from the store projected by 2 shards
    await reset();
    await runShards(2);
  });

  it('a projector of another shard count refuses its batches until the layout is reset; then each new shard re-projects its part, carrying sequences on and publishing nothing unchanged', async () => {
    // the store of the test before, projected by 2 shards
    const before = await tables();
    const one = new Projector(ds, { listen: false });
    await expect(one.runOnce()).rejects.toThrow(ShardLayoutError);
    await expect(one.runOnce()).rejects.toThrow(/written by 2 projector shard\(s\).*shard 0 of 1/);
    const three = new Projector(ds, { shard: { index: 2, count: 3 }, listen: false });
    await expect(three.runOnce()).rejects.toThrow(ShardLayoutError);
    // running, it retries and says why (what readiness reports)
    three.start();
    try {
      await eventually('the layout error', async () => three.layoutError);
    } finally {
      await three.stop();
    }
    expect(three.layoutError?.message).toMatch(/shard 2 of 3: refusing to write.*DELETE FROM projection\.meta/);
    expect(await tables()).toEqual(before);

    // the documented reset (every projector stopped), then 3 shards
    await ds.query(RESET_SHARD_LAYOUT_SQL);
    await runShards(3);
    const after = await tables();
    // the same projection, the same history: no decision changed, none published
    expect(after).toEqual(before);
    expect((await ds.query(`SELECT value FROM projection.meta WHERE key = 'shards'`))[0].value).toBe('3');
    // a new decision after it takes the guest's next sequence
    const [{ top }] = await ds.query(
      `SELECT max(sequence)::int AS top FROM projection.decisions WHERE guest_id = 'host-r1-01.db-old-grub'`,
    );
    await store.store([
      {
        event: envelope('plan-3', 'HypervisorUpgradePlanned', later(20), 'planner', {
          hostId: 'host-r1-01',
          fromVersion: '4.11.0',
          toVersion: '4.17.3',
          plannedRebootAt: later(200),
          waveId: 'w-3',
        }),
        origin: { channel: 'http' },
      },
    ]);
    await runShards(3);
    const [{ next }] = await ds.query(
      `SELECT max(sequence)::int AS next FROM projection.decisions WHERE guest_id = 'host-r1-01.db-old-grub'`,
    );
    expect(next).toBe(top + 1);
    const rebuilt = await rebuildProjections(ds, { schema: 'shards_rebuild' });
    expect(await compareProjections(ds, 'projection', rebuilt.schema)).toEqual([]);
  });

  it('a shard other than 0, started afresh while shard 0 is behind, takes the host facts from the store, not from shard 0`s rows', async () => {
    // layout of the test before: 3 shards, all at the head
    const count = 3;
    const shard = (index: number) => new Projector(ds, { shard: { index, count }, listen: false });
    let n = 0;
    while (shardOf(`late-guest-${n}`, count) !== 2) n++;
    const guestId = `late-guest-${n}`;
    const put = (event: FleetEvent) => store.store([{ event, origin: { channel: 'http' as const } }]);
    // an upgrade that changes decisions on host-r1-02, which only shard 2 applies for now
    await put(
      envelope('plan-r1-02', 'HypervisorUpgradePlanned', later(30), 'planner', {
        hostId: 'host-r1-02',
        fromVersion: '4.17.3',
        toVersion: '4.11.0',
        plannedRebootAt: later(300),
      }),
    );
    await shard(2).catchUp();
    // a new guest of shard 2 on that host, applied by a new instance (nothing in memory)
    await put(
      envelope('obs-late', 'GuestObserved', later(31), 'agent', {
        guestId,
        hostId: 'host-r1-02',
        mode: 'pvh',
        memoryMiB: 2048,
        boot: { method: 'pvh-grub' },
      }),
    );
    await shard(2).catchUp();
    await shard(0).catchUp();
    await shard(1).catchUp();
    const sharded = await tables();
    await reset();
    await new Projector(ds).catchUp();
    expect(sharded).toEqual(await tables());
  });
});
