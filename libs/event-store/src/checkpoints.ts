import { Checkpoint, Queryable, START } from './types';

/**
 * Helpers for consumers of the store (projector, ...). Call them with the EntityManager or
 * QueryRunner of the transaction that applies the consumer's effects, so that effects and
 * checkpoint commit together.
 */

/** Where `processor` is (START if it never saved a checkpoint). */
export async function loadCheckpoint(processor: string, q: Queryable): Promise<Checkpoint> {
  const rows: { transaction_id: string; global_position: string }[] = await q.query(
    `SELECT transaction_id::text AS transaction_id, global_position::text AS global_position
       FROM processor_checkpoints WHERE processor = $1`,
    [processor],
  );
  return rows[0] ? { transactionId: rows[0].transaction_id, globalPosition: rows[0].global_position } : START;
}

/** Saves `processor`'s checkpoint (upsert). */
export async function saveCheckpoint(processor: string, checkpoint: Checkpoint, q: Queryable): Promise<void> {
  await q.query(
    `INSERT INTO processor_checkpoints (processor, transaction_id, global_position, updated_at)
     VALUES ($1, $2::text::xid8, $3::bigint, now())
     ON CONFLICT (processor) DO UPDATE
       SET transaction_id = EXCLUDED.transaction_id,
           global_position = EXCLUDED.global_position,
           updated_at = EXCLUDED.updated_at`,
    [processor, checkpoint.transactionId, checkpoint.globalPosition],
  );
}

/**
 * Tries to take `processor`'s lock for the caller's transaction
 * (`pg_try_advisory_xact_lock(hashtext('fleetcompat:' || processor))`); true if taken.
 * Never waits. The lock is released when the transaction ends, so a crashed instance never
 * keeps it. Must run inside a transaction (outside one it would be released at once).
 */
export async function withProcessorLock(processor: string, q: Queryable): Promise<boolean> {
  const rows: { locked: boolean }[] = await q.query(
    `SELECT pg_try_advisory_xact_lock(hashtext('fleetcompat:' || $1::text)) AS locked`,
    [processor],
  );
  return rows[0]?.locked === true;
}
