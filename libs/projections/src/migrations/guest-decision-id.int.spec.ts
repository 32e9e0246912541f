import { DataSource, MigrationInterface } from 'typeorm';
import { eventStoreMigrations } from '@fleetcompat/event-store';
import { createTestDatabase, TestDatabase } from '../../../../test/support/postgres';
import { CreateProjections1764000100000 } from './1764000100000-create-projections';
import { NotifyOutbox1764000100001 } from './1764000100001-notify-outbox';
import { projectionMigrations } from './index';

/** A database of the first release (guests holding a copy of their decision), migrated to the current shape. */
describe('migration GuestDecisionId: guests point at their decision by id', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('proj_migration');
  });
  afterAll(async () => {
    await db?.drop();
  });

  async function open(migrations: (new () => MigrationInterface)[]): Promise<DataSource> {
    const ds = new DataSource({ type: 'postgres', url: db.url, migrations, logging: false });
    await ds.initialize();
    await ds.runMigrations({ transaction: 'each' });
    return ds;
  }

  it('keeps each guest its current decision, and the read side shows it', async () => {
    const v1 = await open([...eventStoreMigrations, CreateProjections1764000100000, NotifyOutbox1764000100001]);
    const message = {
      type: 'PlacementDecided',
      decisionId: 'g1#2',
      hostId: 'h1',
      guestId: 'g1',
      sequence: 2,
      hypervisorVersion: '4.17.3',
      rsdp: 'low',
      action: 'none',
      reason: 'toolstack-places-low',
      costs: [],
      policyVersion: 1,
      decidedAt: '2026-11-25T00:00:00.000Z',
      facts: {},
    };
    const causedBy = { eventId: 'e2', type: 'HostRegistered', globalPosition: '2' };
    await v1.query(
      `INSERT INTO projection.decisions (decision_id, guest_id, host_id, sequence, kind, message, caused_by, detail, decided_at) VALUES
         ('g1#1', 'g1', 'h1', 1, 'decided', $1, $2, '{"status":"ok","flags":[],"explanation":["old"]}', now()),
         ('g1#2', 'g1', 'h1', 2, 'decided', $3, $2, '{"status":"ok","flags":["f"],"explanation":["why"]}', now())`,
      [{ ...message, decisionId: 'g1#1', sequence: 1 }, causedBy, message],
    );
    const guest = `'h1', true, 'pvh', 1024, 'direct', NULL, NULL, now(), 'ok', 'low'`;
    await v1.query(
      `INSERT INTO projection.guests (guest_id, host_id, present, mode, memory_mib, boot_method, kernel_sha256, bootloader_sha256, observed_at, status, need, sequence, decision, last_event_id) VALUES
         ('g1', ${guest}, 2, $1, 'e2'),
         ('g2', ${guest}, 0, NULL, 'e3')`,
      [{ message, status: 'ok', need: 'low', flags: ['f'], explanation: ['why'], causedBy }],
    );
    await v1.destroy();

    // up to this migration and the next (FactsInAnyOrder empties the rows: see reproject.int.spec.ts)
    const current = await open([...eventStoreMigrations, ...projectionMigrations.slice(0, 5)]);
    try {
      expect(await current.query(`SELECT guest_id, decision_id FROM projection.guests ORDER BY guest_id`)).toEqual([
        { guest_id: 'g1', decision_id: 'g1#2' },
        { guest_id: 'g2', decision_id: null },
      ]);
      const columns = (
        await current.query(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = 'projection' AND table_name = 'guests'`,
        )
      ).map((r: any) => r.column_name);
      expect(columns).not.toContain('decision');
      // what the read side of that release joined: the guest's current decision, by id
      const joined = await current.query(
        `SELECT g.guest_id, d.message, d.detail, d.caused_by FROM projection.guests g LEFT JOIN projection.decisions d ON d.decision_id = g.decision_id ORDER BY g.guest_id`,
      );
      expect(joined).toEqual([
        { guest_id: 'g1', message, detail: { status: 'ok', flags: ['f'], explanation: ['why'] }, caused_by: causedBy },
        { guest_id: 'g2', message: null, detail: null, caused_by: null },
      ]);
    } finally {
      await current.destroy();
    }
  });
});
