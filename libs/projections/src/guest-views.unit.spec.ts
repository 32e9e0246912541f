import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES } from '@fleetcompat/policy';
import { generateFleet } from '@fleetcompat/sample-fleet';
import { Evolver } from './evolve';
import { fleetInAnyOrder } from './facts/fleet-arbitrary';
import { stored } from './facts/testing';
import { FactEvent } from './facts/events';
import { ColumnarGuestViews, GuestViews } from './guest-views';
import { MapGuestViews } from './map-guest-views';
import { decisionIdOf, GuestRow, viewKey } from './model';
import { WorkingSet } from './working-set';

const RUNS = Number(process.env.FC_RUNS ?? 300);

// small domains, so that rows often land on the same view, host and image
const GUESTS = ['g1', 'g2', 'gäst-ü', '客人', '🙂-guest', 'a\u0000b', 'a', ''];
const HOSTS = ['h1', 'h2', 'hôte', 'a', ''];
const IMAGES = [null, '', 'a'.repeat(64), 'b'.repeat(64), 'c'.repeat(64), 'short'];
const times = fc.oneof(
  fc.integer({ min: 946684800000, max: 4102444800000 }).map((ms) => new Date(ms).toISOString()),
  // a few times over and over, as the guests of one report share theirs (the store keeps the last one it read)
  fc.constantFrom('2026-11-01T12:00:00.000Z', '2026-11-01T12:00:00.001Z', '2000-01-01T00:00:00.000Z'),
  fc.constantFrom(
    '2026-11-01T12:00:00+02:00',
    '2026-11-01T12:00:00Z',
    '2026-11-01T12:00:00.123456Z',
    '2026-11-01T12:00:00.1234567+05:30',
    '+010000-01-01T00:00:00.000Z',
    '1970-01-01T00:00:00.000Z',
  ),
);
const eventIds = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }).map((n) => `fleet-ev-${n}`),
  fc.integer({ min: 0, max: 999 }).map((n) => `agent-xen-a17-web-43-${String(n).padStart(6, '0')}`),
  fc.constantFrom('e1', '0', '007', 'ev', '', '12345678901234567890', 'ünï-42', '9007199254740993'),
  fc.uuid(),
  fc.string({ maxLength: 12 }),
);
const digest = (s: string) => createHash('sha256').update(s).digest('base64url');
const decisionKeys = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 8 }).map(digest),
  fc.constantFrom('x'.repeat(43), `${digest('a').slice(0, 42)}B`, digest('b').slice(0, 42) + '_', '', 'not a key'),
);
const statuses = fc.constantFrom<GuestRow['status']>(
  'ok',
  'needs-low-rsdp',
  'blocked',
  'unknown-kernel',
  'not-applicable',
  'awaiting-host',
  'removed',
);

const row: fc.Arbitrary<GuestRow> = fc
  .record({
    guestId: fc.constantFrom(...GUESTS),
    hostId: fc.constantFrom(...HOSTS),
    present: fc.boolean(),
    presenceAt: times,
    mode: fc.constantFrom<GuestRow['mode']>('pvh', 'hvm', 'pv', null),
    memoryMiB: fc.oneof(fc.constant(null), fc.integer(), fc.double({ noNaN: true }), fc.constant(-0)),
    bootMethod: fc.constantFrom<GuestRow['bootMethod']>('direct', 'pvh-grub', 'other', null),
    kernelSha256: fc.constantFrom(...IMAGES),
    bootloaderSha256: fc.constantFrom(...IMAGES),
    observedAt: fc.option(times, { nil: null }),
    observedEventId: fc.option(eventIds, { nil: null }),
    status: statuses,
    need: fc.constantFrom<GuestRow['need']>('low', 'high', null),
    sequence: fc.oneof(fc.nat(1000), fc.integer(), fc.double({ noNaN: true })),
    decisionId: fc.constantFrom<'derived' | 'null' | 'other'>('derived', 'null', 'other'),
    decisionKey: decisionKeys,
    superpageLost: fc.boolean(),
    lastEventId: eventIds,
  })
  .map((r) => ({
    ...r,
    decisionId:
      r.decisionId === 'derived'
        ? decisionIdOf(r.guestId, r.sequence)
        : r.decisionId === 'null'
          ? null
          : `${r.guestId}#x${r.sequence}`,
  }));

