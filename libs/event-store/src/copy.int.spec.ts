import fc from 'fast-check';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { copyRows } from './copy';

describe('copyRows (COPY FROM STDIN, text format)', () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase('es_copy');
    client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(`CREATE TABLE t (n integer, s text, b boolean, j jsonb, at timestamptz)`);
  });
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('stores every value as given: escapes, NULLs, JSON with control characters, timestamps', async () => {
    const awkward = 'tab\there, newline\nthere, cr\r, backslash \\ and \\N, quotes " \', unicode é ✓ 𝄞';
    const rows: unknown[][] = [
      [
        1,
        awkward,
        true,
        { text: awkward, list: [1, null, 'a\tb'], nested: { back: '\\' } },
        '2026-11-25T03:00:00.123Z',
      ],
      [2, null, false, null, null],
      [3, '', null, [], new Date('2026-01-02T03:04:05.006Z')],
      // a string is text as it is: a JSON string for a jsonb column is given as JSON
      [4, '\\N', true, JSON.stringify('just a string'), '2026-11-25T03:00:00Z'],
    ];
    expect(await copyRows(client, 't', ['n', 's', 'b', 'j', 'at'], rows)).toBe(4);
    const { rows: back } = await client.query(`SELECT n, s, b, j, at FROM t ORDER BY n`);
    expect(back.map((r) => [r.n, r.s, r.b, r.j, r.at === null ? null : r.at.toISOString()])).toEqual([
      [
        1,
        awkward,
        true,
        { text: awkward, list: [1, null, 'a\tb'], nested: { back: '\\' } },
        '2026-11-25T03:00:00.123Z',
      ],
      [2, null, false, null, null],
      [3, '', null, [], '2026-01-02T03:04:05.006Z'],
      [4, '\\N', true, 'just a string', '2026-11-25T03:00:00.000Z'],
    ]);
  });

  it('given any strings (backslashes, tabs, newlines, carriage returns, \\N among them), each comes back as it was, in text and in JSON', async () => {
    const awkwardChar = fc.constantFrom('\\', '\t', '\n', '\r', 'N', '.', ' ', '"', 'é', '𝄞');
    const text = fc.oneof(
      fc.string({ unit: awkwardChar, maxLength: 30 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 30 }), async (strings) => {
        await client.query(`TRUNCATE t`);
        await copyRows(
          client,
          't',
          ['n', 's', 'j'],
          strings.map((v, i) => [i, v, { v }]),
        );
        const { rows } = await client.query(`SELECT s, j FROM t ORDER BY n`);
        expect(rows.map((r) => r.s)).toEqual(strings);
        expect(rows.map((r) => r.j.v)).toEqual(strings);
      }),
      { numRuns: 150 },
    );
  });

  it('streams many rows in chunks', async () => {
    await client.query(`TRUNCATE t`);
    const many = function* () {
      for (let i = 0; i < 30_000; i++) yield [i, `row ${i} ${'x'.repeat(100)}`, i % 2 === 0, { i }, null];
    };
    expect(await copyRows(client, 't', ['n', 's', 'b', 'j', 'at'], many())).toBe(30_000);
    const { rows } = await client.query(
      `SELECT count(*)::int AS n, sum(n)::bigint AS total, count(*) FILTER (WHERE (j->>'i')::int = n)::int AS same FROM t`,
    );
    expect(rows[0]).toEqual({ n: 30_000, total: String((29_999 * 30_000) / 2), same: 30_000 });
  });

  it('a bad row fails the whole COPY and stores nothing', async () => {
    await client.query(`TRUNCATE t`);
    await expect(
      copyRows(
        client,
        't',
        ['n', 's', 'b', 'j', 'at'],
        [
          [1, 'ok', true, null, null],
          ['not a number', 'x', true, null, null],
        ],
      ),
    ).rejects.toThrow(/integer/);
    expect((await client.query(`SELECT count(*)::int AS n FROM t`)).rows[0].n).toBe(0);
  });
});
