import { DataSource, QueryRunner } from 'typeorm';

/** SQLSTATEs after which the whole transaction can simply be run again. */
const RETRIABLE_SQLSTATES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '23505', // unique_violation
]);

/** Thrown inside a write transaction to have it rolled back and run again. */
export class RetryTransaction extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RetryTransaction';
  }
}

/** The SQLSTATE of a pg / TypeORM QueryFailedError, if any. */
export function sqlStateOf(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isRetriable(error: unknown): boolean {
  if (error instanceof RetryTransaction) return true;
  const state = sqlStateOf(error);
  return state !== undefined && RETRIABLE_SQLSTATES.has(state);
}

export interface TransactionOptions {
  /** Attempts after the first (default 10). */
  readonly retries?: number;
}

/**
 * Runs `work` in a READ COMMITTED transaction on its own connection. `work` returns
 * `{ result, commit }`: commit=false rolls back (nothing to keep). Retriable failures
 * (deadlock, serialization, unique violation, RetryTransaction) roll back and run `work`
 * again, with a short jittered backoff, up to `retries` times.
 */
export async function runTransaction<T>(
  dataSource: DataSource,
  work: (q: QueryRunner) => Promise<{ result: T; commit: boolean }>,
  options: TransactionOptions = {},
): Promise<T> {
  const retries = options.retries ?? 10;
  for (let attempt = 0; ; attempt++) {
    const q = dataSource.createQueryRunner();
    try {
      await q.connect();
      await q.startTransaction();
      let outcome: { result: T; commit: boolean };
      try {
        outcome = await work(q);
      } catch (error) {
        if (q.isTransactionActive) await q.rollbackTransaction().catch(() => undefined);
        throw error;
      }
      if (outcome.commit) await q.commitTransaction();
      else await q.rollbackTransaction();
      return outcome.result;
    } catch (error) {
      if (attempt < retries && isRetriable(error)) {
        await sleep(Math.random() * Math.min(50, 2 ** attempt));
        continue;
      }
      throw error;
    } finally {
      await q.release();
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `attempt` (a statement outside any explicit transaction, e.g. appendEvents on the
 * DataSource) again after a retriable failure, up to `retries` times.
 */
export async function retrying<T>(attempt: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const retries = options.retries ?? 10;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n < retries && isRetriable(error)) {
        await sleep(Math.random() * Math.min(50, 2 ** n));
        continue;
      }
      throw error;
    }
  }
}
