import { DataSource } from 'typeorm';
import { eventStoreMigrations } from '@fleetcompat/event-store';
import { projectionMigrations } from '@fleetcompat/projections';
import { authMigrations } from '@fleetcompat/auth';

export const allMigrations = [...eventStoreMigrations, ...projectionMigrations, ...authMigrations];

export interface DatabaseOptions {
  readonly url: string;
  readonly poolSize?: number;
  /** Run pending migrations at start (under an advisory lock, so that processes starting together do not race). */
  readonly migrate?: boolean;
  /** Told each step as it begins (a start that hangs can say where). */
  readonly onStep?: (step: string) => void;
}

/** Connects to Postgres through TypeORM (never `synchronize`: the schema comes from migrations). */
export async function openDatabase(options: DatabaseOptions): Promise<DataSource> {
  const ds = new DataSource({
    type: 'postgres',
    url: options.url,
    migrations: allMigrations,
    migrationsRun: false,
    synchronize: false,
    logging: false,
    extra: { max: options.poolSize ?? 10, connectionTimeoutMillis: 10000 },
  });
  const step = options.onStep ?? (() => undefined);
  step('connecting to Postgres');
  await ds.initialize();
  if (options.migrate ?? true) {
    const qr = ds.createQueryRunner();
    await qr.connect();
    try {
      step('waiting for the migrations lock (another process is migrating)');
      await qr.query(`SELECT pg_advisory_lock(hashtext('fleetcompat:migrations'))`);
      step('running migrations');
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await qr.query(`SELECT pg_advisory_unlock(hashtext('fleetcompat:migrations'))`).catch(() => undefined);
      await qr.release();
    }
  }
  return ds;
}
