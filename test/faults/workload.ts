// The fault suite's workload: a generated fleet (libs/sample-fleet) plus churn that changes
// many decisions and withdraws some (moves, removals, kernel changes and revocations, upgrade
// cancellations, completions and re-plans, host capability changes), every event delivered
// two or three times (some copies on another partition, some over HTTP), the first copies
// shuffled across keys (each key keeps its own order), and poison messages mixed in.
import { EventRouting, FleetEvent, Topics } from '@fleetcompat/contract';
import { envelope, fleetIds, generateFleet, prng } from '@fleetcompat/sample-fleet';

export interface WorkloadSize {
  readonly hosts: number;
  readonly guests: number;
  readonly kernels: number;
  readonly waves: number;
  readonly seed: number;
  /** Share of first copies moved around (across keys): 0..1 of the stream length. */
  readonly shuffleWindow: number;
  /** Share of events delivered three times instead of twice. */
  readonly tripleShare: number;
  /** Poison messages per 1000 deliveries. */
  readonly poisonPerMille: number;
  /** Oversize poison messages (300 KiB each), at most. */
  readonly oversizeMax: number;
  /** Share of the extra copies posted over HTTP instead of Kafka. */
  readonly httpShare: number;
  /** Share of the extra Kafka copies sent to a partition other than their key's. */
  readonly otherPartitionShare: number;
}

export type PoisonKind = 'invalid-json' | 'not-utf8' | 'empty' | 'unknown-type' | 'invalid-data' | 'invalid-envelope' | 'oversize';

/** The dead-letter code each kind must get. */
export const POISON_CODE: Record<PoisonKind, string> = {
  'invalid-json': 'invalid-json',
  'not-utf8': 'invalid-json',
  empty: 'invalid-json',
  'unknown-type': 'unknown-type',
  'invalid-data': 'invalid-data',
  'invalid-envelope': 'invalid-envelope',
  oversize: 'oversize',
};

export interface Poison {
  /** Unique; the message key, so that its dead letter is found by key. */
  readonly marker: string;
  readonly kind: PoisonKind;
  readonly topic: string;
}

export interface Delivery {
  /** Contract topic name (without the run's prefix). */
  readonly topic: string;
  readonly key: string | null;
  readonly value: string | Buffer | null;
  /** An explicit partition (a copy sent off its key's partition); else the key decides. */
  readonly partition?: number;
  readonly channel: 'kafka' | 'http';
  /** The event (valid deliveries), for HTTP. */
  readonly event?: FleetEvent;
  readonly eventId?: string;
  readonly poison?: Poison;
  /** 1 for the first copy, 2.. for the repeats. */
  readonly copy: number;
}

export interface Workload {
  /** Every valid event, by eventId. */
  readonly valid: Map<string, FleetEvent>;
  readonly poison: Poison[];
  /** In delivery order. */
  readonly deliveries: Delivery[];
  readonly counts: Record<string, number>;
}

const T0 = Date.parse('2026-11-20T09:00:00.000Z');

