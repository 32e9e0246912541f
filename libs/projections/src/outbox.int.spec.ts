import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { OutboxMessage } from '@fleetcompat/contract';
import { eventually } from '@fleetcompat/testing';
import { openDatabase } from '@fleetcompat/platform';
import { createTestDatabase, TestDatabase } from '../../../test/support/postgres';
import { OutboxByReference1764000100012, OutboxTransactionOrder1764000100011 } from './migrations';
import { PostgresOutbox } from './outbox';

describe('PostgresOutbox on real Postgres', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let outbox: PostgresOutbox;

  beforeAll(async () => {
    db = await createTestDatabase('outbox');
    ds = await openDatabase({ url: db.url });
    outbox = new PostgresOutbox(ds);
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  async function fill(n: number) {
    for (let i = 1; i <= n; i++)
      await ds.query(`INSERT INTO outbox (topic, key, value) VALUES ('t', $1, $2)`, [
        `k${i % 3}`,
        JSON.stringify({ n: i }),
      ]);
    await readable(n);
  }

  /**
   * Waits until the relay can read `n` rows: it reads below every transaction still open on
   * the server (the machine's other tests' included), as the event store's readers do.
   */
  async function readable(n: number) {
    await eventually(`${n} outbox rows readable`, async () => {
      const [{ count }] = await ds.query<{ count: number }[]>(
        `SELECT count(*)::int AS count FROM outbox WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())`,
      );
      return count === n;
    });
  }

  it('hands over rows in commit (numeric id) order and deletes exactly what was published', async () => {
    await fill(25); // ids past 9 and 19: a text ordering would put "10" before "9"
    const seen: OutboxMessage[] = [];
    expect(await outbox.publishBatch(100, async (m) => void seen.push(...m))).toBe(25);
    expect(seen.map((m) => JSON.parse(m.value).n)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(await outbox.backlog()).toMatchObject({ count: 0 });
    expect(await outbox.publishBatch(100, async () => undefined)).toBe(0);
  });

  it('a batch smaller than the backlog takes the oldest rows, and the next batch the rest', async () => {
    await fill(12);
    const first: number[] = [];
    const second: number[] = [];
    await outbox.publishBatch(10, async (m) => void first.push(...m.map((x) => JSON.parse(x.value).n)));
    await outbox.publishBatch(10, async (m) => void second.push(...m.map((x) => JSON.parse(x.value).n)));
    expect(first).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(second).toEqual([11, 12]);
  });

  it('a failed publish marks nothing: the same rows come again', async () => {
    await fill(3);
    await expect(outbox.publishBatch(10, async () => Promise.reject(new Error('broker down')))).rejects.toThrow(
      'broker down',
    );
    expect((await outbox.backlog()).count).toBe(3);
    const again: number[] = [];
    await outbox.publishBatch(10, async (m) => void again.push(...m.map((x) => JSON.parse(x.value).n)));
    expect(again).toEqual([1, 2, 3]);
  });

  it('two relays at once (two outboxes, each on a pool of its own): only one gets the batch', async () => {
    const otherDs = await openDatabase({ url: db.url, migrate: false });
    try {
      const other = new PostgresOutbox(otherDs);
      await fill(5);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const first = outbox.publishBatch(10, () => held);
      await new Promise((r) => setTimeout(r, 200));
      expect(await other.publishBatch(10, async () => undefined)).toBe(0);
      release();
      expect(await first).toBe(5);
      // once the first has committed, the other takes what is left
      await readable(0);
      await fill(2);
      const seen: number[] = [];
      expect(await other.publishBatch(10, async (m) => void seen.push(...m.map((x) => JSON.parse(x.value).n)))).toBe(2);
      expect(seen).toEqual([1, 2]);
    } finally {
      await otherDs.destroy();
    }
  });

  /** Publishes until `n` rows were handed over (reads stop below transactions open anywhere on the server). */
  async function drain(n: number): Promise<number[]> {
    const seen: number[] = [];
    await eventually(`${n} rows published`, async () => {
      await outbox.publishBatch(100, async (m) => void seen.push(...m.map((x) => JSON.parse(x.value).n)));
      return seen.length >= n;
    });
    return seen;
  }

  it('never skips a row whose transaction commits after a later one (two projector shards writing at once)', async () => {
    expect(await outbox.backlog()).toMatchObject({ count: 0 });
    const shardA = new Client({ connectionString: db.url });
    await shardA.connect();
    try {
      // shard A's batch takes the lower id and stays open; shard B's takes a higher one and commits
      await shardA.query('BEGIN');
      await shardA.query(`INSERT INTO outbox (topic, key, value) VALUES ('t', 'hA', '{"n": 1}')`);
      await ds.query(`INSERT INTO outbox (topic, key, value) VALUES ('t', 'hB', '{"n": 2}')`);
      const ids = await ds.query<{ id: number }[]>(`SELECT id::int AS id FROM outbox ORDER BY id`);
      expect(ids).toHaveLength(1); // A's row is not committed yet
      // B's row is held back while A is open: publishing it now and deleting up to its id
      // would leave A's lower id behind the relay's bound once A commits
      const early: number[] = [];
      expect(await outbox.publishBatch(100, async (m) => void early.push(...m.map((x) => JSON.parse(x.value).n)))).toBe(
        0,
      );
      expect(early).toEqual([]);
      await shardA.query('COMMIT');
    } finally {
      await shardA.end();
    }
    // both, in the order their transactions began (A's first)
    expect(await drain(2)).toEqual([1, 2]);
    expect(await outbox.backlog()).toMatchObject({ count: 0 });
  });

  it('the migration upgrades an outbox in place: its rows keep their id order, before the rows written after', async () => {
    const qr = ds.createQueryRunner();
    try {
      await new OutboxByReference1764000100012().down(qr);
      await new OutboxTransactionOrder1764000100011().down(qr);
      for (let i = 1; i <= 3; i++)
        await ds.query(`INSERT INTO outbox (topic, key, value) VALUES ('t', 'k', $1)`, [{ n: i }]);
      await new OutboxTransactionOrder1764000100011().up(qr);
      await new OutboxByReference1764000100012().up(qr);
    } finally {
      await qr.release();
    }
    await ds.query(`INSERT INTO outbox (topic, key, value) VALUES ('t', 'k', '{"n": 4}')`);
    expect(await drain(4)).toEqual([1, 2, 3, 4]);
  });

  async function insertDecision(decisionId: string, message: object) {
    await ds.query(
      `INSERT INTO projection.decisions (decision_id, guest_id, host_id, sequence, kind, message, caused_by, decided_at)
       VALUES ($1, $2, 'h', $3, 'decided', $4, '{}', now())`,
      [decisionId, decisionId.split('#')[0], Number(decisionId.split('#')[1]), JSON.stringify(message)],
    );
  }

  it("a decision's row names its history row: the relay publishes the history's message, rows with a value their own, in one order", async () => {
    await ds.query(`INSERT INTO outbox (topic, key, value) VALUES ('t', 'k', '{"n": 1}')`);
    await insertDecision('g#1', { n: 2 });
    await ds.query(`INSERT INTO outbox (topic, key, decision_id) VALUES ('t', 'k', 'g#1')`);
    await ds.query(`INSERT INTO outbox (topic, key, value) VALUES ('t', 'k', '{"n": 3}')`);
    await readable(3);
    expect(await drain(3)).toEqual([1, 2, 3]);
    await expect(ds.query(`INSERT INTO outbox (topic, key) VALUES ('t', 'k')`)).rejects.toThrow(
      /outbox_value_or_decision/,
    );
  });

  it('a row naming a decision the history does not have is neither published nor deleted: the relay fails and says which', async () => {
    await ds.query(`INSERT INTO outbox (topic, key, decision_id) VALUES ('t', 'k', 'nowhere#1')`);
    await readable(1);
    const seen: OutboxMessage[] = [];
    await expect(outbox.publishBatch(100, async (m) => void seen.push(...m))).rejects.toThrow(
      /nowhere#1.*not in the decision history/,
    );
    expect(seen).toEqual([]);
    expect(await outbox.backlog()).toMatchObject({ count: 1 });
    await insertDecision('nowhere#1', { n: 9 });
    expect(await drain(1)).toEqual([9]);
  });

  it('the rows of one transaction come in numeric id order (ids past 9 and 99 in one commit)', async () => {
    // the ids go on from the rows of the tests before (past 100 in all): one of them crosses a digit boundary
    await ds.query(
      `INSERT INTO outbox (topic, key, value) SELECT 't', 'k', json_build_object('n', n) FROM generate_series(1, 120) n`,
    );
    await readable(120);
    expect(await drain(120)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
  });
});
