import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The event store schema. Raw SQL on purpose: the store is written in SQL, not through
 * entities, and the schema is owned by this migration (never `synchronize`).
 *
 * - `events`: append-only (a statement trigger rejects UPDATE and DELETE). `event_id` is
 *   unique forever (the idempotency key). `transaction_id` is the writing transaction's
 *   id: readers take only rows with `transaction_id < pg_snapshot_xmin(pg_current_snapshot())`
 *   ordered by `(transaction_id, global_position)`, so an event that commits late is never
 *   skipped (Emmett's approach; a bare sequence commits out of order).
 * - `streams`: one row per stream with its version (= position of its last event); the row
 *   lock serializes appenders of a stream and keeps positions gapless.
 * - `processor_checkpoints`: where each consumer of the store (projector, ...) is, saved in
 *   the same transaction as its effects.
 */
export class CreateEventStore1764000000000 implements MigrationInterface {
  readonly name = 'CreateEventStore1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE events (
        global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
        event_id        text        NOT NULL,
        stream_id       text        NOT NULL,
        stream_position bigint      NOT NULL CHECK (stream_position >= 1),
        type            text        NOT NULL,
        schema_version  integer     NOT NULL,
        occurred_at     timestamptz NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        source          text        NOT NULL,
        data            jsonb       NOT NULL,
        origin          jsonb       NOT NULL DEFAULT '{}'::jsonb,
        CONSTRAINT events_event_id_key UNIQUE (event_id),
        CONSTRAINT events_stream_position_key UNIQUE (stream_id, stream_position)
      )`);
    await q.query(`CREATE INDEX events_transaction_order_idx ON events (transaction_id, global_position)`);
    await q.query(`CREATE INDEX events_type_idx ON events (type)`);

    await q.query(`
      CREATE TABLE streams (
        stream_id text   PRIMARY KEY,
        version   bigint NOT NULL DEFAULT 0 CHECK (version >= 0)
      )`);

    await q.query(`
      CREATE TABLE processor_checkpoints (
        processor       text        PRIMARY KEY,
        transaction_id  xid8        NOT NULL DEFAULT '0',
        global_position bigint      NOT NULL DEFAULT 0,
        updated_at      timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE FUNCTION fc_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP
          USING ERRCODE = 'restrict_violation';
      END
      $$`);
    await q.query(`
      CREATE TRIGGER events_append_only
        BEFORE UPDATE OR DELETE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION fc_events_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS processor_checkpoints`);
    await q.query(`DROP TABLE IF EXISTS streams`);
    await q.query(`DROP TABLE IF EXISTS events`);
    await q.query(`DROP FUNCTION IF EXISTS fc_events_append_only()`);
  }
}
