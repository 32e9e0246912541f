import { gzipSync } from 'node:zlib';
import { PlacementsCache } from './placements-cache';
import { PlacementsWatch } from './placements-watch';
import { etagMatches, placementsWaitMs } from './hosts.controller';

/** A cache over tags the test sets; `etags` counts its calls and may be held. */
function setup(options: { listening?: boolean } = {}) {
  const tags = new Map<string, string>();
  const calls: string[][] = [];
  let hold: Promise<void> | undefined;
  const source = {
    async placements(hostId: string) {
      const etag = tags.get(hostId);
      return etag ? { gzip: gzipSync(`{"tag":${JSON.stringify(etag)}}`), etag } : null;
    },
    async etags(hostIds: readonly string[]) {
      calls.push([...hostIds]);
      const snapshot = new Map(hostIds.filter((h) => tags.has(h)).map((h) => [h, tags.get(h)!]));
      await hold;
      return snapshot;
    },
  };
  const cache = new PlacementsCache(source, 1 << 20);
  cache.setListening(options.listening ?? true);
  const watch = new PlacementsWatch(cache, { fallbackPollMs: 20 });
  return { tags, calls, cache, watch, holdNext: (p: Promise<void>) => (hold = p) };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('PlacementsWatch (the long-poll of GET /v1/hosts/{id}/placements)', () => {
  it('costs nothing while nothing is committed, and wakes only the hosts whose tag changed', async () => {
    const { tags, calls, cache, watch } = setup();
    tags.set('h1', 'a').set('h2', 'b');
    const w1 = watch.wait('h1', 'a', 10000, cache.generation);
    const w2 = watch.wait('h2', 'b', 10000, cache.generation);
    await tick();
    expect(calls).toEqual([]); // no query while the projections stand still
    tags.set('h1', 'a2');
    cache.invalidate(); // a projector batch committed
    expect(await w1).toBe(true);
    expect(calls).toEqual([['h1', 'h2']]); // one query for every waiting host
    expect(watch.waiting).toBe(1);
    cache.invalidate();
    await tick();
    expect(watch.waiting).toBe(1); // h2 unchanged: still waiting
    watch.onModuleDestroy();
    expect(await w2).toBe(false);
  });

  it('runs out after its time (false), and an abort ends it too', async () => {
    const { tags, cache, watch } = setup();
    tags.set('h1', 'a');
    expect(await watch.wait('h1', 'a', 30, cache.generation)).toBe(false);
    let abort!: () => void;
    const w = watch.wait('h1', 'a', 10000, cache.generation, { onAbort: (f) => (abort = f) });
    abort();
    expect(await w).toBe(false);
    expect(watch.waiting).toBe(0);
  });

  it('checks at once a request that read its tag before a notification it registered after', async () => {
    const { tags, cache, watch } = setup();
    tags.set('h1', 'a');
    const before = cache.generation;
    tags.set('h1', 'b');
    cache.invalidate(); // nobody waited yet: no check
    expect(await watch.wait('h1', 'a', 10000, before)).toBe(true);
  });

  it('a notification during a check runs one more check after it (none missed, none piled up)', async () => {
    const { tags, calls, cache, watch, holdNext } = setup();
    tags.set('h1', 'a');
    let release!: () => void;
    void holdNext(new Promise<void>((r) => (release = r)));
    const w = watch.wait('h1', 'a', 10000, cache.generation);
    cache.invalidate(); // check 1 starts, sees 'a' (held)
    await tick();
    tags.set('h1', 'b'); // committed after check 1 read its snapshot
    cache.invalidate();
    cache.invalidate();
    void holdNext(Promise.resolve());
    release();
    expect(await w).toBe(true);
    expect(calls.length).toBe(2);
  });

  it('a host that is gone wakes its waiters (the request then answers 404)', async () => {
    const { tags, cache, watch } = setup();
    tags.set('h1', 'a');
    const w = watch.wait('h1', 'a', 10000, cache.generation);
    tags.delete('h1');
    cache.invalidate();
    expect(await w).toBe(true);
  });

  it('polls the waiting hosts while LISTEN is down', async () => {
    const { tags, cache, watch } = setup({ listening: false });
    tags.set('h1', 'a');
    const w = watch.wait('h1', 'a', 10000, cache.generation);
    setTimeout(() => tags.set('h1', 'b'), 30);
    expect(await w).toBe(true);
    watch.onModuleDestroy();
  });
});

describe('If-None-Match and wait', () => {
  it('compares tags weakly, in a list, and * matches', () => {
    expect(etagMatches('W/"p1-x"', 'W/"p1-x"')).toBe(true);
    expect(etagMatches('"p1-x"', 'W/"p1-x"')).toBe(true);
    expect(etagMatches('W/"a", W/"p1-x"', 'W/"p1-x"')).toBe(true);
    expect(etagMatches('*', 'W/"p1-x"')).toBe(true);
    expect(etagMatches('W/"p1-y"', 'W/"p1-x"')).toBe(false);
    expect(etagMatches(undefined, 'W/"p1-x"')).toBe(false);
  });

  it('wait is 0 to 60 whole seconds', () => {
    expect(placementsWaitMs(undefined)).toBe(0);
    expect(placementsWaitMs('30')).toBe(30000);
    expect(placementsWaitMs('60')).toBe(60000);
    for (const bad of ['61', '-1', '1.5', 'x', '1000']) expect(() => placementsWaitMs(bad)).toThrow(/wait must be/);
  });
});

describe('PlacementsWatch with many waiting hosts', () => {
  it('checks them in chunks, a few at once, and wakes exactly the changed ones', async () => {
    const tags = new Map<string, string>();
    const calls: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const source = {
      async placements() {
        return null;
      },
      async etags(hostIds: readonly string[]) {
        calls.push(hostIds.length);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return new Map(hostIds.filter((h) => tags.has(h)).map((h) => [h, tags.get(h)!]));
      },
    };
    const cache = new PlacementsCache(source, 1 << 20);
    cache.setListening(true);
    const watch = new PlacementsWatch(cache, { chunk: 10, parallel: 3 });
    const waits = new Map<string, Promise<boolean>>();
    for (let i = 0; i < 95; i++) {
      tags.set(`h${i}`, 'a');
      waits.set(`h${i}`, watch.wait(`h${i}`, 'a', 10000, cache.generation));
    }
    for (const i of [3, 47, 94]) tags.set(`h${i}`, 'b');
    cache.invalidate();
    expect(await Promise.all([3, 47, 94].map((i) => waits.get(`h${i}`)!))).toEqual([true, true, true]);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.reduce((a, b) => a + b, 0)).toBe(95);
    expect(Math.max(...calls)).toBe(10);
    expect(maxInFlight).toBe(3);
    expect(watch.waiting).toBe(92);
    watch.onModuleDestroy();
  });
});
