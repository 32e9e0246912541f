/** A consumed Kafka message, as far as ingest cares (kafkajs' `KafkaMessage` fits). */
export interface RawMessage {
  readonly offset: string;
  readonly key?: Buffer | string | null;
  readonly value: Buffer | string | null;
  /** The message headers (kafkajs' IHeaders): `fleetcompat-auth` carries the signature. */
  readonly headers?: Readonly<Record<string, Buffer | string | (Buffer | string)[] | undefined>>;
}
