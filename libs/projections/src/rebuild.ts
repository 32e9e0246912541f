import { DataSource } from 'typeorm';
import {
  Checkpoint,
  compareCheckpoints,
  pgClientOf,
  readAll,
  ReadAllResult,
  readHead,
  saveCheckpoint,
  START,
} from '@fleetcompat/event-store';
import { Evolver, EvolverOptions } from './evolve';
import { ProjectionStore } from './projection-store';
import { WorkingSet } from './working-set';
import {
  assertSchemaName,
  dropProjectionTablesSql,
  LIVE_SCHEMA,
  projectionIndexesSql,
  projectionTablesSql,
} from './schema';

/** Where a rebuild's time went, in ms. */
export interface RebuildPhases {
  /** Waiting for events from the store (the next batch is read while one is applied). */
  readonly read: number;
  /** Events applied in memory (the policy decides). */
  readonly apply: number;
  /** Rows copied into the tables. */
  readonly write: number;
}

/** Decision history rows held before they are copied out during a rebuild. */
const RECORDS_PER_COPY = 20_000;

/**
 * Replays the whole event store (every event committed before the call) into fresh projection tables
 * in `schema` (no outbox), and returns the processed count. The live projections are
 * untouched.
 *
 * The same evolver as the live projector, over one working set that holds the whole
 * projection in memory (a fleet of 1M guests is a few hundred MB): nothing is read back
 * from the tables while replaying. The decision history is copied out as it grows, the
 * other tables once at the end, all with COPY; the next batch of events is read while the
 * current one is applied. The tables are UNLOGGED (no WAL: a Postgres crash empties them,
 * and replicas do not get them): a rebuild is a copy to compare with the live projections,
 * made again at will. Needs two connections of the pool.
 */
export async function rebuildProjections(
  dataSource: DataSource,
  options: EvolverOptions & { schema?: string; batchSize?: number } = {},
): Promise<{ schema: string; events: number; ms: number; phases: RebuildPhases }> {
  const schema = assertSchemaName(options.schema ?? 'projection_rebuild');
  if (schema === LIVE_SCHEMA) throw new Error('refusing to rebuild into the live schema');
  const started = Date.now();
  for (const sql of dropProjectionTablesSql(schema)) await dataSource.query(sql);
  for (const sql of projectionTablesSql(schema, { unlogged: true, indexes: false })) await dataSource.query(sql);
  const processor = `rebuild:${schema}`;
  const limit = options.batchSize ?? 5000;
  const store = new ProjectionStore(schema);
  const ws = new WorkingSet();
  const evolver = new Evolver(ws, options);
  const head = await readHead(dataSource, { committed: true });
  const writer = dataSource.createQueryRunner();
  await writer.connect();
  try {
    const client = pgClientOf(writer);
    let checkpoint: Checkpoint = START;
    let events = 0;
    const phases = { read: 0, apply: 0, write: 0 };
    let t = performance.now();
    const lap = (phase: keyof RebuildPhases) => {
      const now = performance.now();
      phases[phase] += now - t;
      t = now;
    };
    let copying: Promise<void> = Promise.resolve();
    let next: Promise<ReadAllResult> | null =
      compareCheckpoints(START, head) < 0 ? readAll(dataSource, { after: START, limit }) : null;
    try {
      while (next) {
        const batch = await next;
        lap('read');
        if (!batch.events.length) {
          // committed, but held back by an older transaction still open: wait for it
          await new Promise((resolve) => setTimeout(resolve, 10));
          next = readAll(dataSource, { after: checkpoint, limit });
          continue;
        }
        checkpoint = batch.checkpoint;
        next = compareCheckpoints(checkpoint, head) < 0 ? readAll(dataSource, { after: checkpoint, limit }) : null;
        for (const e of batch.events) {
          evolver.apply(e);
          if (ws.records.length >= RECORDS_PER_COPY) {
            // copied out while the next events are applied; one COPY at a time
            lap('apply');
            await copying;
            lap('write');
            copying = store.copyRecords(client, ws.records.splice(0));
            copying.catch(() => undefined); // awaited below; a failure surfaces there
          }
        }
        events += batch.events.length;
        lap('apply');
      }
    } finally {
      // a read still in flight when a write failed: its outcome no longer matters
      next?.catch(() => undefined);
    }
    await copying;
    await store.copyRecords(client, ws.records.splice(0));
    await store.copyAll(client, ws);
    for (const sql of projectionIndexesSql(schema)) await writer.query(sql);
    await saveCheckpoint(processor, checkpoint, writer);
    lap('write');
    const round = (ms: number) => Math.round(ms);
    return {
      schema,
      events,
      ms: Date.now() - started,
      phases: { read: round(phases.read), apply: round(phases.apply), write: round(phases.write) },
    };
  } finally {
    await writer.release();
  }
}

const COMPARED: Record<string, readonly string[]> = {
  kernels: ['image_sha256'],
  hosts: ['host_id'],
  guests: ['guest_id', 'host_id'],
  decisions: ['decision_id'],
  acks: ['host_id', 'guest_id'],
  behaviour_rules: ['key'],
  guest_os_rules: ['guest_os'],
  set_aside: ['event_id'],
};

/**
 * Differences between two projection schemas, table by table (rows in one and not the
 * other, compared whole as JSON, so that json columns compare too). Empty when they are equal.
 */
export async function compareProjections(
  dataSource: DataSource,
  a: string,
  b: string,
): Promise<{ table: string; onlyInA: number; onlyInB: number; sample: unknown[] }[]> {
  assertSchemaName(a);
  assertSchemaName(b);
  const diffs = [];
  for (const [table, key] of Object.entries(COMPARED)) {
    const order = key.map((k) => `r->>'${k}'`).join(', ');
    const rows: { side: string; row: unknown }[] = await dataSource.query(
      `(SELECT 'a' AS side, r AS row FROM (SELECT to_jsonb(x) AS r FROM ${a}.${table} x EXCEPT SELECT to_jsonb(y) FROM ${b}.${table} y) d ORDER BY ${order} LIMIT 1000)
       UNION ALL
       (SELECT 'b' AS side, r AS row FROM (SELECT to_jsonb(y) AS r FROM ${b}.${table} y EXCEPT SELECT to_jsonb(x) FROM ${a}.${table} x) d ORDER BY ${order} LIMIT 1000)`,
    );
    const onlyInA = rows.filter((r) => r.side === 'a').length;
    const onlyInB = rows.length - onlyInA;
    if (rows.length) diffs.push({ table, onlyInA, onlyInB, sample: rows.slice(0, 3) });
  }
  return diffs;
}
