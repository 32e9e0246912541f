import { DataSource, MigrationInterface } from 'typeorm';
import { eventStoreMigrations, PostgresEventStore, readHead, saveCheckpoint, START } from '@fleetcompat/event-store';
import { Client } from 'pg';
import { POLICY_VERSION } from '@fleetcompat/policy';
import { sampleFleet } from '@fleetcompat/sample-fleet';
import { createTestDatabase, TEST_DATABASE_ADMIN_URL, TestDatabase } from '../../../test/support/postgres';
import { projectionMigrations } from './migrations';
import { Projector } from './projector';
import { ProjectionQueries } from './queries';
import { compareProjections, rebuildProjections } from './rebuild';
import { HELD_BACK_WAIT_MS, HeldBackError, PROJECTION_VERSION } from './reproject';

/**
 * A database of the release before facts in any order (policy 1): its projector had applied
 * the whole store and published decisions. After the upgrade, the projector makes the
 * projection again from the store and publishes every decision that changed, each with the
 * guest's next sequence, so that hosts (which drop what is not higher) take it.
 */
describe('re-projection after an upgrade of the facts or the policy', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('reproject');
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function open(migrations: (new () => MigrationInterface)[]): Promise<DataSource> {
    const ds = new DataSource({ type: 'postgres', url: db.url, migrations, logging: false, extra: { max: 5 } });
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    return ds;
  }

  /**
   * A transaction open on the server (with an id): reads of the store stop below it. It is
   * in another database (xmin is cluster-wide), so that the migrations' concurrent index
   * builds do not wait for it. COMMIT it to let the reads on.
   */
  async function openBlocker(): Promise<Client> {
    const blocker = new Client({ connectionString: TEST_DATABASE_ADMIN_URL });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT pg_current_xact_id()');
    return blocker;
  }

  const guestId = 'host-r1-01.web-old-direct';

  /** The old release's database: the store, one guest's published decision (#5), and `checkpoint`. */
  async function oldRelease(checkpoint: 'head' | 'start'): Promise<void> {
    const old = await open([...eventStoreMigrations, ...projectionMigrations.slice(0, 5)]);
    await new PostgresEventStore(old).store(
      sampleFleet().map((event) => ({ event, origin: { channel: 'http' as const } })),
    );
    // what the old projector left: a decision history (hosts hold its sequences) and its checkpoint
    const oldMessage = {
      type: 'PlacementDecided',
      decisionId: `${guestId}#5`,
      hostId: 'host-r1-01',
      guestId,
      sequence: 5,
      hypervisorVersion: '4.11.0',
      rsdp: 'low',
      action: 'none',
      reason: 'toolstack-places-low',
      costs: [],
      policyVersion: '1',
      decidedAt: '2026-11-25T00:00:00.000Z',
      facts: {},
    };
    await old.query(
      `INSERT INTO projection.decisions (decision_id, guest_id, host_id, sequence, kind, message, caused_by, detail, decided_at)
       VALUES ($1, $2, 'host-r1-01', 5, 'decided', $3, '{}', '{"status":"ok","flags":[],"explanation":[]}', now())`,
      [`${guestId}#5`, guestId, oldMessage],
    );
    // committed: the head of what this test stored, whatever other runs on the server hold open
    // (readHead without it stops below the oldest open transaction: xmin is cluster-wide).
    await saveCheckpoint('projector', checkpoint === 'head' ? await readHead(old, { committed: true }) : START, old);
    await old.destroy();
  }

  /**
   * A fresh database of the old release (`checkpoint`), written while a transaction was open
   * elsewhere (`blocker`, see openBlocker), opened with this release's migrations for `body`.
   */
  async function withOldReleaseHeldBack(
    checkpoint: 'head' | 'start',
    body: (ds: DataSource, blocker: Client) => Promise<void>,
  ): Promise<void> {
    await db.drop();
    db = await createTestDatabase('reproject');
    const blocker = await openBlocker();
    try {
      await oldRelease(checkpoint);
      const ds = await open([...eventStoreMigrations, ...projectionMigrations]);
      try {
        await body(ds, blocker);
      } finally {
        await ds.destroy();
      }
    } finally {
      await blocker.end().catch(() => undefined);
    }
  }

  it('re-decides every guest from the store, carrying each guest its sequence on, and publishes what changed', async () => {
    await oldRelease('head');

    const ds = await open([...eventStoreMigrations, ...projectionMigrations]);
    try {
      const projector = new Projector(ds);
      await projector.catchUp();
      const queries = new ProjectionQueries(ds);
      const found = (await queries.guest(guestId))!;
      expect(found.guest.decision!.message).toMatchObject({
        sequence: 6,
        policyVersion: POLICY_VERSION,
        hypervisorVersion: '4.11.0',
      });
      expect(found.guest.decision!.causedBy).toMatchObject({ type: 'ProjectionVersionChanged' });
      // every present PVH guest of the sample fleet has a decision again, and it is in the outbox
      const undecided = await ds.query(`SELECT guest_id FROM projection.guests WHERE present AND decision_id IS NULL`);
      expect(undecided).toEqual([]);
      const queued = await ds.query(`SELECT count(*)::int AS n FROM outbox`);
      const guests = await ds.query(`SELECT count(*)::int AS n FROM projection.guests WHERE present`);
      expect(queued[0].n).toBe(guests[0].n);
      expect(await ds.query(`SELECT value FROM projection.meta WHERE key = 'version'`)).toEqual([
        { value: PROJECTION_VERSION },
      ]);

      // the facts equal a rebuild's (the decision history keeps what the old release published)
      const rebuilt = await rebuildProjections(ds, { schema: 'reproject_check' });
      const diffs = (await compareProjections(ds, 'projection', rebuilt.schema)).filter(
        (d) => d.table !== 'decisions' && d.table !== 'guests',
      );
      expect(diffs).toEqual([]);

      // a projector started again finds the version in force: nothing more is published
      await new Projector(ds).catchUp();
      expect((await ds.query(`SELECT count(*)::int AS n FROM outbox`))[0].n).toBe(queued[0].n);
    } finally {
      await ds.destroy();
    }
  });

  it('a checkpoint reset to the start, with the store not yet readable, still carries the sequences on', async () => {
    // the transaction open from before the store is written: the projector's first batch sees no event at all
    await withOldReleaseHeldBack('start', async (ds, blocker) => {
      const projector = new Projector(ds);
      const first = await projector.runOnce();
      expect(first.events).toBe(0); // the store was not readable yet
      await blocker.query('COMMIT');
      await projector.catchUp();
      const found = (await new ProjectionQueries(ds).guest(guestId))!;
      // the history's #5 is carried on (the store is then applied event by event, so several
      // decisions may follow): a host that took #5 takes this one
      expect(found.guest.decision!.message).toMatchObject({
        policyVersion: POLICY_VERSION,
        hypervisorVersion: '4.11.0',
      });
      expect(found.guest.decision!.message.sequence).toBeGreaterThan(5);
    });
  });

  it('a checkpoint past what the store lets it read yet (a transaction open elsewhere): the re-projection waits for those events', async () => {
    // reads of the store stop below the transaction, while the old release's checkpoint is the committed head, past it
    await withOldReleaseHeldBack('head', async (ds, blocker) => {
      const batch = new Projector(ds).runOnce();
      const waited = await Promise.race([
        batch.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 500)),
      ]);
      expect(waited).toBe(true); // not re-projected without the events it cannot read yet
      await blocker.query('COMMIT');
      await batch;
      const found = (await new ProjectionQueries(ds).guest(guestId))!;
      expect(found.guest.decision!.message).toMatchObject({ sequence: 6, policyVersion: POLICY_VERSION });
      const undecided = await ds.query(`SELECT guest_id FROM projection.guests WHERE present AND decision_id IS NULL`);
      expect(undecided).toEqual([]);
    });
  });

  it('events held back past HELD_BACK_WAIT_MS: the batch is given up with HeldBackError (nothing saved), and done once they are readable', async () => {
    await withOldReleaseHeldBack('head', async (ds, blocker) => {
      const projector = new Projector(ds);
      const started = Date.now();
      await expect(projector.runOnce()).rejects.toBeInstanceOf(HeldBackError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(HELD_BACK_WAIT_MS);
      // rolled back: the old release's history as it was, nothing queued, the old version in force
      expect(await ds.query(`SELECT sequence FROM projection.decisions WHERE guest_id = $1`, [guestId])).toEqual([
        { sequence: 5 },
      ]);
      expect((await ds.query(`SELECT count(*)::int AS n FROM outbox`))[0].n).toBe(0);
      await blocker.query('COMMIT');
      await projector.runOnce();
      const found = (await new ProjectionQueries(ds).guest(guestId))!;
      expect(found.guest.decision!.message).toMatchObject({ sequence: 6, policyVersion: POLICY_VERSION });
    });
  });
});
