import { z } from 'zod';

/**
 * Every setting of the service, from the environment, validated at start. A wrong value
 * stops the process with one line naming the setting (see README "Configuration").
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);
const optionalText = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() ? v.trim() : undefined));

const schema = z.object({
  PORT: int(1, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: optionalText.refine(
    (v) => v === undefined || /^postgres(ql)?:\/\//.test(v),
    'must be a postgres:// URL',
  ),
  DATABASE_POOL_SIZE: int(1, 200).default(10),
  EMBEDDED_PG_DATA_DIR: z.string().min(1).default('.data/postgres'),
  EMBEDDED_PG_PORT: int(1, 65535).default(5433),
  /** As root: where what the system user `postgres` must reach (binaries, data) goes when it cannot reach the checkout. Unset: /var/lib/fleetcompat (else /var/tmp/fleetcompat). */
  EMBEDDED_PG_RUNTIME_DIR: optionalText.refine((v) => v === undefined || v.startsWith('/'), 'must be an absolute path'),
  KAFKA_BROKERS: optionalText.refine(
    (v) => v === undefined || v.split(',').every((b) => /^[^\s:,]+:\d+$/.test(b.trim())),
    'must be host:port[,host:port...]',
  ),
  KAFKA_CLIENT_ID: z.string().min(1).default('fleetcompat'),
  KAFKA_GROUP_ID: z.string().min(1).default('fleetcompat-ingest'),
  KAFKA_SSL: bool.default(false),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: optionalText,
  KAFKA_SASL_PASSWORD: optionalText,
  /** Create the missing topics at start (unset: on for the embedded default, all-in-one without DATABASE_URL; off otherwise: wait for them). */
  KAFKA_CREATE_TOPICS: bool.optional(),
  /** Partitions of the topics the service creates (unset: the broker's num.partitions). */
  KAFKA_TOPIC_PARTITIONS: int(1, 10000).optional(),
  /** Replication factor of the topics the service creates (unset: the broker's default.replication.factor). */
  KAFKA_TOPIC_REPLICATION_FACTOR: int(1, 100).optional(),
  /** signed: every input message must carry a fleetcompat-auth signature of a token whose role may write it (as over HTTP); none: the broker's ACLs alone. */
  KAFKA_AUTH: z.enum(['signed', 'none']).default('signed'),
  /** Longest the ingest keeps a token lookup for the signatures; every change of access_tokens (NOTIFY) drops them sooner. */
  KAFKA_AUTH_CACHE_SECONDS: int(0, 3600).default(30),
  FLEETCOMPAT_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'may hold letters, digits, ".", "_" and "-" only')
    .default(''),
  PROJECTOR_BATCH_SIZE: int(1, 100000).default(2000),
  /** Projector shards (guests by a hash of guestId): how many, and which one this process runs (README "Deploying with shards"). */
  PROJECTOR_SHARDS: int(1, 1024).default(1),
  PROJECTOR_SHARD: int(0, 1023).default(0),
  RELAY_BATCH_SIZE: int(1, 10000).default(500),
  RELAY_MAX_BATCH_SIZE: int(1, 100000).default(4000),
  INGEST_BATCH_SIZE: int(1, 10000).default(500),
  /** ms without a heartbeat before the broker drops an ingest member (a crashed one holds its partitions this long). */
  KAFKA_SESSION_TIMEOUT_MS: int(6000, 300000).default(30000),
  LOG_LEVEL: z.enum(['error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  /** An admin bearer token taken from the environment (first use, tests); unset: tokens come from the database only. */
  FLEETCOMPAT_BOOTSTRAP_TOKEN: optionalText.refine(
    (v) => v === undefined || (v.length >= 16 && v.length <= 200 && !/\s/.test(v)),
    'must be 16-200 characters without spaces',
  ),
  /** Largest request body, as body-parser reads it (e.g. 8mb, 512kb). */
  HTTP_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, 'must be a size such as 8mb or 512kb')
    .default('8mb'),
  /** What-if calls allowed per token in each window of WHAT_IF_RATE_WINDOW_SECONDS. */
  WHAT_IF_RATE_LIMIT: int(1, 100000).default(10),
  WHAT_IF_RATE_WINDOW_SECONDS: int(1, 86400).default(60),
  /** MiB of GET /v1/hosts/{id}/placements answers the API keeps between projector batches (0: no cache). */
  PLACEMENTS_CACHE_MB: int(0, 65536).default(64),
  /** json: one JSON object per line (pino); pretty: coloured lines for a terminal. Default: pretty on a TTY, else json. */
  LOG_FORMAT: z.enum(['json', 'pretty']),
  /** Longest start (Postgres reached, migrations run, modules up, HTTP listening): past it the process says which step it was in and exits 1, to be started again (0: no limit). */
  STARTUP_TIMEOUT_SECONDS: int(0, 86400).default(180),
  /** Longest graceful shutdown (SIGTERM/SIGINT) before the process gives up and exits 1. */
  SHUTDOWN_TIMEOUT_MS: int(1000, 600000).default(20000),
  /** The projector counts as stalled (not ready) when events wait and its checkpoint has not moved for this long. */
  PROJECTOR_STALL_SECONDS: int(5, 86400).default(60),
  /** Longest wait of one readiness check (Postgres ping, Kafka metadata) before it counts as down. */
  HEALTH_CHECK_TIMEOUT_MS: int(100, 60000).default(3000),
  /** How far ahead of the service's clock an event's occurredAt may be; later ones are refused (HTTP 400, dead letter invalid-time). */
  EVENT_MAX_FUTURE_SKEW_SECONDS: int(0, 86400).default(300),
  /** The ingest counts as stalled (not ready) when a partition's chunk has failed to be stored for this long (messages wait behind it). */
  INGEST_STALL_SECONDS: int(5, 86400).default(60),
  /** Events each token may post over POST /v1/events per EVENTS_RATE_WINDOW_SECONDS (per API process); more: 429. */
  EVENTS_RATE_LIMIT: int(1, 100_000_000).default(100000),
  EVENTS_RATE_WINDOW_SECONDS: int(1, 86400).default(60),
  /** Most guests a host may report present at once; a GuestObserved past it is set aside by the projector (visible, not applied). */
  MAX_GUESTS_PER_HOST: int(1, 10_000_000).default(10000),
});

