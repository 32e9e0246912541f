import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The projection tables as first released (frozen: later shapes come from later migrations;
 * `projectionTablesSql` in ../schema.ts is the current shape, for rebuilds).
 */
const TABLES_V1 = [
  `CREATE SCHEMA IF NOT EXISTS projection`,
  `CREATE TABLE projection.kernels (
     image_sha256 text PRIMARY KEY,
     release text NOT NULL,
     arch text NOT NULL,
     distro text,
     xen_notes jsonb,
     pipeline jsonb,
     revoked boolean NOT NULL DEFAULT false,
     revoked_reason text,
     last_event_id text NOT NULL
   )`,
  `CREATE TABLE projection.hosts (
     host_id text PRIMARY KEY,
     registered boolean NOT NULL,
     hypervisor_version text,
     hypervisor_build text,
     rsdp_override_supported boolean NOT NULL,
     labels jsonb NOT NULL DEFAULT '{}',
     upgrade jsonb,
     wave_id text GENERATED ALWAYS AS (upgrade->>'waveId') STORED,
     last_event_id text NOT NULL
   )`,
  `CREATE INDEX ON projection.hosts (wave_id)`,
  `CREATE TABLE projection.guests (
     guest_id text PRIMARY KEY,
     host_id text NOT NULL,
     present boolean NOT NULL,
     mode text NOT NULL,
     memory_mib integer NOT NULL,
     boot_method text NOT NULL,
     kernel_sha256 text,
     bootloader_sha256 text,
     observed_at timestamptz NOT NULL,
     status text NOT NULL,
     need text,
     sequence integer NOT NULL,
     decision jsonb,
     last_event_id text NOT NULL
   )`,
  `CREATE INDEX ON projection.guests (host_id, guest_id)`,
  `CREATE INDEX ON projection.guests (kernel_sha256) WHERE kernel_sha256 IS NOT NULL`,
  `CREATE INDEX ON projection.guests (bootloader_sha256) WHERE bootloader_sha256 IS NOT NULL`,
  `CREATE INDEX ON projection.guests (status, guest_id)`,
  `CREATE TABLE projection.decisions (
     decision_id text PRIMARY KEY,
     guest_id text NOT NULL,
     host_id text NOT NULL,
     sequence integer NOT NULL,
     kind text NOT NULL,
     message jsonb NOT NULL,
     caused_by jsonb NOT NULL,
     detail jsonb,
     decided_at timestamptz NOT NULL,
     UNIQUE (guest_id, sequence)
   )`,
  `CREATE INDEX ON projection.decisions (host_id)`,
  `CREATE TABLE projection.acks (
     host_id text NOT NULL,
     guest_id text NOT NULL,
     decision_id text NOT NULL,
     applied_at timestamptz NOT NULL,
     event_id text NOT NULL,
     PRIMARY KEY (host_id, guest_id)
   )`,
  `CREATE TABLE projection.behaviour_rules (
     key text PRIMARY KEY,
     rule jsonb NOT NULL,
     event_id text NOT NULL
   )`,
  `CREATE TABLE outbox (
     id bigserial PRIMARY KEY,
     topic text NOT NULL,
     key text NOT NULL,
     value jsonb NOT NULL,
     headers jsonb,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
];

export class CreateProjections1764000100000 implements MigrationInterface {
  name = 'CreateProjections1764000100000';

  async up(q: QueryRunner): Promise<void> {
    for (const sql of TABLES_V1) await q.query(sql);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE outbox');
    await q.query('DROP SCHEMA IF EXISTS projection CASCADE');
  }
}
