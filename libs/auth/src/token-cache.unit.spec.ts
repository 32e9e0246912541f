import fc from 'fast-check';
import { Principal } from './roles';
import { TokenCache, TokenVerifier } from './token-cache';

/** A token table in memory, whose lookups the test completes when it chooses. */
class Table implements TokenVerifier {
  readonly valid = new Map<string, Principal>();
  readonly pending: { token: string; answer: Principal | null; resolve: (p: Principal | null) => void }[] = [];
  lookups = 0;
  verify(token: string): Promise<Principal | null> {
    this.lookups++;
    // the row is read now; the answer arrives when the test resolves it
    const answer = this.valid.get(token) ?? null;
    return new Promise((resolve) => this.pending.push({ token, answer, resolve }));
  }
}

const principal = (i: number): Principal => ({ tokenId: `t${i}`, name: null, role: 'planner' });

describe('TokenCache', () => {
  it('keeps a verified token while listening, and asks again after a notification or without LISTEN', async () => {
    const table = new Table();
    table.valid.set('fct_a', principal(1));
    const cache = new TokenCache(table);
    const ask = async () => {
      const p = cache.verify('fct_a');
      await Promise.resolve();
      table.pending.shift()?.resolve(table.valid.get('fct_a') ?? null);
      return p;
    };
    expect(await ask()).toEqual(principal(1)); // not listening: not kept
    expect(cache.size).toBe(0);
    const before = table.lookups;
    cache.setListening(true);
    expect(await ask()).toEqual(principal(1));
    expect(await cache.verify('fct_a')).toEqual(principal(1));
    expect(table.lookups).toBe(before + 1);
    table.valid.delete('fct_a'); // revoked ...
    cache.invalidate(); // ... and the commit's notification arrives
    expect(await ask()).toBeNull();
    cache.setListening(false);
    table.valid.set('fct_a', principal(1));
    expect(await ask()).toEqual(principal(1));
    expect(cache.size).toBe(0);
  });

  it('does not keep a lookup that was under way when a change was heard', async () => {
    const table = new Table();
    table.valid.set('fct_a', principal(1));
    const cache = new TokenCache(table);
    cache.setListening(true);
    const first = cache.verify('fct_a'); // reads the row: valid
    table.valid.delete('fct_a'); // revoked, committed
    cache.invalidate(); // its notification arrives before the first lookup's answer
    table.pending.shift()!.resolve(principal(1));
    expect(await first).toEqual(principal(1));
    const second = cache.verify('fct_a');
    await new Promise((resolve) => setImmediate(resolve));
    table.pending.shift()?.resolve(null);
    expect(await second).toBeNull();
  });

  it('never keeps an unknown token, and forgets the least recently used past maxEntries', async () => {
    const table = new Table();
    const cache = new TokenCache(table, { maxEntries: 2 });
    cache.setListening(true);
    const ask = async (t: string) => {
      const p = cache.verify(t);
      await Promise.resolve();
      table.pending.splice(0).forEach((x) => x.resolve(x.answer));
      return p;
    };
    expect(await ask('fct_nope')).toBeNull();
    expect(cache.size).toBe(0);
    for (const i of [1, 2, 3]) table.valid.set(`fct_${i}`, principal(i));
    await ask('fct_1');
    await ask('fct_2');
    await ask('fct_1'); // 1 used last: 2 goes first
    await ask('fct_3');
    const lookups = table.lookups;
    await ask('fct_1');
    await ask('fct_3');
    expect(table.lookups).toBe(lookups);
    await ask('fct_2');
    expect(table.lookups).toBe(lookups + 1);
  });

  it('keeps an entry maxAgeMs at most', async () => {
    let now = 1000;
    const table = new Table();
    table.valid.set('fct_a', principal(1));
    const cache = new TokenCache(table, { maxAgeMs: 100, now: () => now });
    cache.setListening(true);
    const ask = async () => {
      const p = cache.verify('fct_a');
      await Promise.resolve();
      table.pending.splice(0).forEach((x) => x.resolve(x.answer));
      return p;
    };
    await ask();
    now += 99;
    await ask();
    expect(table.lookups).toBe(1);
    now += 1;
    await ask();
    expect(table.lookups).toBe(2);
  });

  /**
   * For any interleaving of requests, revocations and re-creations, answers of the table
   * (in any order), notifications, LISTEN lost and back: a request made while every change
   * of the table has been heard (or while not listening) is answered as the table stood when
   * it came: a revoked token is never served from the cache.
   */
  it('never answers a revoked token once its notification was heard, whatever the interleaving', async () => {
    type Step =
      | { kind: 'request'; token: number }
      | { kind: 'answer'; index: number }
      | { kind: 'revoke'; token: number }
      | { kind: 'restore'; token: number }
      | { kind: 'notify' }
      | { kind: 'lost' }
      | { kind: 'back' };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('request' as const), token: fc.nat(3) }),
      fc.record({ kind: fc.constant('answer' as const), index: fc.nat(5) }),
      fc.record({ kind: fc.constant('revoke' as const), token: fc.nat(3) }),
      fc.record({ kind: fc.constant('restore' as const), token: fc.nat(3) }),
      fc.constant({ kind: 'notify' as const }),
      fc.constant({ kind: 'lost' as const }),
      fc.constant({ kind: 'back' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 10, maxLength: 80, size: 'max' }), async (steps) => {
        const table = new Table();
        for (let i = 0; i < 4; i++) table.valid.set(`fct_${i}`, principal(i));
        const cache = new TokenCache(table);
        cache.setListening(true);
        // changes committed whose notification has not been handled yet
        let unheard = false;
        const requests: { token: number; stale: boolean; validAtStart: boolean; result: Promise<Principal | null> }[] =
          [];
        for (const s of steps) {
          switch (s.kind) {
            case 'request': {
              // a request may see an old answer only while a change is unheard (the notification's delay)
              requests.push({
                token: s.token,
                stale: unheard,
                validAtStart: table.valid.has(`fct_${s.token}`),
                result: cache.verify(`fct_${s.token}`),
              });
              break;
            }
            case 'answer': {
              const p = table.pending.splice(s.index % Math.max(1, table.pending.length), 1)[0];
              p?.resolve(p.answer);
              break;
            }
            case 'revoke':
              table.valid.delete(`fct_${s.token}`);
              unheard = true;
              break;
            case 'restore':
              table.valid.set(`fct_${s.token}`, principal(s.token));
              unheard = true;
              break;
            case 'notify':
              // notifications arrive only over the LISTEN connection
              if (cache.isListening) {
                cache.invalidate();
                unheard = false;
              }
              break;
            case 'lost':
              cache.setListening(false);
              unheard = false; // nothing is served from the cache until LISTEN is back
              break;
            case 'back':
              cache.setListening(true);
              unheard = false; // what was missed meanwhile must not be in the cache
              break;
          }
          await new Promise((resolve) => setImmediate(resolve)); // the answers' continuations run
        }
        for (const p of table.pending.splice(0)) p.resolve(p.answer);
        for (const r of requests) {
          const got = await r.result;
          // a request with every change heard sees the table as it was when it came
          if (!r.stale) expect(got !== null).toBe(r.validAtStart);
        }
      }),
      { numRuns: 500 },
    );
  });
});
