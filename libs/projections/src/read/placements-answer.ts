import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Logger } from '@nestjs/common';
import { Queryable } from '@fleetcompat/event-store';
import { assertSchemaName, LIVE_SCHEMA } from '../schema';
import { PLACEMENTS_ANSWERS } from '../tables';

/**
 * A placements answer: the JSON text of `GET /v1/hosts/{id}/placements`, gzip-compressed (as
 * it is kept, and as most clients take it), and its entity tag.
 */
export interface PlacementsAnswer {
  readonly gzip: Buffer;
  /** A weak validator (`W/"p3-<md5>"`): equal tags, equal bodies. */
  readonly etag: string;
}

/**
 * The gzip level answers are compressed with, once per answer built. On a body of 50 guests
 * (52 KB) level 1 takes about 0.12 ms for 4.8 KB, the default 6 about 0.35 ms for 4.0 KB
 * (docs/benchmarks.md, "Session 9").
 */
export const ANSWER_GZIP_LEVEL = 1;

const gzipAsync = promisify(gzip);

/** Compresses an answer's body off the event loop (zlib's thread pool). */
export function gzipAnswer(body: string): Promise<Buffer> {
  return gzipAsync(body, { level: ANSWER_GZIP_LEVEL });
}

/** Where the placements answers come from (the projections; a stand-in in unit tests). */
export interface PlacementsSource {
  /** The body and tag of one host, read in one statement (one snapshot); null when the host is unknown. */
  placements(hostId: string): Promise<PlacementsAnswer | null>;
  /** The current tags of many hosts, without building their bodies; unknown hosts are left out. */
  etags(hostIds: readonly string[]): Promise<Map<string, string>>;
  /** Of the answers read so far: how many were served as kept in Postgres, how many were built. */
  readonly counts?: { readonly kept: number; readonly built: number };
}

/** Postgres refused a write because of where it ran (a read-only transaction or standby, or no privilege to write). */
function refusedWrite(e: unknown): boolean {
  const code = (e as { code?: unknown }).code ?? (e as { driverError?: { code?: unknown } }).driverError?.code;
  return code === '25006' || code === '42501';
}

/**
 * The SQL of the placements answers (`GET /v1/hosts/{id}/placements`, built by Postgres as JSON
 * text in one statement: the hot path of hosts about to reboot, so no row passes through
 * JSON.parse and JSON.stringify): the host, its present guests (as readPlacements lists them)
 * with each one's current decision, whether it is acknowledged and its `remedy` (the policy's
 * remedy of a blocked decision, from the decision history's detail; [] otherwise), and
 * `withdrawn`: every guest the host reported and then removed, with the sequence of its
 * withdrawal, so that a host reading only this answer (the long-poll agent) can tell a
 * withdrawal from an older answer.
 *
 * The tag is an md5 over what the body is made of, without building it: a hash of the SQL that
 * builds the body (a release that changes the answer's shape moves every tag once), the version the
 * decisions are for and, over the host's guest rows (present or not), their number, the sum of
 * their sequences, and a sum of 64-bit hashes of (guest, presence, status, decision id, whether
 * the ack names the decision). A decision's message never changes once written (a new decision
 * is a new id with a higher sequence), and sequences only grow, so every new decision or
 * withdrawal moves the sum of sequences: those changes always move the tag. A change that moves
 * no sequence (a status, an acknowledgement, a guest removed before it was decided) moves the
 * hash sum, short of a 64-bit collision. Weak validator: equal tags, equal bodies. The
 * long-poll checks many hosts at once with it (integer aggregates over the guests index, no
 * decision messages, no JSON).
 *
 * Built answers are kept in `placements_answers` (one row per host: the body gzip-compressed and
 * the tag it was built with, from one snapshot) and served while the host's current tag is
 * still that tag: a read computes the tag (the aggregates above) and takes the kept bytes only
 * if the tags are equal, by the same rule that lets a host keep its answer on a 304. Postgres
 * cannot make gzip, so a build is two statements: the body and its tag (one snapshot), then,
 * once compressed here, the bytes kept with that tag. The tag may have moved in between; the
 * row is then kept with the tag it was built for, which no read matches any more. Building a
 * body costs about five times more than serving kept bytes (the host's decisions, 50 index
 * lookups for 50 guests, the JSON and the compression),
 * and a kept answer outlives a projector batch that did not change it, an API restart, and the
 * in-memory cache's size limit, for every API process. The projector never writes or clears the
 * table: a change makes the kept row unservable by moving the tag. Where Postgres refuses the
 * write (a read-only standby, or no privilege), answers kept by a writer are still served and
 * the others are built at each read.
 */
