// Where one latency sample's projector batch goes: stores a fleet of hosts of 200 guests on Xen
// 4.10.4 in a fresh database, lets the projector catch up, then stores one upgrade planned (or
// cancelled) event at a time and runs the batch that decides its host's 200 guests, timing the
// batch's phases and every statement it sends. A tool for profiling, not a benchmark point:
//   npm run build && node dist/bench/src/profile-batch.js [guests] [samples]
import pg from 'pg';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { FleetEvent } from '@fleetcompat/contract';
import { openDatabase } from '@fleetcompat/platform';
import { BatchPhases, Projector } from '@fleetcompat/projections';
import { envelope, generateFleet } from '@fleetcompat/sample-fleet';
import { createDatabase, dropDatabase, log, percentile } from './support';

/** Time per statement (by its first 70 characters), summed while `on`. */
const statements = new Map<string, { n: number; ms: number }>();
let timing = false;

function timeStatements(): void {
  type Query = (this: pg.Client, ...args: unknown[]) => unknown;
  const proto = pg.Client.prototype as unknown as { query: Query };
  const original = proto.query;
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const q = args[0] as string | { text?: string; constructor?: { name?: string } } | undefined;
    const text = typeof q === 'string' ? q : (q?.text ?? q?.constructor?.name ?? '?');
    const key = text.replace(/\s+/g, ' ').slice(0, 70);
    const t = performance.now();
    const r = original.apply(this, args) as
      { then?: (a: () => void, b: () => void) => void; on?: (e: string, f: () => void) => void } | undefined;
    let counted = false;
    const done = () => {
      if (!timing || counted) return;
      counted = true;
      const s = statements.get(key) ?? { n: 0, ms: 0 };
      s.n++;
      s.ms += performance.now() - t;
      statements.set(key, s);
    };
    if (typeof r?.then === 'function') r.then(done, done);
    else if (typeof r?.on === 'function') for (const e of ['finish', 'end', 'error']) r.on(e, done);
    return r;
  };
}

async function main(): Promise<void> {
  const guests = Number(process.argv[2] ?? 20_000);
  const samples = Number(process.argv[3] ?? 60);
  timeStatements();
  const url = await createDatabase('profile_batch');
  const ds = await openDatabase({ url, poolSize: 4, migrate: true });
  try {
    const store = new PostgresEventStore(ds);
    const events: FleetEvent[] = [
      ...generateFleet({ hosts: Math.max(1, Math.round(guests / 200)), guests, kernels: 200, waves: 0, seed: 1 }),
    ].map((e) =>
      e.type === 'HostRegistered'
        ? { ...e, data: { ...e.data, hypervisor: { name: 'xen' as const, version: '4.10.4' } } }
        : e,
    );
    for (let i = 0; i < events.length; i += 1000)
      await store.store(events.slice(i, i + 1000).map((event) => ({ event, origin: { channel: 'http' as const } })));
    const hosts = events.flatMap((e) => (e.type === 'HostRegistered' ? [e.data.hostId] : []));
    const projector = new Projector(ds, { listen: false });
    await projector.catchUp();
    log(`stored and projected ${events.length} events (${hosts.length} hosts of 200 guests)`);

    const batches: (BatchPhases & { ms: number; decisions: number })[] = [];
    for (let i = 0; i < samples; i++) {
      const hostId = hosts[i % hosts.length];
      const plan = Math.floor(i / hosts.length) % 2 === 0;
      const at = new Date().toISOString();
      const event = plan
        ? envelope(`profile-planned-${i}`, 'HypervisorUpgradePlanned', at, 'orchestrator/profile', {
            hostId,
            fromVersion: '4.10.4',
            toVersion: '4.17.3',
            plannedRebootAt: '2026-12-01T02:00:00Z',
            waveId: 'profile',
          })
        : envelope(`profile-cancelled-${i}`, 'HypervisorUpgradeCancelled', at, 'orchestrator/profile', {
            hostId,
            reason: 'profile: next round',
          });
      await store.store([{ event, origin: { channel: 'http' as const } }]);
      // the store's reads stop below transactions open anywhere on the server: wait until the event is readable
      for (;;) {
        const rows: unknown[] = await ds.query(
          `SELECT 1 FROM events WHERE event_id = $1 AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())`,
          [event.eventId],
        );
        if (rows.length) break;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      timing = i >= 10; // the first batches warm up
      const t = performance.now();
      const r = await projector.runOnce();
      const ms = performance.now() - t;
      timing = false;
      if (!r.events) throw new Error(`the batch did not read ${event.eventId}`);
      if (i >= 10) batches.push({ ...r.phases!, ms: Math.round(ms * 10) / 10, decisions: r.decisions });
    }
    const kept = batches;
    const keys = ['ms', 'read', 'load', 'apply', 'save', 'commit'] as const;
    log(`${kept.length} batches of ${kept[0]?.decisions} decisions; phases (ms), p50 / p90:`);
    for (const k of keys) {
      const v = kept.map((b) => b[k]).sort((a, b) => a - b);
      log(`  ${k}: ${percentile(v, 50)} / ${percentile(v, 90)}`);
    }
    log('statements, ms per batch (count):');
    for (const [k, v] of [...statements].sort((a, b) => b[1].ms - a[1].ms).slice(0, 20))
      log(`  ${(v.ms / kept.length).toFixed(2).padStart(7)} (${v.n}) ${k}`);
  } finally {
    await ds.destroy();
    await dropDatabase(url);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
