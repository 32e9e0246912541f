// The fault-injection suite (see test/faults/README.md). The fast profile runs in `npm test`;
// the long one with `npm run test:faults -- --long` (or FAULTS_LONG=1).
import { profile, runFaultSuite } from './run';

const long = process.env.FAULTS_LONG === '1';
const p = profile(long);

describe(`fault injection (${p.name}): kill -9, broker restart, Postgres crash, duplicates, poison, two of each role`, () => {
  it(
    'keeps every invariant: each valid event stored once, each invalid one dead-lettered, projections equal a rebuild, hosts see every decision in order, nothing left lagging',
    async () => {
      const report = await runFaultSuite(p);
      // The printed report (stderr) and report.reportFile list every fault and invariant with counts.
      const broken = report.invariants
        .filter((i) => i.failureCount > 0)
        .map((i) => `${i.name}: ${i.failureCount} failure(s): ${i.failures.slice(0, 5).join(' | ')}`);
      expect(broken).toEqual([]);
      // The faults really happened.
      const injected = Object.fromEntries(report.faults.map((f) => [f.fault, f.count]));
      for (const role of ['ingest', 'projector', 'relay']) expect(injected[`kill -9 ${role}`] ?? 0).toBeGreaterThan(0);
      expect(report.faults.some((f) => f.fault.startsWith('Kafka broker restart'))).toBe(true);
      expect(report.faults.some((f) => f.fault.startsWith('Postgres crash'))).toBe(true);
      expect(report.workload['valid events']).toBeGreaterThanOrEqual(Number(process.env.FAULTS_GUESTS ? 0 : 100000));
    },
    (long ? 90 : 30) * 60 * 1000,
  );
});
