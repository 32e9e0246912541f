import { MigrationInterface, QueryRunner } from 'typeorm';
import { AppendEventsReturnsIds1764000000003 } from './1764000000003-append-events-returns-ids';

/**
 * `fc_append_events` in one statement, and no index on `events.type`.
 *
 * Profile of a fleet batch of 500 events (500 streams) on the function of
 * AppendEventsReturnsIds1764000000003 (docs/benchmarks.md, "Session 4c"): five statements,
 * of which the existence of the eventIds was checked three times (before the stream locks,
 * after them, and in the INSERT), and every new stream row was written twice: inserted at
 * version 0 to lock it, then updated to its new version (a second heap tuple and index entry
 * per stream).
 *
 * Now one statement (same arguments, same result):
 *
 * 1. `input`: the eventIds not stored yet in the statement's snapshot;
 * 2. `locked`: one upsert of their streams, sorted by stream id (the lock order, deadlock
 *    free), straight to the new version (`version + number of new events of the stream`):
 *    a new stream is one tuple; the upsert waits for a concurrent appender of the stream and
 *    then adds to the version that appender committed;
 * 3. `ins`: the events with positions `new version - count + row_number()` in input order,
 *    `ON CONFLICT (event_id) DO NOTHING RETURNING event_id` (the stored ids).
 *
 * If fewer rows were inserted than planned, an eventId of the call was stored by a
 * transaction that committed after the snapshot (a concurrent delivery of the same event):
 * positions would have a gap, so the function raises serialization_failure and everything of
 * the call is rolled back; the caller retries (`retrying`) and then sees those eventIds as
 * duplicates. (Before, the same-stream case was resolved by the re-check after the locks, the
 * cross-stream case already raised.) The expected version is checked against the version the
 * upsert found (`new version - count`), after the statement: a mismatch raises FC409 and
 * rolls the call back. Guarantees unchanged: an eventId stored once forever, gapless
 * positions in input order, the never-skip read order (`transaction_id`, untouched).
 *
 * `plan_cache_mode = force_custom_plan`: a generic plan estimates 10 rows for an unnest of an
 * array parameter and joins the CTEs by nested loops (250,000 comparisons for 500 events,
 * 60 ms instead of 12 ms from the sixth call of a session on).
 *
 * `events_type_idx` is dropped: no query filters events by type (reads go by
 * `(transaction_id, global_position)`, `event_id` or `(stream_id, stream_position)`), and
 * every append paid for it.
 */
export class AppendEventsOneStatement1764000000004 implements MigrationInterface {
  readonly name = 'AppendEventsOneStatement1764000000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS events_type_idx`);
    await q.query(`
      CREATE OR REPLACE FUNCTION fc_append_events(
        p_event_ids text[], p_stream_ids text[], p_types text[], p_schema_versions integer[],
        p_occurred_at timestamptz[], p_sources text[], p_data text[], p_origins text[],
        p_expected_stream text DEFAULT NULL, p_expected_version bigint DEFAULT NULL
      ) RETURNS TABLE (stored integer, stream_version bigint, stored_ids text[])
      LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_custom_plan AS $fn$
      DECLARE
        v_planned  integer;
        v_inserted integer;
        v_ids      text[];
        v_base     bigint;
      BEGIN
        WITH input AS MATERIALIZED (
          SELECT e.*
            FROM unnest(p_event_ids, p_stream_ids, p_types, p_schema_versions, p_occurred_at,
                        p_sources, p_data, p_origins) WITH ORDINALITY
                 AS e(event_id, stream_id, type, schema_version, occurred_at, source, data, origin, n)
           WHERE NOT EXISTS (SELECT 1 FROM events x WHERE x.event_id = e.event_id)
        ), counts AS MATERIALIZED (
          SELECT i.stream_id, count(*) AS c FROM input i GROUP BY i.stream_id
        ), locked AS (
          INSERT INTO streams AS s (stream_id, version)
            SELECT c.stream_id, c.c FROM counts c ORDER BY c.stream_id
          ON CONFLICT (stream_id) DO UPDATE SET version = s.version + excluded.version
          RETURNING s.stream_id, s.version
        ), based AS MATERIALIZED (
          SELECT l.stream_id, l.version - c.c AS base FROM locked l JOIN counts c ON c.stream_id = l.stream_id
        ), ins AS (
          INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, occurred_at,
                              source, data, origin)
          SELECT i.event_id, i.stream_id, b.base + row_number() OVER (PARTITION BY i.stream_id ORDER BY i.n),
                 i.type, i.schema_version, i.occurred_at, i.source, i.data::jsonb, i.origin::jsonb
            FROM input i JOIN based b ON b.stream_id = i.stream_id
           ORDER BY i.n
          ON CONFLICT (event_id) DO NOTHING
          RETURNING events.event_id
        )
        SELECT (SELECT count(*) FROM input), (SELECT count(*) FROM ins),
               (SELECT COALESCE(array_agg(ins.event_id), '{}') FROM ins),
               (SELECT b.base FROM based b WHERE b.stream_id = p_expected_stream)
          INTO v_planned, v_inserted, v_ids, v_base;

        IF v_planned = 0 THEN
          RETURN QUERY SELECT 0, COALESCE((SELECT s.version FROM streams s WHERE s.stream_id = p_expected_stream), 0::bigint), '{}'::text[];
          RETURN;
        END IF;

        IF v_inserted <> v_planned THEN
          RAISE EXCEPTION 'an eventId was stored concurrently (% of %), retry', v_planned - v_inserted, v_planned
            USING ERRCODE = 'serialization_failure';
        END IF;

        IF p_expected_stream IS NOT NULL THEN
          v_base := COALESCE(v_base, (SELECT s.version FROM streams s WHERE s.stream_id = p_expected_stream), 0);
          IF p_expected_version IS NOT NULL AND v_base <> p_expected_version THEN
            RAISE EXCEPTION 'wrong-expected-version: stream %, expected %, actual %',
                p_expected_stream, p_expected_version, v_base
              USING ERRCODE = 'FC409', DETAIL = v_base::text;
          END IF;
        END IF;

        RETURN QUERY SELECT v_inserted,
          COALESCE((SELECT s.version FROM streams s WHERE s.stream_id = p_expected_stream), 0::bigint), v_ids;
      END
      $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The function of AppendEventsReturnsIds1764000000003 (its up drops and creates it) and the index.
    await new AppendEventsReturnsIds1764000000003().up(q);
    await q.query(`CREATE INDEX IF NOT EXISTS events_type_idx ON events (type)`);
  }
}
