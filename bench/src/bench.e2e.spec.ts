// Smoke test of the benchmark harness: a tiny fleet through every section, on the built apps
// (npm run build first; npm test does), the real broker and Postgres. It checks that the
// report has every section and both files; it asserts nothing about speed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runBench, writeReport } from './main';
import { parseOptions } from './options';
import { ROOT } from './support';

describe('npm run bench (harness smoke run at a tiny size)', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'fc-bench-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  // Every point starts and stops its own processes (about 3 minutes on a loaded 2-core machine,
  // seen in a .ci/run beside another): a hang guard, not a speed limit.
  it('measures every point beside its baseline and writes the JSON and markdown report', async () => {
    const options = parseOptions(
      [
        '--quick',
        '--hosts',
        '6',
        '--guests',
        '120',
        '--kernels',
        '10',
        '--waves',
        '1',
        '--runs',
        '1',
        '--latency-hosts',
        '1',
        '--latency-samples',
        '4',
        '--append-events',
        '600',
        '--query-seconds',
        '1',
        '--host-agents',
        '30',
        '--host-idle-seconds',
        '2',
        '--out',
        out,
        '--label',
        'smoke',
      ],
      {},
      ROOT,
    );
    const report = await runBench(options);
    const files = writeReport(report, options);

    expect(report.ingest).toMatchObject({ events: expect.any(Number), decisions: expect.any(Number) });
    expect(report.ingest!.events).toBeGreaterThan(6 + 120 + 10); // kernels, hosts, guests and the upgrades
    expect(report.ingest!.decisions).toBeGreaterThanOrEqual(120);
    expect(report.ingest!.pipelineEventsPerSec.runs).toHaveLength(1);
    expect(report.ingest!.bareConsumerEventsPerSec.median).toBeGreaterThan(0);
    expect(report.append!.events).toBe(600);
    for (const k of ['fleetcompat', 'copy', 'emmett'] as const) expect(report.append![k].median).toBeGreaterThan(0);
    expect(report.latency).toMatchObject({ hosts: 1, guestsPerHost: 200, count: 4 }); // planned, cancelled, planned, cancelled
    expect(report.latency!.ms.p95).toBeGreaterThan(0);
    // where the time went: each stage of every sample was seen, and they add up to the sample (one clock)
    const st = report.latency!.stages!;
    const all = [st.stored, st.projected, st.relayed, st.delivered];
    for (const stage of all) expect(Number.isFinite(stage.p50)).toBe(true);
    expect(st.projected.max).toBeGreaterThan(0);
    expect(all.reduce((sum, x) => sum + x.max, 0)).toBeGreaterThanOrEqual(report.latency!.ms.min);
    expect(report.ingest!.relay!.bareProducerMessagesPerSec.median).toBeGreaterThan(0);
    expect(Object.keys(report.ingest!.cpuPer1000!)).toEqual(
      expect.arrayContaining(['ingest', 'projector', 'relay', 'postgres']),
    );
    expect(report.queries!.projectorCommitsPerSec!.runs).toHaveLength(1);
    expect(report.queries!.wave!.cacheHitPct!.median).toBeGreaterThanOrEqual(0); // read off the API's /metrics
    expect(report.rebuild!.events).toBeGreaterThanOrEqual(report.ingest!.events);
    expect(report.queries!.placements.errors + report.queries!.placements.non2xx).toBe(0);
    expect(report.queries!.blocked.errors + report.queries!.blocked.non2xx).toBe(0);
    expect(report.hostAgents).toMatchObject({
      agents: 30,
      longPoll: { seen: expect.any(Number) },
      polling: { seen: expect.any(Number) },
    });
    expect(report.hostAgents!.longPoll.seen).toBeGreaterThan(0);
    expect(Object.keys(report.peakRssMiB)).toEqual(expect.arrayContaining(['ingest', 'projector', 'relay', 'api']));
    expect(report.machine.loadavg).toHaveLength(3);

    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    expect(json.label).toBe('smoke');
    const md = readFileSync(files.md, 'utf8');
    for (const row of [
      '1. Ingest',
      'bare kafkajs producer',
      'CPU seconds per 1,000 events',
      '2. Event store append',
      'one transaction per batch',
      'Emmett',
      '3. Decision latency',
      '4. Projection rebuild',
      '5. GET /v1/hosts/{id}/placements',
      'GET /v1/guests?status=blocked',
      '6. Peak RSS',
      '7. Host agents',
      'load average',
    ]) {
      expect(md).toContain(row);
    }
  }, 600_000);
});
