import { MigrationInterface, QueryRunner } from 'typeorm';

const SIGNATURE =
  'fc_append_events(text[], text[], text[], integer[], timestamptz[], text[], text[], text[], text, bigint)';

/**
 * `fc_append_events` also returns the eventIds it stored (`stored_ids`), so that a caller
 * (the ingest's per-type metrics) knows which events of a call were new instead of inferring
 * it. Everything else is as in AppendEventsFunction1764000000001 (same steps, same locks, same
 * guarantees: an eventId stored once forever, gapless positions, the never-skip read order).
 * A function's result type cannot be changed in place: it is dropped and created again in
 * the migration's transaction.
 */
export class AppendEventsReturnsIds1764000000003 implements MigrationInterface {
  readonly name = 'AppendEventsReturnsIds1764000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION ${SIGNATURE}`);
    await q.query(`
      CREATE FUNCTION fc_append_events(
        p_event_ids text[], p_stream_ids text[], p_types text[], p_schema_versions integer[],
        p_occurred_at timestamptz[], p_sources text[], p_data text[], p_origins text[],
        p_expected_stream text DEFAULT NULL, p_expected_version bigint DEFAULT NULL
      ) RETURNS TABLE (stored integer, stream_version bigint, stored_ids text[])
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        v_streams  text[];
        v_locked   integer;
        v_planned  integer;
        v_inserted integer;
        v_version  bigint;
        v_ids      text[];
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
          RETURN QUERY SELECT 0, COALESCE((SELECT s.version FROM streams s WHERE s.stream_id = p_expected_stream), 0::bigint), '{}'::text[];
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
          RETURNING events.event_id, events.stream_id, events.stream_position
        ), upd AS (
          UPDATE streams s SET version = m.pos
            FROM (SELECT ins.stream_id, max(ins.stream_position) AS pos FROM ins GROUP BY ins.stream_id) m
           WHERE s.stream_id = m.stream_id
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM numbered), (SELECT count(*) FROM ins), (SELECT COALESCE(array_agg(ins.event_id), '{}') FROM ins)
          INTO v_planned, v_inserted, v_ids;

        IF v_inserted <> v_planned THEN
          RAISE EXCEPTION 'an eventId was stored concurrently (% of %), retry', v_planned - v_inserted, v_planned
            USING ERRCODE = 'serialization_failure';
        END IF;

        RETURN QUERY SELECT v_inserted,
          COALESCE((SELECT s.version FROM streams s WHERE s.stream_id = p_expected_stream), 0::bigint), v_ids;
      END
      $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION ${SIGNATURE}`);
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
}
