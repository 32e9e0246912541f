import { gzipAnswer } from '@fleetcompat/projections';
import { identityBody, PlacementsCache, PlacementsReply } from './placements-cache';

const text = async (a: PlacementsReply | null) => (a === null ? null : (await identityBody(a)).toString());

/** A projections stand-in whose answers the test sets, counting reads. */
function projections() {
  const bodies = new Map<string, string>();
  let reads = 0;
  let during: (() => void) | undefined;
  return {
    bodies,
    reads: () => reads,
    /** Runs once inside the next read, between its start and its answer. */
    duringNextRead: (f: () => void) => (during = f),
    queries: {
      async placements(hostId: string) {
        reads++;
        const snapshot = bodies.get(hostId) ?? null;
        const f = during;
        during = undefined;
        f?.();
        return snapshot === null ? null : { gzip: await gzipAnswer(snapshot), etag: `W/"${snapshot}"` };
      },
      async etags(hostIds: readonly string[]) {
        return new Map(hostIds.filter((h) => bodies.has(h)).map((h) => [h, `W/"${bodies.get(h)}"`]));
      },
    },
  };
}

describe('PlacementsCache', () => {
  it('serves a kept answer until the projections move', async () => {
    const p = projections();
    const cache = new PlacementsCache(p.queries, 1 << 20);
    cache.setListening(true);
    p.bodies.set('h1', '{"v":1}');
    expect(await cache.placementsJson('h1')).toBe('{"v":1}');
    p.bodies.set('h1', '{"v":2}');
    expect(await cache.placementsJson('h1')).toBe('{"v":1}');
    expect(p.reads()).toBe(1);
    cache.invalidate();
    expect(await cache.placementsJson('h1')).toBe('{"v":2}');
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
  });

  it('does not keep an answer read while a batch was committed', async () => {
    const p = projections();
    const cache = new PlacementsCache(p.queries, 1 << 20);
    cache.setListening(true);
    p.bodies.set('h1', '{"v":1}');
    p.duringNextRead(() => {
      p.bodies.set('h1', '{"v":2}'); // committed after the read's snapshot...
      cache.invalidate(); // ...and notified before its answer came back
    });
    expect(await cache.placementsJson('h1')).toBe('{"v":1}');
    expect(await cache.placementsJson('h1')).toBe('{"v":2}');
    expect(p.reads()).toBe(2);
  });

  it('keeps nothing while not listening (notifications would be missed)', async () => {
    const p = projections();
    const cache = new PlacementsCache(p.queries, 1 << 20);
    p.bodies.set('h1', '{"v":1}');
    await cache.placementsJson('h1');
    await cache.placementsJson('h1');
    expect(p.reads()).toBe(2);
    cache.setListening(true);
    await cache.placementsJson('h1');
    cache.setListening(false); // connection lost: what was kept is dropped
    p.bodies.set('h1', '{"v":2}');
    expect(await cache.placementsJson('h1')).toBe('{"v":2}');
  });

  it('never keeps an unknown host, and drops the least recently used beyond its size (of gzip bytes)', async () => {
    const p = projections();
    const size = (await gzipAnswer('{"host":"a"}')).length; // the same for each host below
    const cache = new PlacementsCache(p.queries, 2 * size); // room for two answers
    cache.setListening(true);
    expect(await cache.placementsJson('nobody')).toBeNull();
    p.bodies.set('nobody', '{"now":"known"}');
    expect(await cache.placementsJson('nobody')).toBe('{"now":"known"}');
    for (const h of ['a', 'b', 'c']) p.bodies.set(h, `{"host":"${h}"}`);
    await cache.placementsJson('a');
    await cache.placementsJson('b'); // 'nobody' went to make room
    await cache.placementsJson('a'); // a hit: 'a' is now the most recently used
    await cache.placementsJson('c'); // 'b' goes
    const before = p.reads();
    expect(await cache.placementsJson('a')).toBe('{"host":"a"}');
    expect(await cache.placementsJson('c')).toBe('{"host":"c"}');
    expect(p.reads()).toBe(before);
    expect(await cache.placementsJson('b')).toBe('{"host":"b"}');
    expect(p.reads()).toBe(before + 1);
  });

  it('keeps the tags it was asked for until the projections move, and tells its listeners of every move', async () => {
    const p = projections();
    const cache = new PlacementsCache(p.queries, 1 << 20);
    let moves = 0;
    cache.onChange(() => moves++);
    cache.setListening(true);
    p.bodies.set('h1', '1');
    expect(cache.knownEtag('h1')).toBeUndefined();
    expect(await cache.etags(['h1', 'nobody'])).toEqual(new Map([['h1', 'W/"1"']]));
    expect(cache.knownEtag('h1')).toBe('W/"1"');
    const g = cache.generation;
    cache.invalidate();
    expect(cache.generation).toBe(g + 1);
    expect(cache.knownEtag('h1')).toBeUndefined();
    await cache.placements('h1');
    expect(cache.knownEtag('h1')).toBe('W/"1"');
    cache.setListening(false);
    expect(cache.knownEtag('h1')).toBeUndefined();
    expect(moves).toBe(3);
  });

  it('reads a host once for requests that ask at the same time, within one generation', async () => {
    const p = projections();
    const cache = new PlacementsCache(p.queries, 1 << 20);
    cache.setListening(true);
    p.bodies.set('h1', '{"v":1}');
    const answers = await Promise.all([cache.placements('h1'), cache.placements('h1'), cache.placements('h1')]);
    expect(await Promise.all(answers.map(text))).toEqual(['{"v":1}', '{"v":1}', '{"v":1}']);
    expect(p.reads()).toBe(1);
    p.bodies.set('h1', '{"v":2}');
    cache.invalidate();
    p.duringNextRead(() => cache.invalidate()); // a batch commits while the read runs: a request after it does not share the read
    const first = cache.placements('h1');
    const second = cache.placements('h1');
    expect(await text(await first)).toBe('{"v":2}');
    expect(await text(await second)).toBe('{"v":2}');
    expect(p.reads()).toBe(3);
  });

  it('size 0 turns it off', async () => {
    const p = projections();
    const cache = new PlacementsCache(p.queries, 0);
    cache.setListening(true);
    p.bodies.set('h1', '{}');
    await cache.placementsJson('h1');
    await cache.placementsJson('h1');
    expect(p.reads()).toBe(2);
  });
});
