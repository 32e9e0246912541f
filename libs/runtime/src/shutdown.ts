import { Logger } from '@nestjs/common';

/** One step of the shutdown, in order. */
export interface ShutdownStep {
  readonly name: string;
  /** `leftMs`: what is left of the shutdown's time budget. */
  run(leftMs: number): Promise<void>;
}

export interface ShutdownOptions {
  /** Longest the whole shutdown may take; past it the process exits with `timeoutExitCode`. */
  readonly timeoutMs: number;
  /** Exit code after a clean shutdown (0). */
  readonly exitCode?: number;
  /** Exit code when the timeout passes or a step fails (1). */
  readonly timeoutExitCode?: number;
  /** How to exit (tests replace it). */
  readonly exit?: (code: number) => void;
  /** Signals handled (SIGTERM and SIGINT). */
  readonly signals?: readonly NodeJS.Signals[];
}

/**
 * Graceful shutdown on SIGTERM/SIGINT, instead of Nest's enableShutdownHooks (which re-raises
 * the signal after its hooks, so the process dies by the signal, not with 0). The steps run in
 * order; the process then exits 0. If they take longer than `timeoutMs`, or one throws, it
 * exits 1. A second signal while shutting down exits at once (130 for SIGINT, 143 for SIGTERM).
 */
export class GracefulShutdown {
  private readonly log = new Logger('Shutdown');
  private started?: Promise<void>;
  private readonly handlers = new Map<NodeJS.Signals, () => void>();

  constructor(
    private readonly steps: readonly ShutdownStep[],
    private readonly options: ShutdownOptions,
  ) {}

  /** Listens for the signals. */
  install(): this {
    for (const signal of this.options.signals ?? (['SIGTERM', 'SIGINT'] as const)) {
      const handler = () => {
        if (this.started) {
          this.log.warn(`${signal} again while shutting down: exiting now`);
          this.exit(128 + (signal === 'SIGINT' ? 2 : 15));
          return;
        }
        void this.shutdown(signal);
      };
      this.handlers.set(signal, handler);
      process.on(signal, handler);
    }
    return this;
  }

  uninstall(): void {
    for (const [signal, handler] of this.handlers) process.removeListener(signal, handler);
    this.handlers.clear();
  }

  /** Runs the steps once (later calls return the same promise) and exits (`exitCode`, else the configured one). */
  shutdown(reason: string, exitCode?: number): Promise<void> {
    this.started ??= this.run(reason, exitCode);
    return this.started;
  }

  private async run(reason: string, exitCode?: number): Promise<void> {
    const began = Date.now();
    this.log.log(`${reason}: shutting down (at most ${this.options.timeoutMs} ms)`);
    const timer = setTimeout(() => {
      this.log.error(
        `shutdown did not finish within ${this.options.timeoutMs} ms: exiting ${this.options.timeoutExitCode ?? 1}`,
      );
      this.exit(this.options.timeoutExitCode ?? 1);
    }, this.options.timeoutMs);
    timer.unref();
    let code = exitCode ?? this.options.exitCode ?? 0;
    for (const step of this.steps) {
      const t = Date.now();
      try {
        await step.run(Math.max(0, began + this.options.timeoutMs - Date.now()));
        this.log.log(`${step.name} done in ${Date.now() - t} ms`);
      } catch (e) {
        code = this.options.timeoutExitCode ?? 1;
        this.log.error(`${step.name} failed: ${(e as Error).stack ?? String(e)}`);
      }
    }
    clearTimeout(timer);
    this.log.log(`shut down in ${Date.now() - began} ms: exiting ${code}`);
    this.exit(code);
  }

  private exited = false;

  private exit(code: number): void {
    if (this.exited) return;
    this.exited = true;
    (this.options.exit ?? ((c: number) => process.exit(c)))(code);
  }
}

/**
 * Waits for `work` at most `ms`; past that logs `onTimeout` and resolves (the work goes on,
 * unawaited). For shutdown steps whose abandonment is safe (e.g. a consumer that cannot leave
 * its group while the broker is away: what it has not committed is redelivered).
 */
export async function bounded(work: Promise<void>, ms: number, onTimeout: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
  try {
    if ((await Promise.race([work, late])) === 'late') new Logger('Shutdown').warn(`${onTimeout} (after ${ms} ms)`);
  } finally {
    clearTimeout(timer);
  }
}
