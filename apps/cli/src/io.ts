/** Where the CLI writes, so that tests can run it in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
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
