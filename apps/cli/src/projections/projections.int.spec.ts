import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { Projector } from '@fleetcompat/projections';
import { sampleFleet } from '@fleetcompat/sample-fleet';
import { createTestDatabase } from '../../../../test/support/postgres';
import { run } from '../main';

describe('fleetcompat projections rebuild --verify', () => {
  it('says identical for live projections made from the store, and exits 1 once they differ', async () => {
    const db = await createTestDatabase('cli_rebuild');
    const ds = await openDatabase({ url: db.url });
    try {
      await new PostgresEventStore(ds).store(
        sampleFleet().map((event) => ({ event, origin: { channel: 'http' as const } })),
      );
      await new Projector(ds).catchUp();
      const out: string[] = [];
      const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t), env: {} };
      expect(await run(['projections', 'rebuild', '--verify', '--database-url', db.url], io)).toBe(0);
      expect(out.join('')).toMatch(/rebuilt projection_rebuild from 47 events[\s\S]*identical to the live projections/);

      await ds.query(`UPDATE projection.guests SET status = 'ok' WHERE guest_id = 'host-r1-01.db-old-grub'`);
      out.length = 0;
      expect(await run(['projections', 'rebuild', '--verify', '--database-url', db.url], io)).toBe(1);
      expect(out.join('')).toMatch(/DIFFERENT[\s\S]*host-r1-01\.db-old-grub/);
    } finally {
      await ds.destroy();
      await db.drop();
    }
  });
});
