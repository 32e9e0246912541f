import { backoffDelay, StepResult, WorkLoop } from './work-loop';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `cond` holds (timing-independent: only a lower bound of time is ever asserted). */
async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await tick(5);
  }
}

/** A loop over a scripted step: each call records its time and returns the next scripted result. */
function scripted(
  results: (StepResult | Error)[],
  options: Partial<{ backoffInitialMs: number; backoffMaxMs: number }> = {},
) {
  const calls: number[] = [];
  const failures: [number, number][] = [];
  const t0 = Date.now();
  const loop = new WorkLoop({
    step: async () => {
      calls.push(Date.now() - t0);
      const r = results.length > 1 ? results.shift()! : results[0];
      if (r instanceof Error) throw r;
      return r;
    },
    backoffInitialMs: options.backoffInitialMs ?? 40,
    backoffMaxMs: options.backoffMaxMs ?? 160,
    onFailure: (_e, attempt, delay) => {
      failures.push([attempt, delay]);
    },
  });
  return { loop, calls, failures };
}

const idle = (waitMs: number): StepResult => ({ waitMs, wakeOnNotify: true });

describe('WorkLoop', () => {
  it('runs the step again at once while it has work, then idles', async () => {
    // the idle wait is a minute: reaching the fourth call within seconds means no wait between
    const { loop, calls } = scripted(['again', 'again', 'again', idle(60_000)]);
    loop.start();
    await until(() => calls.length === 4);
    await tick(50);
    await loop.stop();
    expect(calls).toHaveLength(4);
  });

  it('when idle, a notify wakes it early', async () => {
    const { loop, calls } = scripted([idle(60_000)]);
    loop.start();
    await until(() => calls.length === 1);
    await tick(30);
    expect(calls).toHaveLength(1);
    loop.notify();
    await until(() => calls.length === 2);
    await loop.stop();
  });

  it('a notify while a step runs skips the idle wait after it', async () => {
    let release!: () => void;
    let n = 0;
    const loop = new WorkLoop({
      step: async () => {
        n++;
        if (n === 1) await new Promise<void>((r) => (release = r));
        return idle(60_000);
      },
      backoffInitialMs: 10,
      backoffMaxMs: 10,
    });
    loop.start();
    await until(() => release !== undefined);
    loop.notify();
    release();
    await until(() => n === 2);
    await loop.stop();
  });

  it('backs off exponentially after failures in a row, capped, not woken by notify, and starts over after a success', async () => {
    const boom = new Error('database down');
    const { loop, calls, failures } = scripted([boom, boom, boom, boom, 'again', boom, idle(60_000)], {
      backoffInitialMs: 40,
      backoffMaxMs: 100,
    });
    loop.start();
    await until(() => calls.length === 1);
    loop.notify(); // must not cut the first backoff short
    await until(() => calls.length === 7);
    await loop.stop();
    expect(failures).toEqual([
      [1, 40],
      [2, 80],
      [3, 100],
      [4, 100],
      [1, 40],
    ]);
    // each wait at least its backoff (timers never fire early)
    const gaps = calls.slice(1).map((c, i) => c - calls[i]);
    expect(gaps[0]).toBeGreaterThanOrEqual(39);
    expect(gaps[1]).toBeGreaterThanOrEqual(79);
    expect(gaps[2]).toBeGreaterThanOrEqual(99);
    expect(calls).toHaveLength(7);
  });

  it('stop lets the step in hand finish and ends any wait at once', async () => {
    let finished = false;
    const loop = new WorkLoop({
      step: async () => {
        await tick(50);
        finished = true;
        return idle(60_000);
      },
      backoffInitialMs: 10,
      backoffMaxMs: 10,
    });
    loop.start();
    await tick(10);
    // the step in hand finishes; the minute-long idle wait after it ends at once
    const t = Date.now();
    await loop.stop();
    expect(Date.now() - t).toBeLessThan(5000);
    expect(finished).toBe(true);
    expect(loop.isRunning).toBe(false);
  });

  it('backoffDelay doubles from the initial delay and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 60, 2000].map((a) => backoffDelay(a, 100, 1000))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
  });
});
