import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Partitioners } from 'kafkajs';
import { runHook } from './hook';
import { partitionFor } from './kafka-source';
import { judgeReadiness, ReadyInputs } from './ready';
import {
  ackEnvelope,
  ackEventId,
  acksDue,
  AgentState,
  emptyState,
  mergeMessage,
  messagesOfPlacements,
  nextToApply,
  readState,
  StateStore,
} from './state';

const now = new Date('2026-11-24T10:00:00Z');
const decided = (guestId: string, sequence: number, extra: Record<string, unknown> = {}) => ({
  type: 'PlacementDecided',
  decisionId: `${guestId}#${sequence}`,
  hostId: 'h1',
  guestId,
  sequence,
  hypervisorVersion: '4.17.3',
  rsdp: 'low',
  action: 'none',
  reason: 'toolstack-places-low',
  ...extra,
});

describe('host agent state: per guest the highest sequence', () => {
  it('keeps a higher sequence, drops repeats and older ones, ignores other hosts and invalid messages', () => {
    const s = emptyState('h1', 'kafka', now);
    expect(mergeMessage(s, decided('g1', 3), now)).toMatchObject({ kind: 'new', sequence: 3 });
    expect(mergeMessage(s, decided('g1', 3), now)).toMatchObject({ kind: 'dropped', highest: 3 });
    expect(mergeMessage(s, decided('g1', 2), now)).toMatchObject({ kind: 'dropped' });
    expect(mergeMessage(s, { ...decided('g1', 9), hostId: 'h2' }, now)).toMatchObject({ kind: 'other-host' });
    expect(mergeMessage(s, { type: 'Nope' }, now)).toMatchObject({ kind: 'invalid' });
    expect(mergeMessage(s, { ...decided('g1', 5), decisionId: undefined }, now)).toMatchObject({ kind: 'invalid' });
    const r = mergeMessage(s, decided('g1', 5), now);
    expect(r).toMatchObject({ kind: 'new', sequence: 5, superseded: { sequence: 3 } });
    expect(s.guests.g1).toMatchObject({ sequence: 5, decisionId: 'g1#5', applied: false, acked: false });
    expect(s.counters).toMatchObject({ received: 2, dropped: 2, otherHost: 1 });
  });

  it('a withdrawal is kept by its sequence and drops the older decision; a later decision (the guest back) wins over it', () => {
    const s = emptyState('h1', 'http', now);
    mergeMessage(s, decided('g1', 4), now);
    mergeMessage(s, { type: 'PlacementWithdrawn', hostId: 'h1', guestId: 'g1', sequence: 5 }, now);
    expect(s.guests.g1).toMatchObject({ type: 'PlacementWithdrawn', sequence: 5, acked: null });
    expect(mergeMessage(s, decided('g1', 4), now).kind).toBe('dropped');
    expect(mergeMessage(s, decided('g1', 7), now).kind).toBe('new');
  });

  it('the hook order is arrival order; acks are due for applied decisions only', () => {
    const s = emptyState('h1', 'http', now);
    mergeMessage(s, decided('b', 1), now);
    mergeMessage(s, decided('a', 1), now);
    mergeMessage(s, { type: 'PlacementWithdrawn', hostId: 'h1', guestId: 'c', sequence: 2 }, now);
    expect(nextToApply(s, now)!.message.guestId).toBe('b');
    s.guests.b.applied = true;
    s.guests.a.nextAttemptAt = new Date(now.getTime() + 1000).toISOString(); // failed, retry later
    expect(nextToApply(s, now)!.message.guestId).toBe('c');
    s.guests.c.applied = true;
    expect(nextToApply(s, now)).toBeUndefined();
    expect(acksDue(s, now).map((g) => g.message.guestId)).toEqual(['b']);
  });

  it('reads the placements answer as messages: decisions, and withdrawals with their sequence', () => {
    const body = {
      hostId: 'h1',
      placements: [
        { guestId: 'g1', decision: decided('g1', 2) },
        { guestId: 'g2', decision: null },
      ],
      withdrawn: [
        { guestId: 'g3', sequence: 6 },
        { guestId: 'bad', sequence: 0 },
      ],
    };
    expect(messagesOfPlacements(body)).toEqual([
      decided('g1', 2),
      { type: 'PlacementWithdrawn', hostId: 'h1', guestId: 'g3', sequence: 6 },
    ]);
    expect(messagesOfPlacements({})).toEqual([]);
  });

  it('the ack eventId depends on host and decision only', () => {
    expect(ackEventId('h1', 'g1#2')).toBe(ackEventId('h1', 'g1#2'));
    expect(ackEventId('h1', 'g1#2')).not.toBe(ackEventId('h2', 'g1#2'));
    expect(ackEventId('h1', 'x'.repeat(256)).length).toBeLessThanOrEqual(128);
    const s = emptyState('h1', 'http', now);
    mergeMessage(s, decided('g1', 2), now);
    s.guests.g1.ackOccurredAt = '2026-11-24T10:00:01.000Z';
    expect(ackEnvelope('h1', s.guests.g1)).toEqual({
      eventId: ackEventId('h1', 'g1#2'),
      type: 'PlacementApplied',
      schemaVersion: 1,
      occurredAt: '2026-11-24T10:00:01.000Z',
      source: 'fleetcompat-host-agent/h1',
      data: { hostId: 'h1', guestId: 'g1', decisionId: 'g1#2' },
    });
  });
});

