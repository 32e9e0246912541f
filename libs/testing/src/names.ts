import { randomBytes } from 'node:crypto';

/** Broker list from KAFKA_BROKERS (comma-separated), default 127.0.0.1:9092. */
export function brokers(): string[] {
  return (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
}

/** A topic or group name no other test (or run) uses: `<prefix>.<time>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}.${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
