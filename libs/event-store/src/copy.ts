import { from as copyFrom, CopyStreamQuery } from 'pg-copy-streams';
import { QueryRunner } from 'typeorm';

/** The part of a pg client COPY needs (a `pg.Client` or `pg.PoolClient`). */
export interface CopyClient {
  query(stream: CopyStreamQuery): CopyStreamQuery;
}

/**
 * One field in COPY's text format: NULL as \N, backslash, tab, newline and carriage return
 * escaped; objects and arrays as JSON. A string goes in as it is (for a jsonb column, give a
 * string value as JSON text).
 */
export function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'boolean') return value ? 't' : 'f';
  else if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  else if (value instanceof Date) return value.toISOString();
  else s = JSON.stringify(value);
  return SPECIAL.test(s) ? s.replace(SPECIALS, (c) => ESCAPES[c]) : s;
}

const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * Lines are sent in chunks of about this many characters. Small, so that Postgres works on the
 * first chunk while the process makes the next: a COPY of 200 decisions (344 KB) took 16-17 ms
 * with chunks of 1 MiB (made whole, then sent) and 10-13 ms with these (docs/benchmarks.md,
 * "Session 9").
 */
const CHUNK_CHARS = 1 << 14;

/**
 * `COPY table (columns) FROM STDIN` of `rows` (each an array of field values in column
 * order), streamed in chunks: the bulk path Postgres loads fastest, for append-only rows.
 */
export async function copyRows(
  client: CopyClient,
  table: string,
  columns: readonly string[],
  rows: Iterable<readonly unknown[]>,
): Promise<number> {
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    const stream = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
    stream.on('error', reject);
    stream.on('finish', resolve);
    let chunk = '';
    const flush = (): Promise<void> | undefined => {
      const ok = stream.write(chunk);
      chunk = '';
      return ok ? undefined : new Promise((r) => stream.once('drain', r));
    };
    (async () => {
      for (const row of rows) {
        let line = '';
        for (let i = 0; i < row.length; i++) line += (i ? '\t' : '') + copyField(row[i]);
        chunk += line + '\n';
        n++;
        if (chunk.length >= CHUNK_CHARS) await flush();
      }
      if (chunk) await flush();
      stream.end();
    })().catch((e) => {
      stream.destroy(e as Error);
      reject(e as Error);
    });
  });
  return n;
}

/** The pg client under a connected TypeORM query runner (for COPY inside its transaction). */
export function pgClientOf(queryRunner: QueryRunner): CopyClient {
  const client = (queryRunner as unknown as { databaseConnection?: CopyClient }).databaseConnection;
  if (!client) throw new Error('the query runner is not connected');
  return client;
}