type Op =
  | { op: 'put'; row: GuestRow }
  | { op: 'load'; row: GuestRow }
  | { op: 'raise'; guestId: string; sequence: number }
  | { op: 'markAllDirty' }
  | { op: 'clearDirty' };
const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: row.map((r) => ({ op: 'put' as const, row: r })) },
    { weight: 2, arbitrary: row.map((r) => ({ op: 'load' as const, row: r })) },
    {
      weight: 1,
      arbitrary: fc
        .record({ guestId: fc.constantFrom(...GUESTS, 'unseen'), sequence: fc.integer({ min: -5, max: 2000 }) })
        .map((r) => ({ op: 'raise' as const, ...r })),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'markAllDirty' as const }) },
    { weight: 1, arbitrary: fc.constant({ op: 'clearDirty' as const }) },
  ),
  { maxLength: 80 },
);

function apply(store: GuestViews, op: Op): void {
  if (op.op === 'put') store.put(op.row);
  else if (op.op === 'load') store.load(op.row);
  else if (op.op === 'raise') store.raiseSequence(op.guestId, op.sequence);
  else if (op.op === 'markAllDirty') store.markAllDirty();
  else store.clearDirty();
}

/** All a store shows, with views named by their keys. */
function observed(store: GuestViews) {
  const keyOf = (v: number) => {
    const r = store.at(v);
    return viewKey(r.guestId, r.hostId);
  };
  const keys = (views: Iterable<number>) => [...views].map(keyOf).sort();
  const views: Record<string, GuestRow | undefined> = {};
  for (const g of GUESTS)
    for (const h of HOSTS) {
      const v = store.viewOf(g, h);
      views[viewKey(g, h)] = v === undefined ? undefined : { ...store.at(v) };
    }
  return {
    size: store.size,
    views,
    all: [...store.all()].map(keyOf),
    sorted: store.sorted(store.all()).map(keyOf),
    onHost: HOSTS.map((h) => keys(store.onHost(h))),
    usingImage: IMAGES.map((i) => (i === null ? [] : keys(store.usingImage(i)))),
    usingImageOnce: IMAGES.map((i) => (i === null ? 0 : store.usingImage(i).length)),
    present: HOSTS.map((h) => store.presentOnHost(h)),
    sequences: [...GUESTS, 'unseen'].map((g) => store.peekSequence(g)),
    dirty: keys(store.dirty()),
    dirtyCount: store.dirtyCount,
  };
}

