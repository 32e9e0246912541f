import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The host agent's state, one JSON file in its state folder (`state.json`), rewritten whole
 * and atomically (temporary file, fsync, rename, fsync of the folder) after every change:
 * whatever moment the agent is killed at, the file is the one before or the one after a
 * change, never a mix. It is the agent's only memory: per guest the highest `sequence` seen
 * and where its message stands (applied by the hook, acknowledged), and the position in its
 * source (Kafka offset, or the ETag of the last placements answer), written together with the
 * messages read up to it.
 */

export const STATE_FILE = 'state.json';
export const STATE_VERSION = 1;

/** A message of the placement topic, as the agent keeps it (PlacementDecided or PlacementWithdrawn JSON). */
export interface PlacementMessage {
  readonly type: 'PlacementDecided' | 'PlacementWithdrawn';
  readonly hostId: string;
  readonly guestId: string;
  readonly sequence: number;
  readonly decisionId?: string;
  readonly [k: string]: unknown;
}

export interface GuestState {
  /** Highest sequence seen for the guest on this host; anything not higher is dropped. */
  sequence: number;
  type: PlacementMessage['type'];
  /** PlacementDecided only. */
  decisionId: string | null;
  /** The message as received: what the hook gets on stdin. */
  message: PlacementMessage;
  receivedAt: string;
  /** Apply order across guests (the order messages arrived in). */
  order: number;
  /** The hook succeeded for this very message. */
  applied: boolean;
  appliedAt: string | null;
  /** Failed hook runs for this message, the last error, and when the next run may start. */
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  /** PlacementDecided: the service stored our PlacementApplied (null for withdrawals: nothing to acknowledge). */
  acked: boolean | null;
  ackedAt: string | null;
  /** The occurredAt of our PlacementApplied, fixed when the hook succeeded, so that a re-sent ack is the same event. */
  ackOccurredAt: string | null;
  ackAttempts: number;
  nextAckAt: string | null;
}

export interface AgentState {
  version: number;
  hostId: string;
  mode: 'http' | 'kafka';
  createdAt: string;
  updatedAt: string;
  /** When the agent last knew it had everything its source had (a placements answer, or the end of its partition). */
  lastSyncAt: string | null;
  source: {
    http?: { url: string; etag: string | null };
    kafka?: { topic: string; partition: number; partitions: number; nextOffset: string | null };
  };
  guests: Record<string, GuestState>;
  nextOrder: number;
  counters: {
    received: number;
    dropped: number;
    otherHost: number;
    applied: number;
    hookFailures: number;
    acked: number;
  };
  /** The last problem with the source or the acks (null once it works again). */
  lastError: string | null;
  agentPid: number | null;
}

export function emptyState(hostId: string, mode: AgentState['mode'], now: Date): AgentState {
  return {
    version: STATE_VERSION,
    hostId,
    mode,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    lastSyncAt: null,
    source: {},
    guests: {},
    nextOrder: 1,
    counters: { received: 0, dropped: 0, otherHost: 0, applied: 0, hookFailures: 0, acked: 0 },
    lastError: null,
    agentPid: null,
  };
}

/** What merging one message did. */
export type MergeOutcome =
  | { kind: 'new'; guestId: string; sequence: number; type: PlacementMessage['type']; superseded: GuestState | null }
  | { kind: 'dropped'; guestId: string; sequence: number; highest: number }
  | { kind: 'other-host'; hostId: string }
  | { kind: 'invalid'; reason: string };

/** Checks the fields the agent relies on; the rest of the message is passed to the hook as it is. */
export function asPlacementMessage(value: unknown): PlacementMessage | string {
  const m = value as Partial<PlacementMessage> | null;
  if (!m || typeof m !== 'object') return 'not an object';
  if (m.type !== 'PlacementDecided' && m.type !== 'PlacementWithdrawn')
    return `type ${JSON.stringify(m.type)} is not PlacementDecided or PlacementWithdrawn`;
  if (typeof m.hostId !== 'string' || !m.hostId) return 'no hostId';
  if (typeof m.guestId !== 'string' || !m.guestId) return 'no guestId';
  if (!Number.isSafeInteger(m.sequence) || (m.sequence as number) < 1) return 'sequence is not a positive whole number';
  if (m.type === 'PlacementDecided' && (typeof m.decisionId !== 'string' || !m.decisionId)) return 'no decisionId';
  return m as PlacementMessage;
}

