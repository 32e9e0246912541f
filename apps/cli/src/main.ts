#!/usr/bin/env node
import { CliIo, ExitCode, GroupHandler, processIo } from './io';
import { hostGroup } from './host';
import { kafkaGroup } from './kafka';
import { kernelGroup } from './kernel';
import { projectionsGroup } from './projections';
import { sampleGroup } from './sample';
import { tokensGroup } from './tokens';

/**
 * `fleetcompat <group> <command> [options]`. Add a group by adding it to this map; each
 * group parses its own commands and options.
 */
export const groups: Record<string, { describe: string; run: GroupHandler }> = {
  kernel: { describe: 'inspect kernel images and publish KernelBuildCompleted', run: kernelGroup },
  sample: { describe: 'load the sample fleet (or a generated one) into a running service', run: sampleGroup },
  projections: {
    describe: 'rebuild the projections from the event store and compare them with the live ones',
    run: projectionsGroup,
  },
  tokens: { describe: 'create, revoke and list the bearer tokens of the HTTP API', run: tokensGroup },
  host: {
    describe: "a host's side: the agent that applies its placements, the pre-reboot gate (host ready), its status",
    run: hostGroup,
  },
  kafka: {
    describe: 'sign Kafka messages (the fleetcompat-auth header) for producers such as kcat',
    run: (args, io) => kafkaGroup(args, io),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(groups).map((g) => g.length));
  const lines = Object.entries(groups).map(([name, g]) => `  ${name.padEnd(width)}  ${g.describe}`);
  return `Usage: fleetcompat <group> <command> [options]\n\nGroups:\n${lines.join('\n')}\n\nRun "fleetcompat <group> --help" for its commands.\n`;
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function run(argv: string[], io: CliIo = processIo): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    (group ? io.stdout : io.stderr)(usage());
    return group ? ExitCode.ok : ExitCode.usage;
  }
  const handler = groups[group];
  if (!handler) {
    io.stderr(`fleetcompat: unknown command group "${group}"\n\n${usage()}`);
    return ExitCode.usage;
  }
  try {
    return await handler.run(rest, io);
  } catch (e) {
    io.stderr(`fleetcompat: ${(e as Error)?.message ?? String(e)}\n`);
    return ExitCode.badInput;
  }
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`fleetcompat: ${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