describe('state file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'fc-host-state-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes whole states, one at a time, the last one last, and leaves no temporary file', async () => {
    const s = emptyState('h1', 'http', now);
    const store = new StateStore(dir, () => s);
    const saves: Promise<void>[] = [];
    for (let i = 1; i <= 20; i++) {
      mergeMessage(s, decided('g1', i), now);
      saves.push(store.save());
    }
    await Promise.all(saves);
    expect(store.writes).toBeLessThan(20); // coalesced
    expect(readState(dir)!.guests.g1.sequence).toBe(20);
    expect(readdirSync(dir)).toEqual(['state.json']);
    expect(JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')).hostId).toBe('h1');
  });

  it('no state: null; a broken one: an error', () => {
    expect(readState(dir)).toBeNull();
    writeFileSync(path.join(dir, 'state.json'), '{"ver');
    expect(() => readState(dir)).toThrow(/not JSON/);
  });
});

describe('partitionFor', () => {
  it('is the partition kafkajs DefaultPartitioner (the relay) sends the host key to', () => {
    const relay = Partitioners.DefaultPartitioner();
    for (const n of [1, 3, 12]) {
      for (const host of ['h1', 'host-r1-01', 'bench-host-00017', 'ü-host']) {
        const meta = Array.from({ length: n }, (_, i) => ({
          partitionId: i,
          leader: 1,
          replicas: [1],
          isr: [1],
          partitionErrorCode: 0,
        }));
        expect(partitionFor(host, n)).toBe(
          relay({ topic: 't', partitionMetadata: meta, message: { key: host, value: 'x' } }),
        );
      }
    }
  });
});

describe('runHook', () => {
  it('passes the message on stdin and the environment; reports exit codes and timeouts', async () => {
    const ok = await runHook('read line; test "$line" = \'{"a":1}\' && test "$X" = y', '{"a":1}', { X: 'y' }, 5000);
    expect(ok).toMatchObject({ ok: true, error: null });
    const bad = await runHook('echo oops >&2; exit 3', '{}', {}, 5000);
    expect(bad).toMatchObject({ ok: false, error: 'exit 3: oops' });
    const slow = await runHook('sleep 5', '{}', {}, 200);
    expect(slow.ok).toBe(false);
    expect(slow.error).toMatch(/timed out/);
    expect(slow.durationMs).toBeLessThan(3000);
  });
});

