import { readFileSync } from 'node:fs';
import { KafkaSigner } from '@fleetcompat/auth';
import { CliError, CliIo, ExitCode, groupProgram, runGroup } from '../io';

/**
 * `fleetcompat kafka sign`: the `fleetcompat-auth` header value for one message, so that any
 * Kafka client (kcat, say) can produce what a service with KAFKA_AUTH=signed accepts. The value
 * is read as bytes (a file, else stdin) and must be produced exactly so.
 */
export async function kafkaGroup(
  args: string[],
  io: CliIo,
  readStdin: () => Buffer = () => readFileSync(0),
): Promise<number> {
  const result: { code: number } = { code: ExitCode.ok };
  const root = groupProgram('kafka', 'sign Kafka messages for a service with KAFKA_AUTH=signed', io);
  root
    .command('sign')
    .description(
      'print the fleetcompat-auth header value of one message (its topic, key and value), signed with a token: kcat -H "fleetcompat-auth=$(fleetcompat kafka sign ...)"',
    )
    .requiredOption('--topic <topic>', 'the topic the message is produced to, with any FLEETCOMPAT_TOPIC_PREFIX')
    .option('--key <key>', 'the message key (none: a null key)')
    .option('--value-file <file>', 'the message value (default: stdin), byte for byte as it is produced')
    .option('--token <token>', 'the token whose role may write the event (default: FLEETCOMPAT_TOKEN)')
    .exitOverride()
    .action((o: { topic: string; key?: string; valueFile?: string; token?: string }) => {
      const token = o.token ?? io.env.FLEETCOMPAT_TOKEN;
      if (!token) throw new CliError(ExitCode.usage, 'a token is needed: --token or FLEETCOMPAT_TOKEN');
      let value: Buffer;
      try {
        value = o.valueFile ? readFileSync(o.valueFile) : readStdin();
      } catch (e) {
        throw new CliError(ExitCode.badInput, `${o.valueFile ?? 'stdin'}: ${(e as Error).message}`);
      }
      io.stdout(`${new KafkaSigner(token).headerValue(o.topic, o.key ?? null, value)}\n`);
    });
  return runGroup('kafka', root, args, io, result);
}
