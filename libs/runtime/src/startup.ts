/**
 * Where a process's start stands, so that a start that hangs says where instead of waiting
 * silently (Nest buffers its own log lines until the modules are up). `arm` exits the process
 * when the start takes longer than its limit: an orchestrator (or the fault suite's
 * supervisor) then starts it again, and the line says which step it was in.
 */
export class StartupWatch {
  private step = 'reading the configuration';
  private since = Date.now();
  private readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | undefined;

  at(step: string): void {
    this.step = step;
    this.since = Date.now();
  }

  /** The step in progress and how long it has taken so far. */
  describe(): string {
    return `${this.step} (for ${((Date.now() - this.since) / 1000).toFixed(1)} s)`;
  }

  arm(timeoutMs: number, onTimeout: (message: string) => void): void {
    if (timeoutMs <= 0) return;
    this.timer = setTimeout(
      () => onTimeout(`the start did not finish within ${Math.round(timeoutMs / 1000)} s; it was ${this.describe()}`),
      timeoutMs,
    );
    this.timer.unref();
  }

  done(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.at(`started in ${((Date.now() - this.startedAt) / 1000).toFixed(1)} s`);
  }
}

/** The start of this process (one per process). */
export const startup = new StartupWatch();
