import { DataSource } from 'typeorm';
import { openDatabase } from '@fleetcompat/platform';
import { CliError, CliIo, ExitCode } from './io';

/**
 * Runs `work` on the database of `--database-url` (else DATABASE_URL), closing it after;
 * a usage error when neither is given.
 */
export async function withDatabase<T>(
  url: string | undefined,
  io: CliIo,
  options: { migrate: boolean; poolSize?: number },
  work: (ds: DataSource) => Promise<T>,
): Promise<T> {
  const db = url ?? io.env.DATABASE_URL;
  if (!db) throw new CliError(ExitCode.usage, 'set DATABASE_URL or pass --database-url');
  const ds = await openDatabase({ url: db, migrate: options.migrate, poolSize: options.poolSize });
  try {
    return await work(ds);
  } finally {
    await ds.destroy();
  }
}
