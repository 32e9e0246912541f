import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Queryable } from './types';

/**
 * A Queryable for hot read paths: each distinct SQL text runs as a named prepared statement
 * (pg prepares it once per pooled connection and then only binds and executes), straight on
 * TypeORM's pg pool. Saves the parse and plan of every request's queries. For reads whose
 * SQL text comes from code, not from input (every distinct text is a statement kept per
 * connection).
 */
export function preparedQueryable(dataSource: DataSource): Queryable {
  const pool = (dataSource.driver as unknown as { master?: { query(q: object): Promise<{ rows: unknown[] }> } }).master;
  if (!pool) throw new Error('preparedQueryable needs an initialized Postgres DataSource');
  const names = new Map<string, string>();
  const nameOf = (sql: string): string => {
    let name = names.get(sql);
    if (!name) names.set(sql, (name = `fc_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`));
    return name;
  };
  return {
    async query<T>(sql: string, parameters: unknown[] = []): Promise<T> {
      return (await pool.query({ name: nameOf(sql), text: sql, values: parameters })).rows as T;
    },
  };
}
