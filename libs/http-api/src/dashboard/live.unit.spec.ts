import { createHash } from 'node:crypto';
import { labelsParam } from './dashboard.controller';
import { LiveHub, StreamResponse } from './live-hub';
import { LiveTickets } from './live-tickets';
import { PlacementsCache } from '../placements-cache';

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const ID = '0b6f3c9e-6a3c-4c2e-9d55-7d0a3a1f2b11';

function store(rows: Record<string, { role: string; token: string; revoked?: boolean }>) {
  return {
    asked: 0,
    async active(id: string) {
      this.asked++;
      const r = rows[id];
      return r && !r.revoked
        ? { principal: { tokenId: id, name: 'n', role: r.role as 'planner' }, tokenSha256: sha(r.token) }
        : null;
    },
  };
}

describe('LiveTickets', () => {
  let clock = 1_000_000;
  const now = () => clock;

  it('a ticket stands for the token that made it, once, for its lifetime', async () => {
    const db = store({ [ID]: { role: 'planner', token: 'fct_secret' } });
    const tickets = new LiveTickets(db, null, 60_000, now);
    const { ticket, expiresAt } = tickets.issue({ tokenId: ID, name: 'n', role: 'planner' }, 'fct_secret');
    expect(ticket).toMatch(/^lt1\./);
    expect(ticket).not.toContain('fct_secret');
    expect(Date.parse(expiresAt)).toBe(clock + 60_000);
    expect(await tickets.redeem(ticket)).toEqual({ tokenId: ID, name: 'n', role: 'planner' });
    expect(await tickets.redeem(ticket)).toBeNull(); // once
    const late = tickets.issue({ tokenId: ID, name: 'n', role: 'planner' }, 'fct_secret').ticket;
    clock += 60_001;
    expect(await tickets.redeem(late)).toBeNull(); // expired
  });

  it('refuses forged, malformed, and revoked tokens’ tickets; another process of the deployment accepts a good one', async () => {
    const rows: Record<string, { role: string; token: string; revoked?: boolean }> = {
      [ID]: { role: 'host:h1', token: 'fct_host' },
    };
    const a = new LiveTickets(store(rows), null, 60_000, now);
    const b = new LiveTickets(store(rows), null, 60_000, now);
    const good = a.issue({ tokenId: ID, name: null, role: 'host:h1' }, 'fct_host').ticket;
    const wrongToken = a.issue({ tokenId: ID, name: null, role: 'host:h1' }, 'fct_other').ticket;
    expect(await a.redeem(wrongToken)).toBeNull();
    const [p, id, exp, mac] = good.split('.');
    expect(await a.redeem([p, id, String(Number(exp) + 1), mac].join('.'))).toBeNull();
    for (const bad of [
      '',
      'lt1',
      'lt1.a.b.c',
      `lt1.not-a-uuid.${exp}.${mac}`,
      `lt2.${id}.${exp}.${mac}`,
      'x'.repeat(300),
    ])
      expect(await a.redeem(bad)).toBeNull();
    expect(await b.redeem(good)).toMatchObject({ role: 'host:h1' });
    rows[ID].revoked = true;
    expect(await a.redeem(a.issue({ tokenId: ID, name: null, role: 'host:h1' }, 'fct_host').ticket)).toBeNull();
  });

  it('the bootstrap token has tickets too, checked without the store', async () => {
    const db = store({});
    const tickets = new LiveTickets(db, 'bootstrap-secret-0123456789', 60_000, now);
    const t = tickets.issue(
      { tokenId: 'bootstrap', name: 'FLEETCOMPAT_BOOTSTRAP_TOKEN', role: 'admin' },
      'bootstrap-secret-0123456789',
    ).ticket;
    expect(await tickets.redeem(t)).toMatchObject({ tokenId: 'bootstrap', role: 'admin' });
    expect(db.asked).toBe(0);
    expect(await new LiveTickets(db, null, 60_000, now).redeem(t)).toBeNull();
  });
});

describe('LiveHub', () => {
  function response() {
    const chunks: string[] = [];
    const closers: (() => void)[] = [];
    const res: StreamResponse & { chunks: string[]; close(): void } = {
      chunks,
      writableEnded: false,
      destroyed: false,
      write: (c: string) => (chunks.push(c), true),
      end() {
        (this as any).writableEnded = true;
      },
      once: (_e: 'close', f: () => void) => closers.push(f),
      close: () => closers.forEach((f) => f()),
    };
    return res;
  }

  it('sends ready at once, then one projection event per batch commit, at most one per interval; ends streams at shutdown', async () => {
    const cache = new PlacementsCache({ placements: async () => null, etags: async () => new Map() }, 0);
    cache.setListening(true);
    const hub = new LiveHub(cache, { minIntervalMs: 1000 });
    const res = response();
    const projections = () => res.chunks.filter((c) => c.startsWith('event: projection'));
    const until = async (f: () => boolean) => {
      for (const end = Date.now() + 5000; !f();) {
        if (Date.now() > end) throw new Error(`not yet: ${JSON.stringify(res.chunks)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    hub.attach(res, { tokenId: 't', name: null, role: 'planner' });
    expect(res.chunks[0]).toMatch(
      /^retry: 5000\nevent: ready\ndata: \{"generation":\d+,"listening":true,"role":"planner"\}\n\n$/,
    );
    await new Promise((r) => setTimeout(r, 1050));
    cache.invalidate();
    cache.invalidate();
    cache.invalidate();
    await until(() => projections().length === 1);
    cache.invalidate();
    await new Promise((r) => setTimeout(r, 300));
    expect(projections()).toHaveLength(1); // folded into the next, a second after the last
    await until(() => projections().length === 2);
    expect(projections()[1]).toContain(`"generation":${cache.generation}`);
    hub.onModuleDestroy();
    expect(res.chunks[res.chunks.length - 1]).toBe('event: bye\ndata: {"reason":"shutdown"}\n\n');
    expect(res.writableEnded).toBe(true);
    expect(hub.open).toBe(0);
  });

  it('forgets a stream its client closed', () => {
    const cache = new PlacementsCache({ placements: async () => null, etags: async () => new Map() }, 0);
    const hub = new LiveHub(cache);
    const res = response();
    hub.attach(res, { tokenId: 't', name: null, role: 'planner' });
    expect(hub.open).toBe(1);
    res.close();
    expect(hub.open).toBe(0);
    hub.onModuleDestroy();
  });
});

describe('labelsParam', () => {
  it('reads key=value, repeated, split at the first =', () => {
    expect(labelsParam(undefined)).toBeUndefined();
    expect(labelsParam('rack=r1')).toEqual({ rack: 'r1' });
    expect(labelsParam(['rack=r1', 'pool=a=b'])).toEqual({ rack: 'r1', pool: 'a=b' });
    expect(() => labelsParam('rack')).toThrow();
    expect(() => labelsParam('=x')).toThrow();
  });
});