describe('host ready: the verdict', () => {
  const agentWith = (
    guests: Record<string, { sequence: number; applied: boolean; attempts?: number; lastError?: string }>,
    lastSyncAt = '2026-11-24T09:59:50Z',
  ): AgentState => {
    const s = emptyState('h1', 'http', now);
    for (const [g, v] of Object.entries(guests)) {
      mergeMessage(s, decided(g, v.sequence), now);
      Object.assign(s.guests[g], { applied: v.applied, attempts: v.attempts ?? 0, lastError: v.lastError ?? null });
    }
    s.lastSyncAt = lastSyncAt;
    return s;
  };
  const service = (placements: any[], pending: string[] = []) => ({
    host: { body: { hostId: 'h1', decisionsForVersion: '4.17.3', readiness: { pendingGuestIds: pending } } },
    placements: { body: { hostId: 'h1', hypervisorVersion: '4.17.3', placements, withdrawn: [] } },
  });
  const p = (
    guestId: string,
    sequence: number,
    extra: {
      status?: string;
      acknowledged?: boolean;
      decision?: Record<string, unknown> | null;
      remedy?: string[];
    } = {},
  ) => ({
    guestId,
    status: extra.status ?? 'needs-low-rsdp',
    decision: extra.decision === null ? null : decided(guestId, sequence, extra.decision),
    acknowledged: extra.acknowledged ?? true,
    remedy: extra.remedy ?? [],
  });
  const judge = (x: Partial<ReadyInputs>) =>
    judgeReadiness({ hostId: 'h1', target: '4.17.3', now, maxAgeSeconds: 120, agent: null, ...service([]), ...x });

  it('0 when every PVH guest is decided for the target, applied and acknowledged, none blocked (HVM guests do not count)', () => {
    const v = judge({
      agent: agentWith({ g1: { sequence: 2, applied: true } }),
      ...service([
        p('g1', 2),
        {
          guestId: 'hvm',
          status: 'not-applicable',
          decision: decided('hvm', 1, { rsdp: 'not-applicable' }),
          acknowledged: false,
        },
      ]),
    });
    expect(v).toMatchObject({ exitCode: 0, ready: true, pvhGuests: 1, holds: [], unknown: [] });
  });

  it('1 with the reason and the remedy of each guest that holds the reboot back', () => {
    const v = judge({
      agent: agentWith({
        ok: { sequence: 1, applied: true },
        old: { sequence: 1, applied: true },
        failing: { sequence: 3, applied: false, attempts: 2, lastError: 'exit 1' },
        unacked: { sequence: 1, applied: true },
      }),
      ...service(
        [
          p('blocked', 4, {
            status: 'blocked',
            decision: { action: 'blocked', rsdp: 'high', reason: 'high-rsdp-without-override' },
            remedy: ['boot a kernel with bit 15'],
          }),
          p('failing', 3),
          p('missing', 2),
          p('nodecision', 0, { decision: null, status: 'awaiting-host' }),
          p('ok', 1),
          p('old', 2),
          p('otherversion', 1, { decision: { hypervisorVersion: '4.10.4' } }),
          p('unacked', 1, { acknowledged: false }),
        ],
        ['unacked'],
      ),
    });
    expect(v.exitCode).toBe(1);
    expect(v.holds.map((h) => [h.guestId, h.reason])).toEqual([
      ['blocked', 'blocked'],
      ['failing', 'apply-failing'],
      ['missing', 'not-applied'],
      ['nodecision', 'no-decision'],
      ['old', 'not-applied'],
      ['otherversion', 'decision-for-other-version'],
      ['unacked', 'not-acknowledged'],
    ]);
    expect(v.holds[0]).toMatchObject({
      remedy: ['boot a kernel with bit 15'],
      decisionReason: 'high-rsdp-without-override',
    });
  });

  it('not acknowledged when either of the service answers says so', () => {
    const v = judge({ agent: agentWith({ g1: { sequence: 2, applied: true } }), ...service([p('g1', 2)], ['g1']) });
    expect(v.holds.map((h) => h.reason)).toEqual(['not-acknowledged']);
  });

  it('2 when it cannot tell: no agent state, a stale one, another host, the service unreachable or refusing', () => {
    expect(judge({ agent: null, ...service([p('g1', 2)]) }).exitCode).toBe(2);
    expect(judge({ agent: { error: 'broken' } }).exitCode).toBe(2);
    expect(
      judge({
        agent: agentWith({ g1: { sequence: 2, applied: true } }, '2026-11-24T09:50:00Z'),
        ...service([p('g1', 2)]),
      }).unknown,
    ).toEqual([expect.stringMatching(/stale: last in sync with its source 600 s ago/)]);
    expect(judge({ agent: { ...agentWith({}), hostId: 'h2' } }).exitCode).toBe(2);
    const down = judge({
      agent: agentWith({ g1: { sequence: 2, applied: true } }),
      host: { error: 'unreachable: ECONNREFUSED' },
      placements: { error: 'unreachable: ECONNREFUSED' },
    });
    expect(down).toMatchObject({ exitCode: 2, ready: false });
    expect(
      judge({ agent: agentWith({}), host: { error: 'HTTP 403' }, placements: { error: 'HTTP 403' } }).exitCode,
    ).toBe(2);
  });
});
