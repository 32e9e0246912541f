import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { sampleFleet } from '@fleetcompat/sample-fleet';
import { openDatabase } from '@fleetcompat/platform';
import { ReadFixture, readFixture } from '../../test/read-fixture';
import { decisionIdOf } from '../model';
import { PlacementsAnswer, PlacementsReader } from './placements-answer';

/** What a client gets: the tag and the JSON text (the answers are kept and passed gzip-compressed). */
const served = (a: PlacementsAnswer | null) => a && { etag: a.etag, body: gunzipSync(a.gzip).toString() };

const RUNS = Number(process.env.FC_INT_RUNS ?? 20);
const HOSTS = ['host-r1-01', 'host-r1-02', 'host-r2-01', 'host-r2-02'];

/** What may happen to a host's rows between two reads (as the projector, or any writer, leaves them). */
type Change =
  | { kind: 'status'; host: number; guest: number; status: string }
  | { kind: 'ack'; host: number; guest: number; current: boolean }
  | { kind: 'unack'; host: number; guest: number }
  | { kind: 'presence'; host: number; guest: number }
  | { kind: 'redecide'; host: number; guest: number }
  | { kind: 'upgrade'; host: number; toVersion: string | null }
  /** a reader that built an answer before the last changes keeps it only now (a slow build racing a batch) */
  | { kind: 'late-keep'; host: number };
type Step = Change | { kind: 'read'; host: number; reader: number };

const host = fc.nat({ max: HOSTS.length - 1 });
const guest = fc.nat({ max: 9 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('read' as const), host, reader: fc.nat({ max: 1 }) }), weight: 4 },
  fc.record({
    kind: fc.constant('status' as const),
    host,
    guest,
    status: fc.constantFrom('ok', 'blocked', 'needs-low-rsdp', 'unknown-kernel'),
  }),
  fc.record({ kind: fc.constant('ack' as const), host, guest, current: fc.boolean() }),
  fc.record({ kind: fc.constant('unack' as const), host, guest }),
  fc.record({ kind: fc.constant('presence' as const), host, guest }),
  fc.record({ kind: fc.constant('redecide' as const), host, guest }),
  fc.record({
    kind: fc.constant('upgrade' as const),
    host,
    toVersion: fc.constantFrom(null, '4.17.3', '4.19.1', '4.20.0'),
  }),
  fc.record({ kind: fc.constant('late-keep' as const), host }),
);

