// The fixture of the read queries' int tests (src/read/*.int.spec.ts; not part of the build): a database of
// its own with the migrations run, the given events stored and projected by the real projector.
import { DataSource } from 'typeorm';
import { FleetEvent } from '@fleetcompat/contract';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { createTestDatabase, TestDatabase } from '@fleetcompat/testing';
import { Projector } from '../src/projector';
import { ReadContext, readContext } from '../src/read/context';

export interface ReadFixture {
  readonly ds: DataSource;
  readonly ctx: ReadContext;
  /** Stores the events and waits until the projector has applied every one. */
  put(events: readonly FleetEvent[]): Promise<void>;
  close(): Promise<void>;
}

export async function readFixture(name: string): Promise<ReadFixture> {
  const db: TestDatabase = await createTestDatabase(`read_${name}`);
  const ds = await openDatabase({ url: db.url });
  const store = new PostgresEventStore(ds);
  const projector = new Projector(ds);
  return {
    ds,
    ctx: readContext(ds),
    async put(events) {
      await store.store(events.map((event) => ({ event, origin: { channel: 'http' as const } })));
      // The store shows an event to readers only once no older transaction is open on the
      // server (other tests share it): catch up until nothing is left behind the checkpoint.
      for (let tries = 0; ; tries++) {
        await projector.catchUp();
        const { checkpoint } = await projector.position();
        const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM events WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)`, [
          checkpoint.transactionId,
          checkpoint.globalPosition,
        ]);
        if (n === 0) return;
        if (tries > 600) throw new Error(`${n} events still not projected`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async close() {
      await ds.destroy();
      await db.drop();
    },
  };
}
