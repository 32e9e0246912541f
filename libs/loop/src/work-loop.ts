/**
 * The loop of a background worker (the projector, the outbox relay): runs a step, runs it
 * again at once while it has work, idles when it has none (woken early by `notify()`: new
 * work was committed), and backs off exponentially after a failure (not woken by `notify()`,
 * so a failing database is not hammered). `stop()` lets the step in hand finish and ends
 * the loop; it wakes any wait.
 */

/** What a step asks for next: run again now, or wait (up to `ms`; `wakeOnNotify`: `notify()` ends the wait). */
export type StepResult = 'again' | { readonly waitMs: number; readonly wakeOnNotify: boolean };

export interface WorkLoopOptions {
  /** One round of work. A throw counts as a failure: the loop backs off and runs it again. */
  readonly step: () => Promise<StepResult>;
  /** First backoff after a failure, ms (doubled per failure in a row). */
  readonly backoffInitialMs: number;
  /** Backoff cap, ms. */
  readonly backoffMaxMs: number;
  /** Called after each failure with the delay chosen, before the wait (log it, reset a connection). */
  readonly onFailure?: (error: unknown, attempt: number, delayMs: number) => void | Promise<void>;
}

/** Exponential backoff: initial * 2^(attempt-1), capped. `attempt` starts at 1. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  const exp = initialMs * Math.pow(2, Math.max(0, attempt - 1));
  return Math.min(maxMs, Number.isFinite(exp) ? exp : maxMs);
}

export class WorkLoop {
  private running = false;
  private loop?: Promise<void>;
  private wake?: (byNotify: boolean) => void;
  /** notify() was called since the step in hand started: its idle wait is skipped. */
  private notified = false;

  constructor(private readonly options: WorkLoopOptions) {}

  get isRunning(): boolean {
    return this.running;
  }

  /** Starts the loop. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** New work was committed: end an idle wait now (and skip the next one if a step is running). */
  notify(): void {
    this.notified = true;
    this.wake?.(true);
  }

  /** Lets the step in hand finish, then ends the loop. Idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.(false);
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let wait: { waitMs: number; wakeOnNotify: boolean } | null = null;
      try {
        this.notified = false;
        const next = await this.options.step();
        failures = 0;
        if (next !== 'again') wait = next;
      } catch (e) {
        failures++;
        const delay = backoffDelay(failures, this.options.backoffInitialMs, this.options.backoffMaxMs);
        try {
          await this.options.onFailure?.(e, failures, delay);
        } catch {
          // a failing failure handler must not end the loop
        }
        wait = { waitMs: delay, wakeOnNotify: false };
      }
      if (wait && this.running && !(wait.wakeOnNotify && this.notified))
        await this.sleep(wait.waitMs, wait.wakeOnNotify);
    }
  }

  private sleep(ms: number, wakeOnNotify: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = (byNotify) => {
        if (!byNotify || wakeOnNotify) done();
      };
    });
  }
}
