import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signed Kafka messages: how a producer proves on Kafka who it is, as a bearer token does over
 * HTTP. The one helper every producer of this repository and the ingest use.
 *
 * A producer holding a token (the `fct_...` secret of `fleetcompat tokens create`, or the
 * bootstrap token) adds one header to each message it produces:
 *
 *     fleetcompat-auth: v1 <keyId> <mac>
 *
 * - `key`   = sha256(token) (32 bytes): what the service stores of the token
 *             (`access_tokens.token_sha256`), so the service can check without the secret;
 * - `keyId` = hex(sha256(key)): names the token without revealing it (nor `key`);
 * - `mac`   = hex(HMAC-SHA256(key, "fleetcompat-auth v1\n" || field(topic) || field(message key) || field(value))),
 *             field(x) = 4-byte big-endian length of x and its bytes, or 0xFFFFFFFF for a null
 *             key or value; the topic is the name actually produced to (with any prefix).
 *
 * The signature binds the message to its topic, key and value: it cannot be moved to another
 * topic or changed. A copy of a signed message is the same event (same eventId): a duplicate.
 * What this trusts: anyone who can read `access_tokens.token_sha256` (the database, its
 * backups) can sign as any token on Kafka, though not call the HTTP API (that needs the
 * secret itself).
 */
export const KAFKA_AUTH_HEADER = 'fleetcompat-auth';

const DOMAIN = Buffer.from('fleetcompat-auth v1\n', 'utf8');
const NULL_FIELD = Buffer.from([0xff, 0xff, 0xff, 0xff]);
const HEX64 = /^[0-9a-f]{64}$/;

/** Bytes of a Kafka message part as kafkajs hands them over (or a producer gives them). */
export type KafkaBytes = Buffer | string | null | undefined;

/** What signs (producer) or checks (service) the messages of one token. */
export interface KafkaSigningKey {
  /** hex(sha256(key)): the name of the key in the header. */
  readonly keyId: string;
  /** sha256(token), 32 bytes: the HMAC key. */
  readonly key: Buffer;
}

/** The signing key of a token secret (producer side). */
export function kafkaSigningKey(token: string): KafkaSigningKey {
  return signingKeyFromTokenHash(createHash('sha256').update(token, 'utf8').digest());
}

/** The signing key from the stored sha256 of a token (service side): 32 bytes or 64 hex digits. */
export function signingKeyFromTokenHash(sha256: Buffer | string): KafkaSigningKey {
  const key = typeof sha256 === 'string' ? Buffer.from(sha256, 'hex') : sha256;
  if (key.length !== 32) throw new Error('a token hash is 32 bytes');
  return { keyId: createHash('sha256').update(key).digest('hex'), key };
}

function field(x: KafkaBytes): Buffer[] {
  if (x === null || x === undefined) return [NULL_FIELD];
  const b = typeof x === 'string' ? Buffer.from(x, 'utf8') : x;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return [len, b];
}

/** HMAC-SHA256 of a message's topic, key and value under `key`. */
export function kafkaMac(key: Buffer, topic: string, messageKey: KafkaBytes, value: KafkaBytes): Buffer {
  const h = createHmac('sha256', key).update(DOMAIN);
  for (const part of [...field(topic), ...field(messageKey), ...field(value)]) h.update(part);
  return h.digest();
}

/** The `fleetcompat-auth` header value for a message. */
export function signKafkaMessage(
  signingKey: KafkaSigningKey,
  topic: string,
  messageKey: KafkaBytes,
  value: KafkaBytes,
): string {
  return `v1 ${signingKey.keyId} ${kafkaMac(signingKey.key, topic, messageKey, value).toString('hex')}`;
}

/**
 * Signs messages for one topic: returns each message with the `fleetcompat-auth` header added
 * (its other headers kept). With no token (null/undefined/empty) the messages are returned as
 * they are: unsigned, for a service that runs with KAFKA_AUTH=none.
 */
/** Message headers as kafkajs takes and gives them (IHeaders). */
export type KafkaHeaders = Record<string, string | Buffer | (string | Buffer)[] | undefined>;

export class KafkaSigner {
  readonly signingKey: KafkaSigningKey | null;

  constructor(token: string | null | undefined) {
    this.signingKey = token ? kafkaSigningKey(token) : null;
  }

  get signs(): boolean {
    return this.signingKey !== null;
  }

  headerValue(topic: string, key: KafkaBytes, value: KafkaBytes): string | null {
    return this.signingKey ? signKafkaMessage(this.signingKey, topic, key, value) : null;
  }

  sign<M extends { key?: KafkaBytes; value: KafkaBytes; headers?: KafkaHeaders }>(
    topic: string,
    message: M,
  ): M & { headers?: Record<string, string> } {
    if (!this.signingKey) return message as M & { headers?: Record<string, string> }; // the signature header is a string
    return {
      ...message,
      headers: {
        ...(message.headers ?? {}),
        [KAFKA_AUTH_HEADER]: signKafkaMessage(this.signingKey, topic, message.key, message.value),
      },
    } as M & {
      headers?: Record<string, string>;
    };
  }

  signAll<M extends { key?: KafkaBytes; value: KafkaBytes; headers?: KafkaHeaders }>(
    topic: string,
    messages: readonly M[],
  ): (M & { headers?: Record<string, string> })[] {
    return messages.map((m) => this.sign(topic, m));
  }
}

/** A parsed `fleetcompat-auth` header, or why it cannot be one. */
export type ParsedKafkaAuth = { ok: true; keyId: string; mac: Buffer } | { ok: false; reason: string };

/** Reads the `fleetcompat-auth` header from a message's headers (as kafkajs gives them). */
export function parseKafkaAuthHeader(headers: Readonly<Record<string, unknown>> | undefined): ParsedKafkaAuth {
  const raw = headers?.[KAFKA_AUTH_HEADER] as string | Buffer | readonly unknown[] | null | undefined; // as kafkajs gives a header
  if (raw === undefined || raw === null) return { ok: false, reason: `unsigned: no ${KAFKA_AUTH_HEADER} header` };
  if (Array.isArray(raw)) {
    if (raw.length !== 1) return { ok: false, reason: `${raw.length} ${KAFKA_AUTH_HEADER} headers: one is expected` };
    const only: unknown = raw[0];
    return parseKafkaAuthHeader({ [KAFKA_AUTH_HEADER]: only });
  }
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
  const parts = text.trim().split(' ');
  if (parts.length !== 3 || parts[0] !== 'v1' || !HEX64.test(parts[1]) || !HEX64.test(parts[2])) {
    return {
      ok: false,
      reason: `the ${KAFKA_AUTH_HEADER} header is not "v1 <keyId: 64 hex digits> <HMAC-SHA256: 64 hex digits>"`,
    };
  }
  return { ok: true, keyId: parts[1], mac: Buffer.from(parts[2], 'hex') };
}

/** Whether `mac` is the signature of the message under `key` (constant time). */
export function verifyKafkaMac(
  key: Buffer,
  topic: string,
  messageKey: KafkaBytes,
  value: KafkaBytes,
  mac: Buffer,
): boolean {
  const expected = kafkaMac(key, topic, messageKey, value);
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}
