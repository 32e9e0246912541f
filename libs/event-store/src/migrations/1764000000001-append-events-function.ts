import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `fc_append_events`: the whole append in one round trip (Emmett does the same with a
 * stored function). Each statement of a VOLATILE plpgsql function takes a fresh snapshot
 * under READ COMMITTED, so the existence re-check after the stream locks sees every writer
 * that committed while we waited.
 *
 * 1. which eventIds are not stored yet (no locks); none: return, nothing written;
 * 2. lock their streams in sorted order (deadlock-free), creating missing ones;
 * 3. re-check; none new: return (a redelivery); else check the expected version
 *    (SQLSTATE FC409, DETAIL = actual version);
 * 4. one INSERT ... SELECT FROM unnest(...) with positions version + row_number (gapless),
 *    and the stream versions updated in the same statement. If an eventId was stored
 *    meanwhile under another stream, fewer rows are inserted than planned: raise
 *    serialization_failure so the caller retries (and then sees it as a duplicate).
 *
 * Input must be deduplicated by eventId. p_expected_version NULL means any version;
 * 0 means no stream.
 */
export class AppendEventsFunction1764000000001 implements MigrationInterface {
  readonly name = 'AppendEventsFunction1764000000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION fc_append_events(
        p_event_ids text[], p_stream_ids text[], p_types text[], p_schema_versions integer[],
        p_occurred_at timestamptz[], p_sources text[], p_data text[], p_origins text[],
        p_expected_stream text DEFAULT NULL, p_expected_version bigint DEFAULT NULL
      ) RETURNS TABLE (stored integer, stream_version bigint)
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_streams  text[];
        v_locked   integer;
        v_planned  integer;
        v_inserted integer;
        v_version  bigint;
      BEGIN
        SELECT array_agg(DISTINCT e.stream_id ORDER BY e.stream_id) INTO v_streams
          FROM unnest(p_event_ids, p_stream_ids) AS e(event_id, stream_id)
         WHERE NOT EXISTS (SELECT 1 FROM events x WHERE x.event_id = e.event_id);

        IF v_streams IS NOT NULL THEN
          WITH locked AS (
            INSERT INTO streams (stream_id, version)
              SELECT t.s, 0 FROM unnest(v_streams) WITH ORDINALITY AS t(s, n) ORDER BY t.n
            ON CONFLICT (stream_id) DO UPDATE SET version = streams.version
            RETURNING 1
          ) SELECT count(*) INTO v_locked FROM locked;

          SELECT count(*) INTO v_planned
            FROM unnest(p_event_ids) AS e(event_id)
           WHERE NOT EXISTS (SELECT 1 FROM events x WHERE x.event_id = e.event_id);
        ELSE
          v_planned := 0;
        END IF;

        IF v_planned = 0 THEN
          RETURN QUERY SELECT 0, COALESCE((SELECT s.version FROM streams s WHERE s.stream_id = p_expected_stream), 0::bigint);
          RETURN;
        END IF;

        IF p_expected_stream IS NOT NULL THEN
          SELECT s.version INTO v_version FROM streams s WHERE s.stream_id = p_expected_stream;
          v_version := COALESCE(v_version, 0);
          IF p_expected_version IS NOT NULL AND v_version <> p_expected_version THEN
            RAISE EXCEPTION 'wrong-expected-version: stream %, expected %, actual %',
                p_expected_stream, p_expected_version, v_version
              USING ERRCODE = 'FC409', DETAIL = v_version::text;
          END IF;
        END IF;

        WITH input AS (
          SELECT e.*
            FROM unnest(p_event_ids, p_stream_ids, p_types, p_schema_versions, p_occurred_at,
                        p_sources, p_data, p_origins) WITH ORDINALITY
                 AS e(event_id, stream_id, type, schema_version, occurred_at, source, data, origin, n)
           WHERE NOT EXISTS (SELECT 1 FROM events x WHERE x.event_id = e.event_id)
        ), numbered AS (
          SELECT i.*, s.version + row_number() OVER (PARTITION BY i.stream_id ORDER BY i.n) AS pos
            FROM input i JOIN streams s ON s.stream_id = i.stream_id
        ), ins AS (
          INSERT INTO events (event_id, stream_id, stream_position, type, schema_version, occurred_at,
                              source, data, origin)
          SELECT nb.event_id, nb.stream_id, nb.pos, nb.type, nb.schema_version, nb.occurred_at,
                 nb.source, nb.data::jsonb, nb.origin::jsonb
            FROM numbered nb ORDER BY nb.n
          ON CONFLICT (event_id) DO NOTHING
          RETURNING events.stream_id, events.stream_position
        ), upd AS (
          UPDATE streams s SET version = m.pos
            FROM (SELECT ins.stream_id, max(ins.stream_position) AS pos FROM ins GROUP BY ins.stream_id) m
           WHERE s.stream_id = m.stream_id
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM numbered), (SELECT count(*) FROM ins) INTO v_planned, v_inserted;

        IF v_inserted <> v_planned THEN
          RAISE EXCEPTION 'an eventId was stored concurrently (% of %), retry', v_planned - v_inserted, v_planned
            USING ERRCODE = 'serialization_failure';
        END IF;

        RETURN QUERY SELECT v_inserted,
          COALESCE((SELECT s.version FROM streams s WHERE s.stream_id = p_expected_stream), 0::bigint);
      END
      $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DROP FUNCTION IF EXISTS fc_append_events(text[], text[], text[], integer[], timestamptz[], text[], text[], text[], text, bigint)`,
    );
  }
}
