import { DataSource } from 'typeorm';
import { listen } from '@fleetcompat/event-store';
import { TOKENS_CHANNEL } from './token-cache';

/** What keeps tokens in a process: told of every change of access_tokens (TokenCache, KafkaKeyring). */
export interface TokenChangeTarget {
  /** access_tokens changed (or may have): serve nothing verified before it. */
  invalidate(): void;
  /** Whether notifications arrive now (a lost LISTEN connection misses them); optional. */
  setListening?(listening: boolean): void;
}

/**
 * LISTEN on TOKENS_CHANNEL (a trigger notifies it on each commit that changes access_tokens):
 * each notification invalidates every target; the targets hear when the connection is lost
 * and back. Resolves, once listening, to the function that stops it.
 */
export function watchTokenChanges(
  dataSource: DataSource,
  targets: readonly TokenChangeTarget[],
  warn: (message: string) => void,
): Promise<() => Promise<void>> {
  return listen(dataSource, TOKENS_CHANNEL, () => targets.forEach((t) => t.invalidate()), {
    onListening: (on) => targets.forEach((t) => t.setListening?.(on)),
    onError: (e) => warn(`LISTEN ${TOKENS_CHANNEL}: ${e.message} (changes of tokens not heard meanwhile)`),
  });
}
