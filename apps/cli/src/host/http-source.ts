import { backoffMs, messagesOfPlacements } from './state';
import { Sleeper } from './sleeper';

/** What a source hands the agent: messages to merge, and the position they bring it to. */
export interface SourceSink {
  /** Merges and saves; resolves once the state (with the position) is on disk. */
  messages(values: unknown[], position: { etag?: string | null; nextOffset?: string }): Promise<void>;
  /** The source has nothing newer than what was handed over: the agent is in sync now. */
  synced(): Promise<void>;
  /** A problem reading the source (one line); null once it works again. */
  problem(message: string | null): void;
}

export interface HttpSourceOptions {
  readonly url: string;
  readonly hostId: string;
  readonly token: string | undefined;
  /** Seconds the API may hold a request (the long-poll). */
  readonly waitSeconds: number;
  /** The tag of the answer already merged (from the state). */
  readonly etag: string | null;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
}

/** An HTTP failure with what the agent logs about it. */
export class HttpError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
  }
}

export function apiUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

export async function problemOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const p = JSON.parse(text) as { title?: string; detail?: string };
    return [p.title, p.detail].filter(Boolean).join(': ') || text.slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}

export function fetchError(e: unknown, what: string): HttpError {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const why =
    err.name === 'TimeoutError' ? 'no answer in time' : (err.cause?.code ?? err.cause?.message ?? err.message);
  return new HttpError(null, `${what}: ${why}`);
}

/**
 * The long-poll: `GET {url}/v1/hosts/{id}/placements?wait=N` with `If-None-Match` set to the
 * tag of the last answer merged. The API answers 304 when the wait runs out with nothing new,
 * and 200 with the whole current set as soon as the host's placements change; the agent merges
 * it (per guest by sequence) and asks again with the new tag. Failures back off (capped); 401
 * and 403 too, since a token can be fixed while the agent waits.
 */
export class HttpSource {
  private running = false;
  private controller?: AbortController;
  private etag: string | null;
  private readonly sleeper = new Sleeper();
  requests = 0;

  constructor(
    private readonly o: HttpSourceOptions,
    private readonly sink: SourceSink,
  ) {
    this.etag = o.etag;
  }

  async run(): Promise<void> {
    this.running = true;
    let failures = 0;
    while (this.running) {
      try {
        await this.pollOnce();
        if (failures) this.sink.problem(null);
        failures = 0;
      } catch (e) {
        if (!this.running) break;
        failures++;
        this.sink.problem((e as Error).message);
        await this.sleeper.sleep(backoffMs(failures, this.o.retryInitialMs, this.o.retryMaxMs));
      }
    }
  }

  stop(): void {
    this.running = false;
    this.controller?.abort();
    this.sleeper.wake();
  }

  private async pollOnce(): Promise<void> {
    const url = apiUrl(
      this.o.url,
      `/v1/hosts/${encodeURIComponent(this.o.hostId)}/placements?wait=${this.o.waitSeconds}`,
    );
    this.controller = new AbortController();
    const timeout = setTimeout(
      () => this.controller?.abort(new DOMException('timeout', 'TimeoutError')),
      (this.o.waitSeconds + 30) * 1000,
    );
    let res: Response;
    this.requests++;
    try {
      res = await fetch(url, {
        headers: {
          accept: 'application/json',
          ...(this.o.token ? { authorization: `Bearer ${this.o.token}` } : {}),
          ...(this.etag ? { 'if-none-match': this.etag } : {}),
        },
        signal: this.controller.signal,
      });
    } catch (e) {
      clearTimeout(timeout);
      throw fetchError(e, `GET ${url}`);
    }
    try {
      if (res.status === 304) {
        await res.arrayBuffer().catch(() => undefined);
        await this.sink.synced();
        return;
      }
      if (res.status !== 200) throw new HttpError(res.status, `GET ${url}: HTTP ${res.status} ${await problemOf(res)}`);
      const text = await res.text();
      const body: unknown = JSON.parse(text);
      const etag = res.headers.get('etag');
      await this.sink.messages(messagesOfPlacements(body), { etag });
      this.etag = etag;
      await this.sink.synced();
    } finally {
      clearTimeout(timeout);
    }
  }
}
