// Live updates: server-sent events from GET /v1/live, opened with a ticket from POST
// /v1/live/tickets (EventSource cannot send the Authorization header, and a token never goes
// into a URL). Each `projection` event (a projector batch committed) bumps a counter the pages
// read their data again on. While the service gets no notifications (`listening` false) or the
// stream is down, pages poll instead.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';

export type LiveState = 'off' | 'connecting' | 'live' | 'polling';

const POLL_MS = 15_000;

class LiveClient {
  generation = 0;
  state: LiveState = 'off';
  private source: EventSource | null = null;
  private listeners = new Set<() => void>();
  private retryTimer: number | undefined;
  private pollTimer: number | undefined;
  private attempt = 0;
  private running = false;
  private readyBefore = false;

  subscribe(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  stop(): void {
    this.running = false;
    this.source?.close();
    this.source = null;
    clearTimeout(this.retryTimer);
    this.setPolling(false);
    this.set('off');
  }

  private emit(): void {
    for (const f of this.listeners) f();
  }

  private set(state: LiveState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit();
  }

  private bump(): void {
    this.generation++;
    this.emit();
  }

  private setPolling(on: boolean): void {
    if (on && this.pollTimer === undefined) this.pollTimer = window.setInterval(() => this.bump(), POLL_MS);
    if (!on && this.pollTimer !== undefined) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  private async connect(): Promise<void> {
    if (!this.running) return;
    this.set(this.state === 'polling' ? 'polling' : 'connecting');
    let url: string;
    try {
      url = (await api<{ url: string }>('/v1/live/tickets', { method: 'POST', body: {} })).url;
    } catch {
      return this.retry();
    }
    if (!this.running) return;
    const source = new EventSource(url);
    this.source = source;
    const onState = (e: MessageEvent) => {
      let listening = true;
      try {
        listening = (JSON.parse(e.data as string) as { listening?: unknown }).listening !== false;
      } catch {
        /* keep */
      }
      this.attempt = 0;
      this.setPolling(!listening);
      this.set(listening ? 'live' : 'polling');
    };
    source.addEventListener('ready', (e) => {
      onState(e);
      // what changed while there was no stream (none before the first)
      if (this.readyBefore) this.bump();
      this.readyBefore = true;
    });
    source.addEventListener('projection', (e) => {
      onState(e);
      this.bump();
    });
    source.addEventListener('bye', () => {
      source.close();
      if (this.source === source) this.source = null;
      void this.connect();
    });
    source.onerror = () => {
      // The ticket was good once: EventSource's own reconnect would be refused. Start over.
      source.close();
      if (this.source === source) this.source = null;
      this.retry();
    };
  }

  private retry(): void {
    if (!this.running) return;
    this.attempt++;
    this.setPolling(true);
    this.set('polling');
    const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.attempt - 1, 5));
    clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => void this.connect(), delay);
  }
}

export const live = new LiveClient();

/** The live counter and state; re-renders when either changes. */
export function useLive(): { generation: number; state: LiveState } {
  const [, setTick] = useState(0);
  useEffect(() => live.subscribe(() => setTick((t) => t + 1)), []);
  return { generation: live.generation, state: live.state };
}
