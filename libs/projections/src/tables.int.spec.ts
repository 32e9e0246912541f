import { DataSource } from 'typeorm';
import { openDatabase } from '@fleetcompat/platform';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { projectionTablesSql } from './schema';
import { columnsOf, ColumnType, PROJECTION_TABLES } from './tables';

const SQL_TYPE: Record<ColumnType, string> = {
  text: 'text',
  boolean: 'boolean',
  integer: 'integer',
  bigint: 'bigint',
  timestamptz: 'timestamp with time zone',
  jsonb: 'jsonb',
  json: 'json',
  bytea: 'bytea',
};

/**
 * Each projection table is defined once (tables.ts): the schema the frozen migrations
 * produce must be exactly what the definitions describe, column by column, and so must the
 * tables a rebuild creates from them.
 */
describe('projection tables: the migrations and the definitions agree', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('tables');
    ds = await openDatabase({ url: db.url });
    for (const sql of projectionTablesSql('from_definitions')) await ds.query(sql);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  async function shapeOf(schema: string) {
    const columns: {
      table_name: string;
      column_name: string;
      data_type: string;
      is_nullable: string;
      is_generated: string;
    }[] = await ds.query(
      `SELECT table_name, column_name, data_type, is_nullable, is_generated FROM information_schema.columns
        WHERE table_schema = $1 AND table_name <> 'meta' ORDER BY table_name, ordinal_position`,
      [schema],
    );
    const keys: { table_name: string; columns: string[] }[] = await ds.query(
      `SELECT c.conrelid::regclass::text AS table_name, array_agg(a.attname ORDER BY k.n)::text[] AS columns
         FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
        WHERE c.contype = 'p' AND c.connamespace = $1::regnamespace GROUP BY 1`,
      [schema],
    );
    const tables: Record<string, { columns: string[]; primaryKey: string[] }> = {};
    for (const c of columns) {
      (tables[c.table_name] ??= { columns: [], primaryKey: [] }).columns.push(
        `${c.column_name} ${c.data_type}${c.is_nullable === 'YES' ? '' : ' NOT NULL'}${c.is_generated === 'ALWAYS' ? ' GENERATED' : ''}`,
      );
    }
    for (const k of keys) {
      const t = tables[k.table_name.replace(/^.*\./, '')];
      if (t) t.primaryKey = k.columns;
    }
    return tables;
  }

  const described = () => {
    const tables: Record<string, { columns: string[]; primaryKey: string[] }> = {};
    for (const def of PROJECTION_TABLES) {
      const columns: string[] = [];
      for (const { column } of columnsOf(def)) {
        columns.push(`${column.name} ${SQL_TYPE[column.type]}${column.nullable ? '' : ' NOT NULL'}`);
        for (const g of def.generated ?? [])
          if (g.after === column.name) columns.push(`${g.name} ${g.sql.split(' ')[0]} GENERATED`);
      }
      tables[def.name] = { columns, primaryKey: [...def.primaryKey] };
    }
    return tables;
  };

  it('the live schema, made by the migrations, is the one the definitions describe', async () => {
    expect(await shapeOf('projection')).toEqual(described());
  });

  it("a rebuild's tables, made from the definitions, are the same", async () => {
    expect(await shapeOf('from_definitions')).toEqual(described());
  });
});
