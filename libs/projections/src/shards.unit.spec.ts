import fc from 'fast-check';
import { DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES } from '@fleetcompat/policy';
import { Evolver, ProjectedEvent } from './evolve';
import { FactEvent } from './facts';
import { fleetInAnyOrder } from './facts/fleet-arbitrary';
import { ev, stored } from './facts/testing';
import {
  guestOfEvent,
  isGuestEventType,
  ownerOfEvent,
  processorName,
  processorNames,
  shardOf,
  ShardLayout,
  versionKey,
} from './shards';
import { WorkingSet } from './working-set';
import { viewKey } from './model';

const RUNS = Number(process.env.FC_RUNS ?? 500);

describe('projector shards: which shard owns what', () => {
  it('shardOf: the first 4 bytes of md5(UTF-8 guestId), unsigned, mod the count', () => {
    // md5('ü-guest') starts with aee8f204 = 2934406404 (checked against Postgres: shards.int.spec.ts)
    expect(shardOf('ü-guest', 1000)).toBe(2934406404 % 1000);
    expect(shardOf('ü-guest', 1)).toBe(0);
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: 64 }), (id, n) => {
        const k = shardOf(id, n);
        expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
        expect(shardOf(id, n)).toBe(k);
      }),
    );
  });

  it('spreads guests over the shards', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[shardOf(`host-${i % 50}.guest-${i}`, 4)]++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });

  it('guest events belong to their guest, every other event (and a guest event without a readable guest) to shard 0', () => {
    expect([...['GuestObserved', 'GuestRemoved', 'PlacementApplied']].every(isGuestEventType)).toBe(true);
    expect(isGuestEventType('HostRegistered')).toBe(false);
    const guest = 'guest-x';
    const k = shardOf(guest, 3);
    expect(ownerOfEvent({ type: 'GuestRemoved', data: { hostId: 'h', guestId: guest } }, 3)).toBe(k);
    expect(ownerOfEvent({ type: 'PlacementApplied', data: { hostId: 'h', guestId: guest, decisionId: 'd' } }, 3)).toBe(
      k,
    );
    expect(guestOfEvent({ type: 'GuestObserved', data: { guestId: 7 } })).toBeNull();
    expect(ownerOfEvent({ type: 'GuestObserved', data: { guestId: 7 } }, 3)).toBe(0);
    expect(ownerOfEvent({ type: 'GuestObserved', data: null }, 3)).toBe(0);
    expect(ownerOfEvent({ type: 'HostRegistered', data: { hostId: 'h', guestId: guest } }, 3)).toBe(0);
  });

  it('names: one shard keeps the names of before shards', () => {
    expect(processorName({ index: 0, count: 1 })).toBe('projector');
    expect(versionKey({ index: 0, count: 1 })).toBe('version');
    expect(processorNames(2)).toEqual(['projector:0/2', 'projector:1/2']);
    expect(versionKey({ index: 1, count: 2 })).toBe('version:projector:1/2');
  });
});

/** Events that are set aside: invalid data of a guest event (its guest's), of one without a guest, of a host event (shard 0's). */
const poison = fc.constantFrom(
  (id: string) => ev('GuestObserved', 5, { guestId: 'g2', hostId: 'h1', memoryMiB: -1 } as never, id),
  (id: string) => ev('GuestRemoved', 6, { hostId: 'h2' } as never, id),
  (id: string) => ev('HostRegistered', 7, { hostId: 'h3', hypervisor: 42 } as never, id),
  (id: string) => ev('PlacementApplied', 8, { hostId: 'h1', guestId: 'g3' } as never, id),
);

/** A generated fleet's events in a generated order, some poison among them, guest ids renamed (non-ASCII among them). */
const fleet = fc
  .record({
    fleet: fleetInAnyOrder(),
    poison: fc.array(fc.tuple(poison, fc.nat()), { maxLength: 3 }),
    names: fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), { minLength: 4, maxLength: 4 }),
  })
  .map(({ fleet, poison, names }) => {
    const events: FactEvent[] = [...fleet.stored];
    poison.forEach(([make, at], i) => events.splice(at % (events.length + 1), 0, make(`poison-${i}`)));
    const rename = (g: string) => (/^g[1-4]$/.test(g) ? `${names[Number(g[1]) - 1]}·${g}` : g);
    return stored(events).map((e): ProjectedEvent => {
      const d = e.data as { guestId?: unknown };
      return typeof d?.guestId === 'string' ? { ...e, data: { ...d, guestId: rename(d.guestId) } } : e;
    });
  });

function project(events: readonly ProjectedEvent[], shard?: ShardLayout): WorkingSet {
  const ws = new WorkingSet();
  const evolver = new Evolver(ws, {
    defaults: DEFAULT_BEHAVIOUR_RULES,
    guestOsDefaults: DEFAULT_GUEST_OS_RULES,
    ...(shard ? { shard } : {}),
  });
  for (const e of events) evolver.apply(e);
  return ws;
}

const sortedEntries = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

describe('projector shards: the union of N shards is the projection of one', () => {
  it.each([1, 2, 3, 4])(
    'for %i shard(s): guest views, acks and set-aside rows of the shards together, the decisions per guest with their sequences, and every shard`s hosts, kernels and rules equal one projector`s',
    (count) => {
      fc.assert(
        fc.property(fleet, (events) => {
          const single = project(events);
          const shards = Array.from({ length: count }, (_, index) => project(events, { index, count }));
          const union = <T>(pick: (ws: WorkingSet) => Map<string, T>) => {
            const all = new Map<string, T>();
            for (const ws of shards)
              for (const [k, v] of pick(ws)) {
                expect(all.has(k)).toBe(false); // each row is one shard's
                all.set(k, v);
              }
            return sortedEntries(all);
          };
          const guests = (ws: WorkingSet) => new Map(ws.allGuests().map((g) => [viewKey(g.guestId, g.hostId), g]));
          expect(union(guests)).toEqual(sortedEntries(guests(single)));
          expect(union((ws) => ws.acks)).toEqual(sortedEntries(single.acks));
          expect(union((ws) => ws.setAside)).toEqual(sortedEntries(single.setAside));
          shards.forEach((ws, index) => {
            // the shard's guests are its own
            for (const g of ws.allGuests()) expect(shardOf(g.guestId, count)).toBe(index);
            // its decisions: exactly one projector's for those guests, in the same order, same sequences
            const mine = single.records.filter((r) => shardOf(r.guestId, count) === index);
            expect(ws.records).toEqual(mine);
            // the facts every shard has
            expect(sortedEntries(ws.hosts)).toEqual(sortedEntries(single.hosts));
            expect(sortedEntries(ws.kernels)).toEqual(sortedEntries(single.kernels));
            expect(sortedEntries(ws.rules)).toEqual(sortedEntries(single.rules));
            expect(sortedEntries(ws.guestOsRules)).toEqual(sortedEntries(single.guestOsRules));
          });
        }),
        { numRuns: RUNS },
      );
    },
  );
});