describe('ColumnarGuestViews', () => {
  it('behaves as plain Maps of GuestRow objects for any sequence of puts, loads and sequences', () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const columns = new ColumnarGuestViews();
        const maps = new MapGuestViews();
        for (const op of sequence) {
          apply(columns, op);
          apply(maps, op);
          if (op.op === 'put') {
            // the row put comes back equal, field for field
            const v = columns.viewOf(op.row.guestId, op.row.hostId)!;
            expect(columns.at(v)).toStrictEqual(op.row);
          }
        }
        expect(observed(columns)).toStrictEqual(observed(maps));
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps views past the first chunk of its columns', () => {
    const columns = new ColumnarGuestViews();
    const maps = new MapGuestViews();
    const rows: GuestRow[] = [];
    for (let i = 0; i < 140_000; i++) {
      const guestId = `guest-${i % 70_000}`;
      const sequence = (i % 5) + 1;
      rows.push({
        guestId,
        hostId: `host-${(i * 7) % 3000}${i < 70_000 ? '' : '-b'}`,
        present: i % 3 !== 0,
        presenceAt: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
        mode: 'pvh',
        memoryMiB: 1024,
        bootMethod: 'direct',
        kernelSha256: (i % 2000).toString(16).padStart(64, '0'),
        bootloaderSha256: null,
        observedAt: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
        observedEventId: `bench-ev-${i}`,
        status: 'ok',
        need: 'low',
        sequence,
        decisionId: decisionIdOf(guestId, sequence),
        decisionKey: digest(String(i)),
        superpageLost: i % 7 === 0,
        lastEventId: `bench-ev-${i}`,
      });
    }
    for (const r of rows) {
      columns.put(r);
      maps.put(r);
    }
    expect(columns.size).toBe(140_000);
    for (const i of [0, 1, 65_535, 65_536, 70_000, 131_071, 131_072, 139_999]) {
      expect(columns.at(columns.viewOf(rows[i].guestId, rows[i].hostId)!)).toStrictEqual(rows[i]);
    }
    const keys = (s: GuestViews, views: number[]) => views.map((v) => viewKey(s.at(v).guestId, s.at(v).hostId));
    expect(keys(columns, columns.sorted(columns.all()))).toEqual(keys(maps, maps.sorted(maps.all())));
    expect(keys(columns, columns.usingImage(rows[5].kernelSha256!)).sort()).toEqual(
      keys(maps, maps.usingImage(rows[5].kernelSha256!)).sort(),
    );
  });
});

/** A working set after the events (stored in this order), deciding as the projector does, with the given guest views. */
function projectWith(events: readonly FactEvent[], guests: GuestViews, batch = 7) {
  const ws = new WorkingSet({ guests });
  const evolver = new Evolver(ws, { defaults: DEFAULT_BEHAVIOUR_RULES, guestOsDefaults: DEFAULT_GUEST_OS_RULES });
  const saved: { rows: GuestRow[]; records: unknown[] }[] = [];
  const all = stored(events);
  for (let i = 0; i < all.length; i += batch) {
    ws.beginBatch();
    for (const e of all.slice(i, i + batch)) evolver.apply(e);
    // what ProjectionStore.save writes for the batch
    saved.push({ rows: [...ws.dirtyGuestRows()].map((r) => ({ ...r })), records: [...ws.records] });
  }
  ws.beginBatch();
  ws.markAllDirty();
  evolver.decideAll({
    eventId: 'version',
    type: 'ProjectionVersionChanged',
    globalPosition: '0',
    recordedAt: '2026-12-02T00:00:00.000Z',
  });
  saved.push({ rows: [...ws.dirtyGuestRows()].map((r) => ({ ...r })), records: [...ws.records] });
  return {
    saved: saved.map((b) => ({
      rows: b.rows.sort((x, y) => (viewKey(x.guestId, x.hostId) < viewKey(y.guestId, y.hostId) ? -1 : 1)),
      records: b.records,
    })),
    all: ws.allGuests().map((r) => ({ ...r })),
    written: [...ws.eachGuest()].map((r) => ({ ...r })),
    count: ws.guestCount,
  };
}

describe('a projection with the columnar guest views', () => {
  it('saves the rows and decisions that plain Maps of rows give, for fleets stored in any order', () => {
    fc.assert(
      fc.property(fleetInAnyOrder(), ({ stored: events }) => {
        expect(projectWith(events, new ColumnarGuestViews())).toStrictEqual(projectWith(events, new MapGuestViews()));
      }),
      { numRuns: RUNS },
    );
  });

  it('saves the rows and decisions that plain Maps of rows give, for a generated fleet', () => {
    const events = [
      ...generateFleet({ hosts: 40, guests: 2000, kernels: 50, waves: 3, seed: 7, prefix: 't' }),
    ] as FactEvent[];
    expect(projectWith(events, new ColumnarGuestViews(), 500)).toStrictEqual(
      projectWith(events, new MapGuestViews(), 500),
    );
  });
});