describe('PlacementsReader keeps built answers in Postgres (real Postgres, the sample fleet projected)', () => {
  let f: ReadFixture;
  /** what a reader built for each host before the changes since (for late-keep) */
  const builtBefore = new Map<string, PlacementsAnswer>();

  beforeAll(async () => {
    f = await readFixture('placements_answers');
    await f.put(sampleFleet());
  });
  afterAll(() => f?.close());

  /** The nth guest row of a host (present or not), by guest id. */
  async function guestOf(
    h: number,
    g: number,
  ): Promise<{ guest_id: string; decision_id: string | null; sequence: number }> {
    const rows = await f.ds.query(
      `SELECT guest_id, decision_id, sequence FROM projection.guests WHERE host_id = $1 ORDER BY guest_id`,
      [HOSTS[h]],
    );
    return rows[g % rows.length];
  }

  async function apply(c: Change, reference: PlacementsReader): Promise<void> {
    const hostId = HOSTS[c.host];
    if (c.kind === 'upgrade') {
      await f.ds.query(
        `UPDATE projection.hosts SET upgrade = CASE WHEN $2::text IS NULL THEN NULL ELSE jsonb_build_object('toVersion', $2::text, 'waveId', 'w-property') END WHERE host_id = $1`,
        [hostId, c.toVersion],
      );
      return;
    }
    if (c.kind === 'late-keep') {
      const old = builtBefore.get(hostId);
      if (old)
        await f.ds.query(
          `INSERT INTO projection.placements_answers (host_id, etag, gzip) VALUES ($1, $2, $3)
             ON CONFLICT (host_id) DO UPDATE SET etag = EXCLUDED.etag, gzip = EXCLUDED.gzip`,
          [hostId, old.etag, old.gzip],
        );
      return;
    }
    // remember what a reader would have built before this change
    builtBefore.set(hostId, (await reference.placements(hostId))!);
    const g = await guestOf(c.host, c.guest);
    switch (c.kind) {
      case 'status':
        await f.ds.query(`UPDATE projection.guests SET status = $3 WHERE host_id = $1 AND guest_id = $2`, [
          hostId,
          g.guest_id,
          c.status,
        ]);
        return;
      case 'ack':
        await f.ds.query(
          `INSERT INTO projection.acks (host_id, guest_id, decision_id, applied_at, event_id) VALUES ($1, $2, $3, now(), 'property')
             ON CONFLICT (host_id, guest_id) DO UPDATE SET decision_id = EXCLUDED.decision_id`,
          [hostId, g.guest_id, c.current && g.decision_id ? g.decision_id : 'an-older-decision'],
        );
        return;
      case 'unack':
        await f.ds.query(`DELETE FROM projection.acks WHERE host_id = $1 AND guest_id = $2`, [hostId, g.guest_id]);
        return;
      case 'presence':
        await f.ds.query(
          `UPDATE projection.guests SET present = NOT present, sequence = sequence + 1 WHERE host_id = $1 AND guest_id = $2`,
          [hostId, g.guest_id],
        );
        return;
      case 'redecide': {
        if (!g.decision_id) return;
        // a new decision for the guest: its current message with the next sequence and another rsdp placement
        const next = g.sequence + 1;
        const id = decisionIdOf(g.guest_id, next);
        await f.ds.query(
          `INSERT INTO projection.decisions (decision_id, guest_id, host_id, sequence, kind, message, caused_by, detail, decided_at)
             SELECT $2, guest_id, host_id, $3, kind,
                    (message::jsonb || jsonb_build_object('decisionId', $2::text, 'sequence', $3::int, 'note', 'property ' || $3::text))::json,
                    caused_by, detail, now()
               FROM projection.decisions WHERE decision_id = $1`,
          [g.decision_id, id, next],
        );
        await f.ds.query(
          `UPDATE projection.guests SET decision_id = $3, sequence = $4 WHERE host_id = $1 AND guest_id = $2`,
          [hostId, g.guest_id, id, next],
        );
        return;
      }
    }
  }

  it('every read answers what building it now answers, whatever changed, by whichever reader, kept late or not', async () => {
    const readers = [new PlacementsReader(f.ds), new PlacementsReader(f.ds)];
    const reference = new PlacementsReader(f.ds, undefined, { keep: false });
    let kept = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        for (const s of steps) {
          if (s.kind !== 'read') {
            await apply(s, reference);
            continue;
          }
          const before = readers[s.reader].counts.kept;
          const answer = await readers[s.reader].placements(HOSTS[s.host]);
          kept += readers[s.reader].counts.kept - before;
          expect(served(answer)).toEqual(served(await reference.placements(HOSTS[s.host])));
        }
      }),
      { numRuns: RUNS },
    );
    // the property did exercise the kept answers, not only building
    expect(kept).toBeGreaterThan(0);
  });

  it('a host read twice with nothing changed in between is built once, by one reader for all; an unknown host is null and keeps nothing', async () => {
    const [a, b] = [new PlacementsReader(f.ds), new PlacementsReader(f.ds)];
    await f.ds.query(`DELETE FROM projection.placements_answers`);
    const first = await a.placements('host-r1-02');
    expect(a.counts).toEqual({ kept: 0, built: 1 });
    expect(served(await b.placements('host-r1-02'))).toEqual(served(first));
    expect(served(await a.placements('host-r1-02'))).toEqual(served(first));
    expect([a.counts, b.counts]).toEqual([
      { kept: 1, built: 1 },
      { kept: 1, built: 0 },
    ]);
    expect(await a.placements('nobody')).toBeNull();
    const [{ n }] = await f.ds.query(`SELECT count(*)::int AS n FROM projection.placements_answers`);
    expect(n).toBe(1);
  });

  it('kept answers are gzip bytes that decompress to the answer; a row of an older release (JSON text, no bytes) is built again and replaced', async () => {
    const reader = new PlacementsReader(f.ds);
    const reference = new PlacementsReader(f.ds, undefined, { keep: false });
    await f.ds.query(`DELETE FROM projection.placements_answers`);
    const now = served(await reference.placements(HOSTS[2]))!;
    await f.ds.query(`INSERT INTO projection.placements_answers (host_id, etag, body) VALUES ($1, $2, $3)`, [
      HOSTS[2],
      now.etag,
      now.body,
    ]);
    expect(served(await reader.placements(HOSTS[2]))).toEqual(now);
    expect(reader.counts).toEqual({ kept: 0, built: 1 });
    const [row] = await f.ds.query(`SELECT etag, body, gzip FROM projection.placements_answers WHERE host_id = $1`, [
      HOSTS[2],
    ]);
    expect({ etag: row.etag, body: row.body, text: gunzipSync(row.gzip).toString() }).toEqual({
      etag: now.etag,
      body: null,
      text: now.body,
    });
    expect(served(await reader.placements(HOSTS[2]))).toEqual(now);
    expect(reader.counts).toEqual({ kept: 1, built: 1 });
  });

  it('on a read-only connection (a standby) nothing is kept: answers kept by a writer are served, the others built, all the same', async () => {
    const url = new URL((f.ds.options as { url: string }).url);
    url.searchParams.set('options', '-c default_transaction_read_only=on');
    const ro = await openDatabase({ url: url.toString(), migrate: false });
    try {
      await f.ds.query(`DELETE FROM projection.placements_answers`);
      const reader = new PlacementsReader(ro);
      const reference = new PlacementsReader(f.ds, undefined, { keep: false });
      for (const h of [...HOSTS, ...HOSTS])
        expect(served(await reader.placements(h))).toEqual(served(await reference.placements(h)));
      expect(reader.counts).toEqual({ kept: 0, built: HOSTS.length * 2 });
      const [{ n }] = await f.ds.query(`SELECT count(*)::int AS n FROM projection.placements_answers`);
      expect(n).toBe(0);
      await new PlacementsReader(f.ds).placements(HOSTS[0]);
      expect(served(await reader.placements(HOSTS[0]))).toEqual(served(await reference.placements(HOSTS[0])));
      expect(reader.counts).toEqual({ kept: 1, built: HOSTS.length * 2 });
    } finally {
      await ro.destroy();
    }
  });

  it('a role that may read the projections but not the kept answers gets every answer built, the same', async () => {
    const role = `fc_test_no_answers_${process.pid}_${Date.now() % 1e6}`;
    const db = await f.ds.query(`SELECT current_database() AS name`).then((r: { name: string }[]) => r[0].name);
    await f.ds.query(`CREATE ROLE ${role} LOGIN`);
    try {
      await f.ds.query(`GRANT CONNECT ON DATABASE ${db} TO ${role}`);
      await f.ds.query(`GRANT USAGE ON SCHEMA projection TO ${role}`);
      await f.ds.query(`GRANT SELECT ON ALL TABLES IN SCHEMA projection TO ${role}`);
      await f.ds.query(`REVOKE ALL ON projection.placements_answers FROM ${role}`);
      const url = new URL((f.ds.options as { url: string }).url);
      url.username = role;
      const limited = await openDatabase({ url: url.toString(), migrate: false });
      try {
        await new PlacementsReader(f.ds).placements(HOSTS[1]); // one kept by a writer: still not readable here
        const reader = new PlacementsReader(limited);
        const reference = new PlacementsReader(f.ds, undefined, { keep: false });
        for (const h of [...HOSTS, ...HOSTS])
          expect(served(await reader.placements(h))).toEqual(served(await reference.placements(h)));
        expect(reader.counts).toEqual({ kept: 0, built: HOSTS.length * 2 });
      } finally {
        await limited.destroy();
      }
    } finally {
      await f.ds.query(`DROP OWNED BY ${role}`);
      await f.ds.query(`DROP ROLE ${role}`);
    }
  });
});