export function buildWorkload(size: WorkloadSize, prefix: string, partitions = 3): Workload {
  const rand = prng(size.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const ids = fleetIds({ ...size, prefix });
  const base = [...generateFleet({ ...size, prefix })];

  // What the churn needs to know of the fleet.
  const guests = new Map<string, any>();
  const planned = new Map<string, any>();
  const hosts: any[] = [];
  for (const e of base) {
    if (e.type === 'GuestObserved') guests.set(e.data.guestId, e.data);
    if (e.type === 'HypervisorUpgradePlanned') planned.set(e.data.hostId, e.data);
    if (e.type === 'HostRegistered') hosts.push(e.data);
  }
  const hostIds = hosts.map((h) => h.hostId as string);
  let n = 0;
  let clock = 0;
  const at = () => new Date(T0 + ++clock * 1000).toISOString();
  const ev = (type: FleetEvent['type'], data: any) => envelope(`${prefix}-churn-${++n}`, type, at(), 'faults/churn', data);
  const counts: Record<string, number> = {};
  const count = (what: string) => (counts[what] = (counts[what] ?? 0) + 1);

  // Two rounds of churn: the second one's events follow a first-round event of the same key.
  const round1: FleetEvent[] = [];
  const round2: FleetEvent[] = [];
  for (const g of guests.values()) {
    const r = rand();
    const moved = () => ({ ...g, hostId: pick(hostIds.filter((h) => h !== g.hostId)) });
    if (r < 0.1) {
      round1.push(ev('GuestObserved', moved()));
      count('guest moves');
    } else if (r < 0.2 && g.boot.kernelSha256) {
      round1.push(ev('GuestObserved', { ...g, boot: { ...g.boot, kernelSha256: ids.kernelSha(Math.floor(rand() * size.kernels)) } }));
      count('guest kernel changes');
    } else if (r < 0.25) {
      round1.push(ev('GuestRemoved', { guestId: g.guestId, hostId: g.hostId }));
      count('guest removals');
    } else if (r < 0.3) {
      round1.push(ev('GuestObserved', g));
      count('guest re-observations (no change)');
    } else if (r < 0.35) {
      const m = moved();
      round1.push(ev('GuestObserved', m));
      round2.push(ev('GuestRemoved', { guestId: g.guestId, hostId: m.hostId }));
      count('guest moves then removals');
    } else if (r < 0.38) {
      round1.push(ev('PlacementApplied', { hostId: g.hostId, guestId: g.guestId, decisionId: `${g.guestId}#1` }));
      count('placement acks');
    }
  }
  for (const p of planned.values()) {
    const r = rand();
    if (r < 0.25) {
      round1.push(ev('HypervisorUpgradeCancelled', { hostId: p.hostId, reason: 'fault suite' }));
      count('upgrade cancellations');
    } else if (r < 0.5) {
      round1.push(ev('HypervisorUpgradeStarted', { hostId: p.hostId }));
      round2.push(ev('HypervisorUpgradeCompleted', { hostId: p.hostId, version: p.toVersion }));
      count('upgrade completions');
    } else if (r < 0.6) {
      round1.push(ev('HypervisorUpgradeCancelled', { hostId: p.hostId }));
      round2.push(ev('HypervisorUpgradePlanned', { ...p, toVersion: p.toVersion === '4.11.0' ? '4.17.3' : '4.11.0', waveId: `${prefix}-replan` }));
      count('upgrade re-plans');
    }
  }
  for (const h of hosts) {
    if (rand() < 0.1) {
      round1.push(ev('HostRegistered', { ...h, rsdpOverrideSupported: !h.rsdpOverrideSupported }));
      count('host capability changes');
    }
  }
  for (let k = 0; k < size.kernels; k++) {
    if (rand() < 0.05) {
      round1.push(ev('KernelBuildRevoked', { imageSha256: ids.kernelSha(k), reason: 'fault suite' }));
      count('kernel revocations');
    }
  }
  round1.push(ev('HypervisorBehaviourDeclared', { version: '4.99.0', behaviour: 'always-low', note: 'fault suite: a version no host runs' }));
  count('behaviour declarations');

  const ordered = [...base, ...shuffle(round1, rand), ...shuffle(round2, rand)];
  const valid = new Map(ordered.map((e) => [e.eventId, e]));
  counts['fleet events (generated)'] = base.length;
  counts['valid events'] = valid.size;

  // First copies: shuffled across keys, each key (= partition order) keeping its own order.
  const keyOf = (e: FleetEvent) => `${EventRouting[e.type].topic}|${EventRouting[e.type].key(e.data)}`;
  const window = Math.max(1, Math.floor(ordered.length * size.shuffleWindow));
  const slots = ordered.map((e, i) => ({ e, t: i + rand() * window })).sort((a, b) => a.t - b.t);
  const queues = new Map<string, FleetEvent[]>();
  for (const e of ordered) {
    const k = keyOf(e);
    if (!queues.has(k)) queues.set(k, []);
    queues.get(k)!.push(e);
  }
  const firsts = slots.map((s) => queues.get(keyOf(s.e))!.shift()!);

  // Every event twice or three times: repeats land later in the stream.
  type Placed = { t: number; d: Delivery };
  const placed: Placed[] = [];
  const total = firsts.length;
  firsts.forEach((e, i) => {
    const route = EventRouting[e.type];
    const key = route.key(e.data);
    const value = JSON.stringify(e);
    placed.push({ t: i, d: { topic: route.topic, key, value, channel: 'kafka', event: e, eventId: e.eventId, copy: 1 } });
    const copies = rand() < size.tripleShare ? 3 : 2;
    for (let c = 2; c <= copies; c++) {
      const t = i + 1 + rand() * Math.max(1, total * 0.2);
      if (rand() < size.httpShare) {
        placed.push({ t, d: { topic: route.topic, key, value, channel: 'http', event: e, eventId: e.eventId, copy: c } });
        count('repeats over HTTP');
      } else if (rand() < size.otherPartitionShare) {
        const partition = Math.floor(rand() * partitions);
        placed.push({ t, d: { topic: route.topic, key, value, partition, channel: 'kafka', eventId: e.eventId, copy: c } });
        count('repeats on an explicit (maybe other) partition');
      } else {
        placed.push({ t, d: { topic: route.topic, key, value, channel: 'kafka', eventId: e.eventId, copy: c } });
      }
      count('repeats');
    }
  });

  // Poison, mixed in everywhere (each poison message delivered twice as well).
  const poison: Poison[] = [];
  const kinds: PoisonKind[] = ['invalid-json', 'not-utf8', 'empty', 'unknown-type', 'invalid-data', 'invalid-envelope'];
  const inputTopics = [Topics.kernelBuilds, Topics.guestInventory, Topics.hypervisorUpgrades, Topics.placementAcks];
  const poisonCount = Math.max(kinds.length + 1, Math.floor((placed.length * size.poisonPerMille) / 1000));
  const guestEvents = base.filter((e) => e.type === 'GuestObserved');
  let oversize = 0;
  for (let i = 0; i < poisonCount; i++) {
    const kind: PoisonKind = oversize < size.oversizeMax && (i === 0 || rand() < 0.05) ? 'oversize' : kinds[i % kinds.length];
    if (kind === 'oversize') oversize++;
    const p: Poison = { marker: `${prefix}-poison-${i}`, kind, topic: pick(inputTopics) };
    poison.push(p);
    count(`poison: ${kind}`);
    const value = poisonValue(p, pick(guestEvents));
    const t = rand() * total;
    placed.push({ t, d: { topic: p.topic, key: p.marker, value, channel: 'kafka', poison: p, copy: 1 } });
    placed.push({ t: t + rand() * total * 0.2, d: { topic: p.topic, key: p.marker, value, channel: 'kafka', poison: p, copy: 2 } });
  }
  placed.sort((a, b) => a.t - b.t);
  const deliveries = placed.map((p) => p.d);
  counts['deliveries'] = deliveries.length;
  return { valid, poison, deliveries, counts };
}

function poisonValue(p: Poison, like: FleetEvent): string | Buffer | null {
  const eventId = p.marker;
  switch (p.kind) {
    case 'invalid-json':
      return `{"eventId": "${eventId}", "type": "GuestObserved", "data": {`;
    case 'not-utf8':
      return Buffer.concat([Buffer.from(`${eventId} `), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x00, 0x9f])]);
    case 'empty':
      return null;
    case 'unknown-type':
      return JSON.stringify({ ...like, eventId, type: 'GuestTeleported' });
    case 'invalid-data':
      return JSON.stringify({ ...like, eventId, data: { ...(like.data as object), hostId: 42, imageSha256: 'not-a-sha' } });
    case 'invalid-envelope':
      return JSON.stringify({ eventId, type: like.type, occurredAt: 'yesterday', data: like.data });
    case 'oversize':
      return JSON.stringify({ ...like, eventId, source: 'x'.repeat(300 * 1024) });
  }
}

function shuffle<T>(xs: T[], rand: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}