/**
 * Merges one message into the state: kept only when its sequence is higher than the highest
 * seen for the guest (repeats and older messages are dropped), and only when it is for this
 * host. A newer message replaces an older one that was not applied yet: the hook never sees
 * the older one after it.
 */
export function mergeMessage(state: AgentState, value: unknown, now: Date): MergeOutcome {
  const m = asPlacementMessage(value);
  if (typeof m === 'string') return { kind: 'invalid', reason: m };
  if (m.hostId !== state.hostId) {
    state.counters.otherHost++;
    return { kind: 'other-host', hostId: m.hostId };
  }
  const current = state.guests[m.guestId];
  if (current && m.sequence <= current.sequence) {
    state.counters.dropped++;
    return { kind: 'dropped', guestId: m.guestId, sequence: m.sequence, highest: current.sequence };
  }
  state.counters.received++;
  state.guests[m.guestId] = {
    sequence: m.sequence,
    type: m.type,
    decisionId: m.type === 'PlacementDecided' ? (m.decisionId as string) : null,
    message: m,
    receivedAt: now.toISOString(),
    order: state.nextOrder++,
    applied: false,
    appliedAt: null,
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
    acked: m.type === 'PlacementDecided' ? false : null,
    ackedAt: null,
    ackOccurredAt: null,
    ackAttempts: 0,
    nextAckAt: null,
  };
  return {
    kind: 'new',
    guestId: m.guestId,
    sequence: m.sequence,
    type: m.type,
    superseded: current && !current.applied ? current : null,
  };
}

/**
 * The messages a placements answer stands for: each present guest's current decision, and a
 * withdrawal (with its sequence) for each guest the host removed. Merged like topic messages,
 * so an older answer (another API process, a cache a little behind) can never undo a newer one.
 */
export function messagesOfPlacements(body: unknown): unknown[] {
  // A JSON answer: each field is tested before it is used.
  const b = body as { hostId?: unknown; placements?: unknown; withdrawn?: unknown } | null | undefined;
  const out: unknown[] = [];
  const placements = (Array.isArray(b?.placements) ? b.placements : []) as (
    { decision?: unknown } | null | undefined
  )[];
  for (const p of placements) if (p?.decision) out.push(p.decision);
  const withdrawn = (Array.isArray(b?.withdrawn) ? b.withdrawn : []) as (
    { guestId?: unknown; sequence?: unknown } | null | undefined
  )[];
  for (const w of withdrawn) {
    if (
      w &&
      typeof w.guestId === 'string' &&
      typeof w.sequence === 'number' &&
      Number.isSafeInteger(w.sequence) &&
      w.sequence > 0
    ) {
      out.push({ type: 'PlacementWithdrawn', hostId: b?.hostId, guestId: w.guestId, sequence: w.sequence });
    }
  }
  return out;
}

/** The next guest whose message waits for the hook (oldest first), if its time has come. */
export function nextToApply(state: AgentState, now: Date): GuestState | undefined {
  let best: GuestState | undefined;
  for (const g of Object.values(state.guests)) {
    if (g.applied || (g.nextAttemptAt && Date.parse(g.nextAttemptAt) > now.getTime())) continue;
    if (!best || g.order < best.order) best = g;
  }
  return best;
}

/** Decisions applied and not yet acknowledged whose time has come, oldest first. */
export function acksDue(state: AgentState, now: Date, limit = 500): GuestState[] {
  return Object.values(state.guests)
    .filter(
      (g) =>
        g.type === 'PlacementDecided' &&
        g.applied &&
        g.acked === false &&
        (!g.nextAckAt || Date.parse(g.nextAckAt) <= now.getTime()),
    )
    .sort((a, b) => a.order - b.order)
    .slice(0, limit);
}