export class PlacementsReader implements PlacementsSource {
  private readonly s: string;
  private readonly log = new Logger(PlacementsReader.name);
  private readonly bodySql: string;
  private readonly etagsSql: string;
  private readonly answerSql: string;
  private readonly keepSql: string;
  /** keep: answers are kept and served; read: kept ones are served, none written (Postgres refused a write); off: built every time */
  private mode: 'keep' | 'read' | 'off';
  readonly counts = { kept: 0, built: 0 };

  constructor(
    private readonly db: Queryable,
    schema: string = LIVE_SCHEMA,
    /** keep: false builds every answer when it is read (no kept answers read or written) */
    options: { keep?: boolean } = {},
  ) {
    this.mode = options.keep === false ? 'off' : 'keep';
    this.s = assertSchemaName(schema);
    const s = this.s;
    const body = `json_build_object(
                'hostId', h.host_id,
                'hypervisorVersion', coalesce(h.upgrade->>'toVersion', h.hypervisor_version),
                'placements', coalesce((
                  SELECT json_agg(json_build_object(
                           'guestId', g.guest_id,
                           'status', g.status,
                           'decision', d.message,
                           'acknowledged', coalesce(a.decision_id = g.decision_id, false),
                           'remedy', coalesce(d.detail->'remedy', '[]'::json))
                         ORDER BY g.guest_id)
                    FROM ${s}.guests g
                    LEFT JOIN ${s}.decisions d ON d.decision_id = g.decision_id
                    LEFT JOIN ${s}.acks a ON a.host_id = g.host_id AND a.guest_id = g.guest_id
                   WHERE g.host_id = h.host_id AND g.present), '[]'::json),
                'withdrawn', coalesce((
                  SELECT json_agg(json_build_object('guestId', g.guest_id, 'sequence', g.sequence) ORDER BY g.guest_id)
                    FROM ${s}.guests g
                   WHERE g.host_id = h.host_id AND NOT g.present AND g.sequence > 0), '[]'::json)
              )::text`;
    // the body's own SQL is part of every tag: a release that changes what a body holds moves
    // every tag once, so that neither a kept answer nor a host's 304 outlives the old shape
    const shape = createHash('sha256').update(body).digest('hex').slice(0, 16);
    // count, sum of sequences and a 64-bit hash sum over the host's guest rows: integer
    // aggregates, no per-row JSON or sort (about 2.5 times cheaper than hashing the rows' JSON)
    const fingerprint = `'W/"p3-' || (SELECT md5(concat_ws('|', '${shape}', coalesce(h.upgrade->>'toVersion', h.hypervisor_version), count(*), sum(g.sequence),
              sum(hashtextextended(concat_ws('|', g.guest_id, g.present, g.status, g.decision_id, a.decision_id = g.decision_id), 0))))
             FROM ${s}.guests g
             LEFT JOIN ${s}.acks a ON a.host_id = g.host_id AND a.guest_id = g.guest_id
            WHERE g.host_id = h.host_id) || '"'`;
    this.bodySql = `SELECT ${body} AS body, ${fingerprint} AS etag FROM ${s}.hosts h WHERE h.host_id = $1`;
    this.etagsSql = `SELECT h.host_id, ${fingerprint} AS etag FROM ${s}.hosts h WHERE h.host_id = ANY($1::text[])`;
    const kept = `${s}.${PLACEMENTS_ANSWERS.name}`;
    const c = PLACEMENTS_ANSWERS.columns;
    // One statement, one snapshot: the host's tag now, and the kept bytes if they were made with
    // that tag, else the body built now (built has no row when kept bytes match).
    this.answerSql = `WITH cur AS (SELECT h.host_id, ${fingerprint} AS etag FROM ${s}.hosts h WHERE h.host_id = $1),
         kept AS (SELECT a.${c.gzip.name} AS gzip FROM ${kept} a JOIN cur ON a.${c.hostId.name} = cur.host_id AND a.${c.etag.name} = cur.etag
                   WHERE a.${c.gzip.name} IS NOT NULL),
         built AS (SELECT ${body} AS body FROM ${s}.hosts h JOIN cur ON cur.host_id = h.host_id WHERE NOT EXISTS (SELECT 1 FROM kept))
       SELECT cur.etag, (SELECT gzip FROM kept) AS gzip, (SELECT body FROM built) AS body FROM cur`;
    // a row kept with another tag is replaced; one with this tag already is left as it is
    this.keepSql = `INSERT INTO ${kept} AS a (${c.hostId.name}, ${c.etag.name}, ${c.body.name}, ${c.gzip.name}) VALUES ($1, $2, NULL, $3)
       ON CONFLICT (${c.hostId.name}) DO UPDATE SET ${c.etag.name} = EXCLUDED.${c.etag.name}, ${c.body.name} = NULL, ${c.gzip.name} = EXCLUDED.${c.gzip.name}
       WHERE a.${c.etag.name} IS DISTINCT FROM EXCLUDED.${c.etag.name} OR a.${c.gzip.name} IS NULL`;
  }

