import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signed Kafka messages name their token by hex(sha256(sha256(token))) (libs/auth
 * kafka-signature.ts): an index on that expression finds the token of a key id.
 */
export class KafkaKeyIds1764000200001 implements MigrationInterface {
  readonly name = 'KafkaKeyIds1764000200001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE UNIQUE INDEX IF NOT EXISTS access_tokens_kafka_key_id ON access_tokens ((encode(sha256(decode(token_sha256, 'hex')), 'hex')))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS access_tokens_kafka_key_id`);
  }
}