export type Settings = z.output<typeof schema>;

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`configuration error: ${setting} ${message}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the settings; throws ConfigError naming the first bad setting.
 * `stdoutIsTty` picks the default LOG_FORMAT (pretty in a terminal, json otherwise).
 */
export function loadSettings(
  env: NodeJS.ProcessEnv = process.env,
  stdoutIsTty: boolean = Boolean(process.stdout.isTTY),
): Settings {
  const input: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') input[key] = v;
  }
  input.LOG_FORMAT ??= stdoutIsTty ? 'pretty' : 'json';
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const setting = String(issue.path[0] ?? 'environment');
    throw new ConfigError(
      setting,
      `${issue.message}${input[setting] !== undefined ? ` (got "${input[setting]}")` : ''}`,
    );
  }
  const s = parsed.data;
  if (s.KAFKA_SASL_MECHANISM && (!s.KAFKA_SASL_USERNAME || !s.KAFKA_SASL_PASSWORD)) {
    throw new ConfigError(
      s.KAFKA_SASL_USERNAME ? 'KAFKA_SASL_PASSWORD' : 'KAFKA_SASL_USERNAME',
      `is required when KAFKA_SASL_MECHANISM is set`,
    );
  }
  if (s.PROJECTOR_SHARD >= s.PROJECTOR_SHARDS) {
    throw new ConfigError(
      'PROJECTOR_SHARD',
      `must be below PROJECTOR_SHARDS (${s.PROJECTOR_SHARDS}): 0 to ${s.PROJECTOR_SHARDS - 1} (got "${s.PROJECTOR_SHARD}")`,
    );
  }
  return s;
}

/** Does this process create the Kafka topics it misses? KAFKA_CREATE_TOPICS, else on for the embedded default only. */
export function createsTopics(settings: Pick<Settings, 'KAFKA_CREATE_TOPICS' | 'DATABASE_URL'>, role: string): boolean {
  return settings.KAFKA_CREATE_TOPICS ?? (role === 'all-in-one' && !settings.DATABASE_URL);
}

/** The topic names in force (the contract's names, behind an optional prefix). */
export function topicName(settings: Pick<Settings, 'FLEETCOMPAT_TOPIC_PREFIX'>, name: string): string {
  return `${settings.FLEETCOMPAT_TOPIC_PREFIX}${name}`;
}
