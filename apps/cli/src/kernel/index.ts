import { Command, Option } from 'commander';
import { CliError, CliIo, ExitCode, groupProgram, runGroup } from '../io';
import { formatTable, rsdpReason, toJson } from './format';
import { buildKernelBuildCompleted, pipelineFromEnv, sendToHttp, sendToKafka } from './publish';
import { maxDecompressed, readAndInspect } from './read-image';

function program(io: CliIo, result: { code: number }): Command {
  const root = groupProgram(
    'kernel',
    'Read the Xen ELF notes of a kernel image (vmlinux, compressed vmlinux, bzImage) and publish them',
    io,
  );

  const maxOpt = () =>
    new Option('--max-decompressed-mib <mib>', 'refuse images that decompress to more than this (default 256)');

  root
    .command('inspect')
    .description('print the Xen notes of a kernel image and what the libxl RSDP rule does with it')
    .argument('<image>', 'kernel image: vmlinux, vmlinuz (bzImage), or a compressed vmlinux')
    .option('--json', 'machine-readable output')
    .addOption(maxOpt())
    .exitOverride()
    .action((image: string, opts: { json?: boolean; maxDecompressedMib?: string }) => {
      const r = readAndInspect(image, maxDecompressed(opts.maxDecompressedMib));
      io.stdout(opts.json ? toJson(image, r) : formatTable(image, r));
      result.code = ExitCode.ok;
    });

  root
    .command('publish')
    .description('inspect a kernel image and emit KernelBuildCompleted to Kafka or to the HTTP API')
    .argument('<image>', 'kernel image: vmlinux, vmlinuz (bzImage), or a compressed vmlinux')
    .option('--brokers <list>', 'Kafka bootstrap brokers, comma-separated (host:port,...)')
    .option('--topic <topic>', 'Kafka topic (default fleet.kernel-builds.v1)')
    .option('--url <url>', 'base URL of the fleetcompat HTTP API: POST {url}/v1/events')
    .option(
      '--token <token>',
      'token (role ci): the bearer token for --url, the signature of the message for --brokers (default: FLEETCOMPAT_TOKEN)',
    )
    .option('--dry-run', 'print the event, send nothing')
    .option('--release <release>', 'kernel release (uname -r), when the image does not carry it')
    .option('--arch <arch>', 'architecture (default: from the ELF, e.g. x86_64)')
    .option('--distro <distro>', 'distribution, e.g. debian-12')
    .option('--source <source>', 'event source (default: the CI system and project, or fleetcompat-cli)')
    .option('--pipeline-name <name>', 'pipeline name (default: from the CI variables)')
    .option('--pipeline-run-id <id>', 'pipeline run id (default: from the CI variables)')
    .option('--pipeline-url <url>', 'pipeline run URL (default: from the CI variables)')
    .option('--timeout-seconds <s>', 'give up delivering after this long', '30')
    .option('--json', 'print the event sent as JSON')
    .addOption(maxOpt())
    .exitOverride()
    .action(async (image: string, o: Record<string, string | boolean | undefined>) => {
      const str = (k: string) => (typeof o[k] === 'string' ? o[k] : undefined);
      const targets = [str('brokers') ? 1 : 0, str('url') ? 1 : 0, o.dryRun ? 1 : 0].reduce((a, b) => a + b, 0);
      if (targets !== 1)
        throw new CliError(ExitCode.usage, 'publish needs exactly one of --brokers <list>, --url <url> or --dry-run');
      const timeout = Number(str('timeoutSeconds'));
      if (!Number.isFinite(timeout) || timeout <= 0)
        throw new CliError(ExitCode.usage, '--timeout-seconds must be a positive number');
      const r = readAndInspect(image, maxDecompressed(str('maxDecompressedMib')));
      const fromEnv = pipelineFromEnv(io.env);
      const event = buildKernelBuildCompleted(r, {
        release: str('release'),
        arch: str('arch'),
        distro: str('distro'),
        source: str('source') ?? fromEnv.source,
        pipeline: {
          name: str('pipelineName') ?? fromEnv.pipeline?.name,
          runId: str('pipelineRunId') ?? fromEnv.pipeline?.runId,
          url: str('pipelineUrl') ?? fromEnv.pipeline?.url,
        },
      });
      if (o.dryRun) {
        io.stdout(JSON.stringify(event, null, 2) + '\n');
        result.code = ExitCode.ok;
        return;
      }
      const brokers = str('brokers')
        ?.split(',')
        .map((b) => b.trim())
        .filter(Boolean);
      const sent = brokers
        ? await sendToKafka(event, brokers, str('topic'), timeout * 1000, str('token') ?? io.env.FLEETCOMPAT_TOKEN)
        : await sendToHttp(event, str('url') as string, timeout * 1000, str('token') ?? io.env.FLEETCOMPAT_TOKEN);
      if (o.json) {
        io.stdout(JSON.stringify(event, null, 2) + '\n');
      } else {
        io.stdout(
          `published KernelBuildCompleted ${event.eventId}\n` +
            `  image ${r.sha256} release ${event.data.release}\n` +
            (r.bootloader
              ? `  a ${r.bootloader.name} ${r.bootloader.mode.toUpperCase()} bootloader build: guests booting through it name it in boot.bootloaderSha256\n`
              : '') +
            `  RSDP ${r.rsdpPlacement} (${rsdpReason(r)}), PVH-capable ${r.pvhCapable ? 'yes' : 'no'}\n` +
            `  to ${sent.description}\n`,
        );
      }
      result.code = ExitCode.ok;
    });
  return root;
}

/** `fleetcompat kernel <inspect|publish> ...` */
export async function kernelGroup(args: string[], io: CliIo): Promise<number> {
  const result = { code: ExitCode.ok as number };
  return runGroup('kernel', program(io, result), args, io, result);
}