  async placements(hostId: string): Promise<PlacementsAnswer | null> {
    if (this.mode === 'off') {
      const rows: { etag: string; body: string }[] = await this.db.query(this.bodySql, [hostId]);
      if (!rows[0]) return null; // an unknown host
      this.counts.built++;
      return { gzip: await gzipAnswer(rows[0].body), etag: rows[0].etag };
    }
    let rows: { etag: string; gzip: Buffer | null; body: string | null }[];
    try {
      rows = await this.db.query(this.answerSql, [hostId]);
    } catch (e) {
      if (!refusedWrite(e)) throw e;
      // the table not even readable, as with no privilege on it: build every answer
      this.mode = 'off';
      this.log.warn(`kept placements answers cannot be read (${(e as Error).message}): each answer is built when read`);
      return this.placements(hostId);
    }
    const row = rows[0];
    if (!row) return null; // an unknown host
    if (row.gzip !== null) {
      this.counts.kept++;
      return { gzip: row.gzip, etag: row.etag };
    }
    this.counts.built++;
    const gz = await gzipAnswer(row.body!);
    if (this.mode === 'keep') await this.keep(hostId, row.etag, gz);
    return { gzip: gz, etag: row.etag };
  }

  /** Keeps a built answer's bytes with the tag it was built with; a refused write stops keeping (read mode), any other failure only this one. */
  private async keep(hostId: string, etag: string, gz: Buffer): Promise<void> {
    try {
      await this.db.query(this.keepSql, [hostId, etag, gz]);
    } catch (e) {
      if (refusedWrite(e)) {
        this.mode = 'read';
        this.log.warn(
          `placements answers are not kept in Postgres (${(e as Error).message}): those kept elsewhere are still served, the others built when read`,
        );
      } else this.log.warn(`could not keep the placements answer of ${hostId}: ${(e as Error).message}`);
    }
  }

  async etags(hostIds: readonly string[]): Promise<Map<string, string>> {
    if (!hostIds.length) return new Map();
    const rows: { host_id: string; etag: string }[] = await this.db.query(this.etagsSql, [hostIds]);
    return new Map(rows.map((r) => [r.host_id, r.etag]));
  }
}
