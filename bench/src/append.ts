// Event store append: PostgresEventStore beside a plain COPY of the same rows into an
// unindexed table, and beside @event-driven-io/emmett-postgresql on the same server, with the
// same batches. Each contender appends into a database of its own.
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { FleetEvent, IncomingEvent } from '@fleetcompat/contract';
import { copyRows, PostgresEventStore, streamIdOf } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { Pool } from 'pg';
import { createDatabase, dropDatabase, pgClient } from './support';

export interface AppendRun {
  fleetcompat: number;
  copy: number;
  emmett: number;
  /** single-stream batches: PostgresEventStore.append(stream, batch) vs Emmett appendToStream(stream, batch) */
  fleetcompatOneStream: number;
  emmettOneStream: number;
}

const rate = (events: number, ms: number) => Math.round(events / Math.max(0.001, ms / 1000));

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function ours(events: readonly FleetEvent[], batchSize: number, oneStream: boolean): Promise<number> {
  const url = await createDatabase('append_fc');
  const ds = await openDatabase({ url, poolSize: 4 });
  try {
    const store = new PostgresEventStore(ds);
    const input: IncomingEvent[] = events.map((event) => ({ event, origin: { channel: 'http' as const } }));
    const t0 = performance.now();
    let i = 0;
    for (const b of batches(input, batchSize)) {
      if (oneStream) await store.append(`bench-stream-${i++}`, b, { expectedVersion: 'no-stream' });
      else await store.store(b);
    }
    const ms = performance.now() - t0;
    const n = await store.count();
    if (n !== events.length) throw new Error(`fleetcompat stored ${n} of ${events.length}`);
    return rate(events.length, ms);
  } finally {
    await ds.destroy();
    await dropDatabase(url);
  }
}

async function copy(events: readonly FleetEvent[], batchSize: number): Promise<number> {
  const url = await createDatabase('append_copy');
  const c = await pgClient(url);
  try {
    await c.query(`CREATE TABLE events_copy (event_id text, stream_id text, type text, schema_version integer, occurred_at timestamptz,
                   source text, data jsonb, origin jsonb)`);
    const t0 = performance.now();
    for (const b of batches(events, batchSize)) {
      const rows = b.map((e) => [
        e.eventId,
        streamIdOf(e),
        e.type,
        e.schemaVersion,
        e.occurredAt,
        e.source,
        JSON.stringify(e.data),
        '{"channel":"http"}',
      ]);
      await copyRows(
        c,
        'events_copy',
        ['event_id', 'stream_id', 'type', 'schema_version', 'occurred_at', 'source', 'data', 'origin'],
        rows,
      );
    }
    const ms = performance.now() - t0;
    const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM events_copy`);
    if (rows[0].n !== events.length) throw new Error(`COPY stored ${rows[0].n} of ${events.length}`);
    return rate(events.length, ms);
  } finally {
    await c.end();
    await dropDatabase(url);
  }
}

/**
 * Emmett appends to one stream per call. A fleet batch holds many streams (a guest, a host
 * and a kernel are each a stream), so a batch is appended as Emmett allows: one
 * appendToStream per stream of the batch, all of the batch's calls in flight at once (its
 * pool bounds them), the next batch after they all finish.
 */
async function emmett(events: readonly FleetEvent[], batchSize: number, oneStream: boolean): Promise<number> {
  const url = await createDatabase('append_emmett');
  // Our own pool (Emmett's default size), so that it is closed before the database is dropped.
  const pool = new Pool({ connectionString: url, max: 10 });
  pool.on('error', () => undefined);
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true, pool } });
  try {
    await store.schema.migrate();
    const t0 = performance.now();
    let i = 0;
    for (const b of batches(events, batchSize)) {
      if (oneStream) {
        await store.appendToStream(
          `bench-stream-${i++}`,
          b.map((e) => ({ type: e.type, data: e.data, metadata: { eventId: e.eventId } })),
        );
      } else {
        const byStream = new Map<string, FleetEvent[]>();
        for (const e of b) {
          const s = streamIdOf(e);
          const list = byStream.get(s) ?? [];
          list.push(e);
          byStream.set(s, list);
        }
        await Promise.all(
          [...byStream].map(([stream, list]) =>
            store.appendToStream(
              stream,
              list.map((e) => ({ type: e.type, data: e.data, metadata: { eventId: e.eventId } })),
            ),
          ),
        );
      }
    }
    const ms = performance.now() - t0;
    const c = await pgClient(url);
    try {
      const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM emt_messages`);
      if (rows[0].n !== events.length) throw new Error(`Emmett stored ${rows[0].n} of ${events.length}`);
    } finally {
      await c.end();
    }
    return rate(events.length, ms);
  } finally {
    await store.close();
    await pool.end().catch(() => undefined);
    await dropDatabase(url);
  }
}

/** One run of every contender, interleaved so that they share the machine's load. */
export async function measureAppend(events: readonly FleetEvent[], batchSize: number): Promise<AppendRun> {
  return {
    fleetcompat: await ours(events, batchSize, false),
    copy: await copy(events, batchSize),
    emmett: await emmett(events, batchSize, false),
    fleetcompatOneStream: await ours(events, batchSize, true),
    emmettOneStream: await emmett(events, batchSize, true),
  };
}
