// The invariants checked once the load has drained. Each returns what it checked, with
// counts, and the failures found (a sample of them, and how many).
import { DataSource } from 'typeorm';
import { compareProjections, rebuildProjections, shardsBehind } from '@fleetcompat/projections';
import { POISON_CODE, Workload } from './workload';
import { Read } from './kafka-io';

export interface InvariantResult {
  name: string;
  checked: string;
  counts: Record<string, number>;
  failures: string[];
  failureCount: number;
}

export class Check {
  readonly counts: Record<string, number> = {};
  readonly failures: string[] = [];
  failureCount = 0;
  constructor(
    readonly name: string,
    readonly checked: string,
  ) {}
  fail(msg: string) {
    this.failureCount++;
    if (this.failures.length < 20) this.failures.push(msg);
  }
  count(what: string, n = 1) {
    this.counts[what] = (this.counts[what] ?? 0) + n;
  }
  result(): InvariantResult {
    return {
      name: this.name,
      checked: this.checked,
      counts: this.counts,
      failures: this.failures,
      failureCount: this.failureCount,
    };
  }
}

/** JSON with sorted keys: equal values give equal strings, whatever the key order. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export async function checkStore(ds: DataSource, w: Workload): Promise<InvariantResult> {
  const c = new Check(
    'store: every valid eventId exactly once',
    'the eventIds in the event store against the workload: none missing, none extra, none twice, no poison stored',
  );
  const rows: { event_id: string; n: string }[] = await ds.query(
    `SELECT event_id, count(*)::text AS n FROM events GROUP BY event_id`,
  );
  const stored = new Set<string>();
  for (const r of rows) {
    stored.add(r.event_id);
    if (Number(r.n) !== 1) c.fail(`${r.event_id} stored ${r.n} times`);
    if (!w.valid.has(r.event_id)) c.fail(`${r.event_id} stored but not a valid event of the workload`);
  }
  for (const id of w.valid.keys())
    if (!stored.has(id)) c.fail(`${id} (${w.valid.get(id)!.type}) is missing from the store`);
  const poisonIds = new Set(w.poison.map((p) => p.marker));
  for (const id of stored) if (poisonIds.has(id)) c.fail(`poison ${id} was stored`);
  c.count('valid events in the workload', w.valid.size);
  c.count('events in the store', rows.length);
  return c.result();
}

export function checkDeadLetters(letters: Read[], w: Workload, deliveredTimes: Map<string, number>): InvariantResult {
  const c = new Check(
    'dead letters: every invalid message, with its reason',
    'each poison message has a dead letter per delivery (at least) with the expected error code and a message; nothing valid was dead-lettered',
  );
  const byMarker = new Map<string, any[]>();
  for (const m of letters) {
    let letter: any;
    try {
      letter = JSON.parse(m.value!.toString('utf8'));
    } catch {
      c.fail(`dead letter at ${m.partition}/${m.offset} is not JSON`);
      continue;
    }
    const marker = letter.key ?? m.key;
    if (!byMarker.has(marker)) byMarker.set(marker, []);
    byMarker.get(marker)!.push(letter);
  }
  const markers = new Set(w.poison.map((p) => p.marker));
  for (const k of byMarker.keys())
    if (!markers.has(k)) c.fail(`dead letter for key ${k}, which is not a poison message`);
  for (const p of w.poison) {
    const got = byMarker.get(p.marker) ?? [];
    const times = deliveredTimes.get(p.marker) ?? 2;
    if (got.length < times) c.fail(`${p.kind} ${p.marker}: ${got.length} dead letters for ${times} deliveries`);
    for (const l of got) {
      if (l.error?.code !== POISON_CODE[p.kind])
        c.fail(`${p.kind} ${p.marker}: code ${l.error?.code}, expected ${POISON_CODE[p.kind]}`);
      if (!l.error?.message) c.fail(`${p.kind} ${p.marker}: no error message`);
      if (l.topic !== undefined && !String(l.topic).endsWith(p.topic))
        c.fail(`${p.kind} ${p.marker}: original topic ${l.topic}, sent to ${p.topic}`);
    }
    c.count(`poison ${p.kind}`);
    c.count('dead letters beyond one per delivery (redelivered after a crash)', Math.max(0, got.length - times));
  }
  c.count('poison messages', w.poison.length);
  c.count('dead letters read', letters.length);
  return c.result();
}

export async function checkRebuild(ds: DataSource): Promise<InvariantResult> {
  const c = new Check(
    'projections: live equals a rebuild from the store',
    'replays the whole event store into fresh tables (rebuildProjections) and compares every projection table row by row with the live one',
  );
  const r = await rebuildProjections(ds, { schema: 'projection_faults_rebuild' });
  c.count('events replayed', r.events);
  const diffs = await compareProjections(ds, 'projection', 'projection_faults_rebuild');
  for (const d of diffs)
    c.fail(
      `${d.table}: ${d.onlyInA} rows only live, ${d.onlyInB} only rebuilt; e.g. ${JSON.stringify(d.sample).slice(0, 600)}`,
    );
  for (const t of ['kernels', 'hosts', 'guests', 'decisions', 'acks']) {
    const [{ n }] = await ds.query(`SELECT count(*)::text AS n FROM projection.${t}`);
    c.count(`live ${t} rows`, Number(n));
  }
  await ds.query(`DROP SCHEMA projection_faults_rebuild CASCADE`);
  return c.result();
}

/**
 * What a host sees: per guest and host (the topic is keyed by host: one partition), in
 * partition order, dropping any message whose sequence is not above the highest seen so far;
 * what remains must be exactly the projection's decision history for that guest on that host,
 * and the guest's highest sequence on the topic must be its last decision in the projection.
 */
