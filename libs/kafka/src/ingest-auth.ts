import { KafkaKeyring, parseKafkaAuthHeader, Principal, verifyKafkaMac } from '@fleetcompat/auth';
import { Rejection } from '@fleetcompat/contract';
import type { RawMessage } from './raw-message';

export type MessageAuthentication = { ok: true; principal: Principal } | { ok: false; rejection: Rejection };

/**
 * Who signed a consumed message (KAFKA_AUTH=signed). `prepare` runs before a chunk is sorted
 * (it may query the token store); `authenticate` is then synchronous for each message of it.
 * What the signer may write is checked afterwards with the same rule as HTTP (refusedEvents).
 */
export interface IngestAuthenticator {
  prepare(messages: readonly RawMessage[]): Promise<void>;
  authenticate(topic: string, message: RawMessage): MessageAuthentication;
}

/** Checks the `fleetcompat-auth` header (libs/auth kafka-signature.ts) against the tokens of the keyring. */
export class SignedMessageAuthenticator implements IngestAuthenticator {
  constructor(readonly keyring: KafkaKeyring) {}

  async prepare(messages: readonly RawMessage[]): Promise<void> {
    const ids = new Set<string>();
    for (const m of messages) {
      const h = parseKafkaAuthHeader(m.headers);
      if (h.ok) ids.add(h.keyId);
    }
    if (ids.size) await this.keyring.load(ids);
  }

  authenticate(topic: string, message: RawMessage): MessageAuthentication {
    const h = parseKafkaAuthHeader(message.headers);
    if (!h.ok)
      return refuse(`${h.reason} (KAFKA_AUTH=signed: every input message must be signed with its producer's token)`);
    const entry = this.keyring.get(h.keyId);
    if (entry === undefined) throw new Error('SignedMessageAuthenticator: prepare() was not called for this message');
    if (entry === null) return refuse(`the token of key id ${h.keyId.slice(0, 16)}... is unknown or revoked`);
    if (!verifyKafkaMac(entry.key, topic, message.key, message.value, h.mac)) {
      return refuse(
        `the signature does not match the message's topic, key and value (token ${entry.principal.tokenId})`,
      );
    }
    return { ok: true, principal: entry.principal };
  }
}

function refuse(message: string): MessageAuthentication {
  return { ok: false, rejection: { code: 'unauthenticated', message } };
}
