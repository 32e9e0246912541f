// Where the live projector's time goes: stores a generated fleet in a fresh database, then
// runs the projector (outbox on, as in production) until it has caught up, summing each
// batch's phases. A tool for profiling, not a benchmark point:
//   npm run build && node dist/bench/src/profile-projector.js [guests] [batch size] [rebuild]
// (with "rebuild" last: the rebuild only)
import { readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { PostgresEventStore } from '@fleetcompat/event-store';
import { openDatabase } from '@fleetcompat/platform';
import { BatchPhases, Projector, rebuildProjections } from '@fleetcompat/projections';
import { generateFleet } from '@fleetcompat/sample-fleet';
import { createDatabase, dropDatabase, log } from './support';

async function main(): Promise<void> {
  const guests = Number(process.argv[2] ?? 250_000);
  const batchSize = Number(process.argv[3] ?? 2000);
  const rebuildOnly = process.argv[4] === 'rebuild';
  const url = await createDatabase('profile');
  const ds = await openDatabase({ url, poolSize: 4, migrate: true });
  try {
    const store = new PostgresEventStore(ds);
    let batch = [];
    let stored = 0;
    for (const event of generateFleet({
      hosts: Math.max(1, Math.round(guests / 50)),
      guests,
      kernels: 2000,
      waves: 10,
      seed: 1,
      prefix: 'bench',
    })) {
      batch.push({ event, origin: { channel: 'http' as const } });
      if (batch.length === 1000) {
        stored += (await store.store(batch)).stored;
        batch = [];
      }
    }
    stored += (await store.store(batch)).stored;
    log(`stored ${stored} events`);

    if (!rebuildOnly) await live(ds, batchSize);
    const rebuilt = await rebuildProjections(ds, { schema: 'profile_rebuild' });
    log(
      `rebuild: ${rebuilt.events} events in ${(rebuilt.ms / 1000).toFixed(1)} s = ${Math.round(rebuilt.events / (rebuilt.ms / 1000))} events/s; phases (ms) ${JSON.stringify(rebuilt.phases)}`,
    );
  } finally {
    await ds.destroy();
    await dropDatabase(url);
  }
}

async function live(ds: DataSource, batchSize: number): Promise<void> {
  const projector = new Projector(ds, { batchSize, listen: false });
  const sum: Record<keyof BatchPhases, number> = { read: 0, load: 0, apply: 0, save: 0, commit: 0 };
  let events = 0;
  let decisions = 0;
  const t0 = performance.now();
  for (;;) {
    const r = await projector.runOnce();
    if (!r.events) break;
    events += r.events;
    decisions += r.decisions;
    for (const k of Object.keys(sum) as (keyof BatchPhases)[]) sum[k] += r.phases![k];
  }
  const ms = performance.now() - t0;
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; gc && i < 3; i++) gc();
  const m = process.memoryUsage();
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  log(
    `memory with the projection loaded${gc ? ', after a full GC' : ' (run with --expose-gc for after a full GC)'}: rss ${mib(m.rss)}, heapUsed ${mib(m.heapUsed)}, arrayBuffers ${mib(m.arrayBuffers)}; peak rss (VmHWM) so far ${hwm ? mib(Number(hwm[1]) * 1024) : '?'}`,
  );
  log(
    `live projector: ${projector.processedEvents} events, ${decisions} decisions in ${(ms / 1000).toFixed(1)} s = ${Math.round(events / (ms / 1000))} events/s`,
  );
  log(
    `phases (s): ${Object.entries(sum)
      .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)}`)
      .join(', ')}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