export async function checkPlacementTopic(ds: DataSource, decisions: Read[]): Promise<InvariantResult[]> {
  const seq = new Check(
    'placement topic: per guest, strictly increasing sequences, no decision lost',
    "per (guest, host) in partition order after dropping repeats (sequence not above the highest seen), the sequences equal the projection decision history of the guest on that host; every guest's history is gapless 1..n",
  );
  const last = new Check(
    'placement topic: the last decision of every guest equals the projection',
    'the message with the highest sequence of each guest equals (as JSON) the last row of projection.decisions and, when the view (guest, host) of that row has a current decision, projection.guests.decision_id',
  );

  const history = new Map<string, { sequence: number; host_id: string; kind: string; message: unknown }[]>();
  const rows: { guest_id: string; sequence: number; host_id: string; kind: string; message: unknown }[] =
    await ds.query(
      `SELECT guest_id, sequence, host_id, kind, message FROM projection.decisions ORDER BY guest_id, sequence`,
    );
  for (const r of rows) {
    if (!history.has(r.guest_id)) history.set(r.guest_id, []);
    history.get(r.guest_id)!.push(r);
  }
  // projection.guests holds one row per (guest, host) view; a guest's counter is the highest over its views.
  const current = new Map<string, { sequence: number; decision: any }>();
  const counter = new Map<string, number>();
  const guests = await ds.query(
    `SELECT g.guest_id, g.host_id, g.sequence, d.message AS decision FROM projection.guests g LEFT JOIN projection.decisions d ON d.decision_id = g.decision_id`,
  );
  for (const g of guests as any[]) {
    current.set(`${g.guest_id}\u0000${g.host_id}`, g);
    counter.set(g.guest_id, Math.max(counter.get(g.guest_id) ?? 0, g.sequence));
  }

  // Projection: gapless per guest, the highest sequence of its views = last.
  for (const [guestId, h] of history) {
    h.forEach((r, i) => {
      if (r.sequence !== i + 1)
        seq.fail(`${guestId}: projection history has sequence ${r.sequence} at position ${i + 1}`);
    });
    if (counter.get(guestId) !== h[h.length - 1].sequence)
      seq.fail(
        `${guestId}: highest guests.sequence of its views ${counter.get(guestId)} but last decision ${h[h.length - 1].sequence}`,
      );
  }

  // The host's view.
  const seen = new Map<string, { seqs: number[]; max: number }>();
  const lastOnTopic = new Map<string, { sequence: number; value: any }>();
  let repeats = 0;
  for (const m of decisions) {
    const v = JSON.parse(m.value!.toString('utf8'));
    if (m.key !== v.hostId) seq.fail(`message ${m.partition}/${m.offset} keyed ${m.key} for host ${v.hostId}`);
    const k = `${v.guestId}\u0000${v.hostId}`;
    const s = seen.get(k) ?? { seqs: [], max: 0 };
    seen.set(k, s);
    if (v.sequence <= s.max) {
      repeats++;
      continue;
    }
    s.max = v.sequence;
    s.seqs.push(v.sequence);
    const l = lastOnTopic.get(v.guestId);
    if (!l || v.sequence > l.sequence) lastOnTopic.set(v.guestId, { sequence: v.sequence, value: v });
    else if (v.sequence === l.sequence && canonical(v) !== canonical(l.value))
      seq.fail(`${v.guestId}: two different messages with sequence ${v.sequence}`);
  }
  const expected = new Map<string, number[]>();
  for (const [guestId, h] of history)
    for (const r of h) {
      const k = `${guestId}\u0000${r.host_id}`;
      if (!expected.has(k)) expected.set(k, []);
      expected.get(k)!.push(r.sequence);
    }
  for (const [k, want] of expected) {
    const got = seen.get(k)?.seqs ?? [];
    if (got.join(',') !== want.join(','))
      seq.fail(
        `${k.replace('\u0000', ' on ')}: host saw sequences [${got.join(',')}], projection history [${want.join(',')}]`,
      );
  }
  for (const k of seen.keys())
    if (!expected.has(k)) seq.fail(`${k.replace('\u0000', ' on ')}: messages on the topic, none in the projection`);
  seq.count('messages on the placement topic', decisions.length);
  seq.count('repeats dropped (sequence not above the highest seen: at-least-once relay)', repeats);
  seq.count('decisions in the projection history', rows.length);
  seq.count('guests with decisions', history.size);
  seq.count('guest-host streams compared', expected.size);
  seq.count('withdrawals in the history', rows.filter((r) => r.kind === 'withdrawn').length);

  for (const [guestId, h] of history) {
    const want = h[h.length - 1];
    const got = lastOnTopic.get(guestId);
    if (!got) {
      last.fail(`${guestId}: no message on the topic`);
      continue;
    }
    if (got.sequence !== want.sequence || canonical(got.value) !== canonical(want.message)) {
      last.fail(
        `${guestId}: last on topic #${got.sequence} ${canonical(got.value).slice(0, 200)} != projection #${want.sequence} ${canonical(want.message).slice(0, 200)}`,
      );
      continue;
    }
    const cur = current.get(`${guestId}\u0000${want.host_id}`)?.decision;
    if (cur) {
      if (canonical(cur) !== canonical(got.value))
        last.fail(`${guestId}: current decision differs from the last message`);
      last.count('guests whose current decision is the last message');
    } else {
      if (want.kind !== 'withdrawn')
        last.fail(`${guestId}: no current decision, but the last message is not a withdrawal`);
      last.count('guests withdrawn (removed or moved without a new decision) last');
    }
  }
  last.count('guests checked', history.size);
  return [seq.result(), last.result()];
}

