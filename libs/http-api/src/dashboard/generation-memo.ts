import { PlacementsCache } from '../placements-cache';

/**
 * Answers of the dashboard's aggregate reads (per wave, attention counts), kept until the
 * projections move: dropped at every notification of a committed projector batch, the way
 * PlacementsCache drops its answers (and with its guarantees: nothing is kept while LISTEN
 * is down, nor an answer read while a batch committed). A few dozen entries at most.
 */
export class GenerationMemo {
  private readonly entries = new Map<string, unknown>();
  private readonly inFlight = new Map<string, { generation: number; promise: Promise<unknown> }>();

  constructor(
    private readonly cache: PlacementsCache,
    private readonly maxEntries = 64,
  ) {
    cache.onChange(() => {
      this.entries.clear();
      this.inFlight.clear();
    });
  }

  async get<T>(key: string, read: () => Promise<T>): Promise<T> {
    if (this.cache.isListening && this.entries.has(key)) return this.entries.get(key) as T;
    const generation = this.cache.generation;
    // Callers asking for the same answer at once share one read.
    const pending = this.inFlight.get(key);
    if (pending && pending.generation === generation) return pending.promise as Promise<T>;
    const promise = read();
    this.inFlight.set(key, { generation, promise });
    try {
      const value = await promise;
      if (this.cache.isListening && generation === this.cache.generation) {
        if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
        this.entries.set(key, value);
      }
      return value;
    } finally {
      if (this.inFlight.get(key)?.promise === promise) this.inFlight.delete(key);
    }
  }
}
