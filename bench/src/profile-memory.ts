// What the projector's working set costs in memory per guest: applies a generated fleet to a
// working set in this process, as the live projector does (events as the store gives them
// back, in batches of 2,000 or of 5,000 decisions, dropped after each batch), and prints the
// memory before and after, after a full garbage collection. No database, no broker. A tool
// for profiling, not a benchmark point:
//   npm run build && node --expose-gc dist/bench/src/profile-memory.js [guests] [snapshot]
// (with "snapshot" last: a heap snapshot of the loaded working set in the current directory)
import { readFileSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';
import { DEFAULT_MAX_DECISIONS_PER_BATCH, Evolver, ProjectedEvent, WorkingSet } from '@fleetcompat/projections';
import { generateFleet } from '@fleetcompat/sample-fleet';

const MiB = 1024 * 1024;

function settled(): NodeJS.MemoryUsage {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage();
}

function main(): void {
  const guests = Number(process.argv[2] ?? 250_000);
  const snapshot = process.argv[3] === 'snapshot';
  const hosts = Math.max(1, Math.round(guests / 50));
  const before = settled();
  const ws = new WorkingSet();
  const evolver = new Evolver(ws);
  let position = 0;
  const t0 = performance.now();
  for (const e of generateFleet({ hosts, guests, kernels: 2000, waves: 10, seed: 1, prefix: 'bench' })) {
    // fresh strings per event, as parsed from the store's rows
    const stored = JSON.parse(JSON.stringify(e)) as ProjectedEvent;
    evolver.apply({
      ...stored,
      occurredAt: new Date(stored.occurredAt).toISOString(),
      recordedAt: new Date(Date.UTC(2026, 11, 1) + position).toISOString(),
      globalPosition: String(++position),
    });
    // a batch: 2,000 events, or fewer that reach 5,000 decisions (as the projector's)
    if (position % 2000 === 0 || ws.records.length >= DEFAULT_MAX_DECISIONS_PER_BATCH) ws.beginBatch();
  }
  ws.beginBatch();
  const seconds = (performance.now() - t0) / 1000;
  const after = settled();
  const row = (name: string, k: keyof NodeJS.MemoryUsage) =>
    `${name.padEnd(13)} ${(before[k] / MiB).toFixed(1).padStart(8)} ${(after[k] / MiB).toFixed(1).padStart(8)} MiB` +
    `  ${((after[k] - before[k]) / guests).toFixed(0).padStart(5)} B/guest`;
  console.log(`${guests} guests, ${hosts} hosts, ${position} events applied in ${seconds.toFixed(1)} s`);
  console.log(`${''.padEnd(13)} ${'empty'.padStart(8)} ${'loaded'.padStart(8)}`);
  console.log(row('rss', 'rss'));
  console.log(row('heapTotal', 'heapTotal'));
  console.log(row('heapUsed', 'heapUsed'));
  console.log(row('external', 'external'));
  console.log(row('arrayBuffers', 'arrayBuffers'));
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  console.log(`peak rss (VmHWM): ${hwm ? (Number(hwm[1]) / 1024).toFixed(1) : '?'} MiB`);
  if (snapshot) console.log(`heap snapshot: ${writeHeapSnapshot()}`);
  // the working set is what was measured: keep it alive until here
  if (ws.guest('bench-guest-00000000', 'bench-host-000000') === undefined) throw new Error('fleet not applied');
}

main();
