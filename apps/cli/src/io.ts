import { Command, CommanderError } from 'commander';

/** Where the CLI writes, so that tests can run it in-process. */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Environment (CI variables for pipeline metadata). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
};

/** Exit codes of every fleetcompat command. */
export const ExitCode = {
  ok: 0,
  /** The input could not be read or is not a valid kernel image. */
  badInput: 1,
  /** Wrong usage: unknown command or option, missing argument. */
  usage: 2,
  /** The event could not be delivered (broker or API unreachable, or rejected). */
  publishFailed: 3,
} as const;

/** An error that carries its exit code and a one-line message (no stack trace is shown). */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A command group: `fleetcompat <group> <command> ...` hands it the arguments after the group. */
export type GroupHandler = (args: string[], io: CliIo) => Promise<number>;

/** A commander program for `fleetcompat <group>`, writing to `io` and never exiting the process. */
export function groupProgram(group: string, description: string, io: CliIo): Command {
  return new Command(`fleetcompat ${group}`)
    .description(description)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showHelpAfterError(false);
}

/**
 * Runs a group's program and turns what it throws into an exit code and one line on stderr:
 * help is not an error, a usage error is ExitCode.usage, a CliError carries its own code.
 * `result.code` is what the action set (ExitCode.ok unless it said otherwise).
 */
export async function runGroup(
  group: string,
  program: Command,
  args: string[],
  io: CliIo,
  result: { code: number },
): Promise<number> {
  try {
    await program.parseAsync(args, { from: 'user' });
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are not errors; commander has already printed its message
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return ExitCode.ok;
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (e instanceof CliError) {
      io.stderr(`fleetcompat ${group}: ${e.message}\n`);
      return e.exitCode;
    }
    io.stderr(`fleetcompat ${group}: ${(e as Error)?.message ?? String(e)}\n`);
    return ExitCode.badInput;
  }
}
