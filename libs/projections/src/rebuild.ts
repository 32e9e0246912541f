import { DataSource } from 'typeorm';
import { BehaviourRule } from '@fleetcompat/policy';
import { Projector } from './projector';
import { assertSchemaName, dropProjectionTablesSql, LIVE_SCHEMA, projectionTablesSql } from './schema';

/**
 * Replays the whole event store into fresh projection tables in `schema` (no outbox), and
 * returns the processed count. The live projections are untouched. The tables are UNLOGGED
 * (no WAL: a Postgres crash empties them, and replicas do not get them): a rebuild is a copy
 * to compare with the live projections, made again at will.
 */
export async function rebuildProjections(
  dataSource: DataSource,
  options: { schema?: string; batchSize?: number; defaults?: readonly BehaviourRule[] } = {},
): Promise<{ schema: string; events: number; ms: number }> {
  const schema = assertSchemaName(options.schema ?? 'projection_rebuild');
  if (schema === LIVE_SCHEMA) throw new Error('refusing to rebuild into the live schema');
  const started = Date.now();
  for (const sql of dropProjectionTablesSql(schema)) await dataSource.query(sql);
  // Unlogged: the copy is for comparison (it needs no WAL, and a crash only means rebuilding again).
  for (const sql of projectionTablesSql(schema, { unlogged: true })) await dataSource.query(sql);
  const processor = `rebuild:${schema}`;
  await dataSource.query(`DELETE FROM processor_checkpoints WHERE processor = $1`, [processor]);
  const projector = new Projector(dataSource, { processor, schema, outbox: false, batchSize: options.batchSize ?? 5000, defaults: options.defaults });
  const events = await projector.catchUp();
  return { schema, events, ms: Date.now() - started };
}

const COMPARED: Record<string, string> = {
  kernels: 'image_sha256',
  hosts: 'host_id',
  guests: 'guest_id',
  decisions: 'decision_id',
  acks: 'host_id, guest_id',
  behaviour_rules: 'key',
};

/**
 * Differences between two projection schemas, table by table (rows in one and not the
 * other, compared whole). Empty when they are equal.
 */
export async function compareProjections(dataSource: DataSource, a: string, b: string): Promise<{ table: string; onlyInA: number; onlyInB: number; sample: unknown[] }[]> {
  assertSchemaName(a);
  assertSchemaName(b);
  const diffs = [];
  for (const [table, key] of Object.entries(COMPARED)) {
    const rows: { side: string; row: unknown }[] = await dataSource.query(
      `(SELECT 'a' AS side, to_jsonb(x) AS row FROM (SELECT * FROM ${a}.${table} EXCEPT SELECT * FROM ${b}.${table}) x ORDER BY ${key} LIMIT 1000)
       UNION ALL
       (SELECT 'b' AS side, to_jsonb(y) AS row FROM (SELECT * FROM ${b}.${table} EXCEPT SELECT * FROM ${a}.${table}) y ORDER BY ${key} LIMIT 1000)`,
    );
    const onlyInA = rows.filter((r) => r.side === 'a').length;
    const onlyInB = rows.length - onlyInA;
    if (rows.length) diffs.push({ table, onlyInA, onlyInB, sample: rows.slice(0, 3) });
  }
  return diffs;
}