/** When something next becomes due (a retry or an ack), ms from now; undefined: nothing waits. */
export function nextDueInMs(state: AgentState, now: Date): number | undefined {
  let min: number | undefined;
  for (const g of Object.values(state.guests)) {
    const at = !g.applied ? g.nextAttemptAt : g.acked === false ? g.nextAckAt : undefined;
    if (at === undefined) continue;
    const ms = at === null ? 0 : Math.max(0, Date.parse(at) - now.getTime());
    if (min === undefined || ms < min) min = ms;
  }
  return min;
}

/** The eventId of the host's PlacementApplied for a decision: the same host and decision always give the same id. */
export function ackEventId(hostId: string, decisionId: string): string {
  return `placement-applied-${createHash('sha256').update(`${hostId}\n${decisionId}`).digest('hex')}`;
}

/** The PlacementApplied envelope for an applied decision. */
export function ackEnvelope(hostId: string, g: GuestState) {
  return {
    eventId: ackEventId(hostId, g.decisionId!),
    type: 'PlacementApplied' as const,
    schemaVersion: 1 as const,
    occurredAt: g.ackOccurredAt ?? g.appliedAt ?? new Date().toISOString(),
    source: `fleetcompat-host-agent/${hostId}`,
    data: { hostId, guestId: g.message.guestId, decisionId: g.decisionId! },
  };
}

/** Exponential backoff with jitter: initial * 2^(attempt-1), capped, ±20%. */
export function backoffMs(attempt: number, initialMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export class StateFileError extends Error {}

/** Reads the state file of a folder; null when there is none. Throws StateFileError when it is unreadable. */
export function readState(dir: string): AgentState | null {
  let text: string;
  try {
    text = readFileSync(path.join(dir, STATE_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new StateFileError(`${path.join(dir, STATE_FILE)}: ${(e as Error).message}`);
  }
  let state: AgentState;
  try {
    state = JSON.parse(text) as AgentState;
  } catch (e) {
    throw new StateFileError(`${path.join(dir, STATE_FILE)} is not JSON: ${(e as Error).message}`);
  }
  if (state?.version !== STATE_VERSION || typeof state.hostId !== 'string' || typeof state.guests !== 'object') {
    throw new StateFileError(`${path.join(dir, STATE_FILE)} is not a host agent state of version ${STATE_VERSION}`);
  }
  return state;
}

/** Writes `text` to `dir/name` atomically and durably: temporary file, fsync, rename, fsync of the folder. */
export async function writeFileAtomic(dir: string, name: string, text: string): Promise<void> {
  const tmp = path.join(dir, `.${name}.${process.pid}.tmp`);
  const fh = await fs.open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, path.join(dir, name));
  const dh = await fs.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/**
 * Saves the state of an agent, one write at a time: `save()` resolves once a write that
 * started after the call has finished (calls during a write share the next one), so that a
 * later state never loses to an earlier one on disk.
 */
export class StateStore {
  private writing: Promise<void> | null = null;
  private queued: Promise<void> | null = null;
  writes = 0;

  constructor(
    readonly dir: string,
    private readonly snapshot: () => AgentState,
  ) {}

  save(): Promise<void> {
    if (this.queued) return this.queued;
    if (!this.writing) return (this.writing = this.write().finally(() => (this.writing = null)));
    this.queued = this.writing.then(
      () => this.save2(),
      () => this.save2(),
    );
    return this.queued;
  }

  private save2(): Promise<void> {
    this.queued = null;
    return (this.writing = this.write().finally(() => (this.writing = null)));
  }

  private async write(): Promise<void> {
    const s = this.snapshot();
    s.updatedAt = new Date().toISOString();
    await writeFileAtomic(this.dir, STATE_FILE, JSON.stringify(s, null, 1) + '\n');
    this.writes++;
  }
}
