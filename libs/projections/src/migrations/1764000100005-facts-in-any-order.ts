import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Facts take their value from the event with the latest occurredAt, whatever order events
 * were stored in: each row keeps when its facts were set (kernels: announced_at, status_at;
 * hosts: facts; guests: presence_at; behaviour rules: declared_at), removals and
 * revocations of what was never seen are kept, a guest is kept per reporting host (primary
 * key guest_id, host_id), and the GUEST_OS declarations get a table. Rows written before
 * this migration lack those times: the migration empties the projection rows (not the
 * decision history, which holds every guest's last sequence and current decision) and
 * records no projection version, so the projector re-projects the whole store on its next
 * start (reproject.ts), carrying every guest's sequence on.
 */
export class FactsInAnyOrder1764000100005 implements MigrationInterface {
  readonly name = 'FactsInAnyOrder1764000100005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE projection.meta (key text PRIMARY KEY, value text NOT NULL)`);
    await q.query(
      `TRUNCATE projection.kernels, projection.hosts, projection.guests, projection.acks, projection.behaviour_rules`,
    );

    await q.query(`ALTER TABLE projection.kernels ALTER COLUMN release DROP NOT NULL, ALTER COLUMN arch DROP NOT NULL`);
    await q.query(
      `ALTER TABLE projection.kernels ADD COLUMN announced_at timestamptz, ADD COLUMN status_at timestamptz NOT NULL`,
    );
    await q.query(`ALTER TABLE projection.hosts ADD COLUMN facts jsonb NOT NULL`);
    await q.query(`ALTER TABLE projection.guests DROP CONSTRAINT guests_pkey, ADD PRIMARY KEY (guest_id, host_id)`);
    await q.query(
      `ALTER TABLE projection.guests ALTER COLUMN mode DROP NOT NULL, ALTER COLUMN memory_mib DROP NOT NULL,
         ALTER COLUMN boot_method DROP NOT NULL, ALTER COLUMN observed_at DROP NOT NULL`,
    );
    await q.query(`ALTER TABLE projection.guests ADD COLUMN presence_at timestamptz NOT NULL`);
    await q.query(`ALTER TABLE projection.behaviour_rules ADD COLUMN declared_at timestamptz NOT NULL`);
    await q.query(
      `CREATE TABLE projection.guest_os_rules (
         guest_os text PRIMARY KEY,
         rule jsonb NOT NULL,
         event_id text NOT NULL,
         declared_at timestamptz NOT NULL
       )`,
    );
  }

  async down(): Promise<void> {
    throw new Error(
      'FactsInAnyOrder1764000100005 cannot be undone: rebuild the projections of the older release from the store instead',
    );
  }
}