export interface LagState {
  groupLag: { topic: string; partition: number; lag: number }[];
  projectorBehind: number;
  outbox: number;
  alive: Record<string, number>;
}

export function checkNoLag(
  state: LagState,
  drainedAfterMs: number | null,
  expectedAlive: Record<string, number>,
): InvariantResult {
  const c = new Check(
    'no consumer stuck or lagging',
    'after the drain: the ingest group has committed the end of every input partition, the projector checkpoint is at the head of the store, the outbox is empty, every process is running',
  );
  for (const l of state.groupLag) c.fail(`ingest group: ${l.topic}[${l.partition}] lags ${l.lag}`);
  if (state.projectorBehind)
    c.fail(`projector (its most behind shard) is ${state.projectorBehind} events behind the store`);
  if (state.outbox) c.fail(`outbox holds ${state.outbox} unpublished rows`);
  if (drainedAfterMs === null) c.fail('the load did not drain before the time limit');
  for (const [role, n] of Object.entries(expectedAlive))
    if ((state.alive[role] ?? 0) !== n) c.fail(`${role}: ${state.alive[role] ?? 0} of ${n} processes running`);
  c.count('input partitions lagging', state.groupLag.length);
  c.count('projector events behind', state.projectorBehind);
  c.count('outbox rows left', state.outbox);
  if (drainedAfterMs !== null) c.count('seconds to drain after the faults stopped', Math.round(drainedAfterMs / 1000));
  return c.result();
}

/** Events the projector has not applied yet: the most behind shard of the layout in force. */
export async function projectorBehind(ds: DataSource, shards?: number): Promise<number> {
  return Math.max(0, ...(await shardsBehind(ds, shards)).map((s) => s.behind));
}
