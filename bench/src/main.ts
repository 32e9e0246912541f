// `npm run bench`: generates a fleet, measures each point beside its baseline in the same run,
// and writes bench/results/<label>.json and .md. See README "Benchmarks".
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FleetEvent } from '@fleetcompat/contract';
import { fleetIds, generateFleet } from '@fleetcompat/sample-fleet';
import { AppendRun, measureAppend } from './append';
import { BenchOptions, parseOptions } from './options';
import {
  bareConsumer,
  bareProducer,
  createTopics,
  deleteTopics,
  IngestRun,
  measureLatency,
  measurePipeline,
  Pipeline,
  produceEvents,
  startPipeline,
  startTrickle,
  trickleTemplates,
} from './pipeline';
import { measureHostAgents } from './hosts';
import {
  QueriesRun,
  RebuildRun,
  countCommits,
  firstWaveHosts,
  measureQueries,
  measureRebuild,
  startApi,
} from './readside';
import { QueryStat, renderMarkdown, Report } from './report';
import {
  dropAllDatabases,
  dropDatabase,
  log,
  machine,
  peakRssMiB,
  ROOT,
  stat,
  stopAllApps,
  uniqueName,
} from './support';

/**
 * The bare producer's batch size: RELAY_BATCH_SIZE's default, the relay's batch while it keeps up
 * (with a backlog its batches grow to RELAY_MAX_BATCH_SIZE, 4,000, in requests of at most 900 KB).
 */
const RELAY_BATCH = 500;

function gitCommit(): string {
  if (process.env.BENCH_COMMIT) return process.env.BENCH_COMMIT;
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', 'libs', 'apps'], { cwd: ROOT })
      .toString()
      .trim();
    return dirty ? `${sha}+local-changes` : sha;
  } catch {
    return 'unknown';
  }
}

function ratios(a: number[], b: number[]): number[] {
  return a.map((x, i) => Math.round((x / b[i]) * 100) / 100);
}

export async function runBench(o: BenchOptions): Promise<Report> {
  const started = Date.now();
  const m = machine();
  const report: Report = {
    version: 1,
    label: o.label,
    startedAt: new Date(started).toISOString(),
    finishedAt: '',
    durationSec: 0,
    commit: gitCommit(),
    machine: { ...m, loadavgEnd: [] },
    options: {
      fleet: o.fleet,
      runs: o.runs,
      latencyHosts: o.latencyHosts,
      guestsPerLatencyHost: o.guestsPerLatencyHost,
      latencySamples: o.latencySamples,
      trickle: o.trickle,
      appendEvents: o.appendEvents,
      appendBatch: o.appendBatch,
      queryDuration: o.queryDuration,
      queryConnections: o.queryConnections,
      projectorShards: o.projectorShards,
    },
    peakRssMiB: {},
    notes: [],
  };
  const rss: Record<string, number[]> = {};
  const addRss = (name: string, v: number | null) => v !== null && (rss[name] ??= []).push(v);
  log(
    `fleet ${JSON.stringify(o.fleet)}, ${o.runs} runs, ${o.projectorShards} projector shard(s), load ${m.loadavg.join(' ')}`,
  );

  const wants = (s: string) => o.only.includes(s as never);
  const needPipeline = wants('ingest') || wants('latency') || wants('rebuild') || wants('queries') || wants('hosts');
  const prefix = `${uniqueName('bench')}.`;
  let pipeline: Pipeline | undefined;
  try {
    if (needPipeline) {
      await createTopics(prefix);
      const t = Date.now();
      const total = await produceEvents(prefix, generateFleet(o.fleet));
      log(`produced ${total} events in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      const templates = trickleTemplates(generateFleet(o.fleet));
      const runs: IngestRun[] = [];
      const bare: number[] = [];
      const bareProducerRates: number[] = [];
      const pipelineRuns = wants('ingest') ? o.runs : 1;
      // Every baseline runs alone: the previous pipeline's processes have exited first (stop waits for their exit).
      for (let r = 0; r < pipelineRuns; r++) {
        const b = await bareConsumer(prefix, total);
        bare.push(b.eventsPerSec);
        log(`run ${r + 1}: bare consumer ${b.eventsPerSec} events/s`);
        pipeline = await startPipeline(prefix, undefined, o.projectorShards);
        const run = await measurePipeline(pipeline, total);
        runs.push(run);
        log(
          `run ${r + 1}: pipeline ${run.eventsPerSec} events/s, ${run.decisions} decisions, stages ${JSON.stringify(run.seconds)}, CPU ms per 1,000 events ${JSON.stringify(run.cpuPer1000)}`,
        );
        if (r < pipelineRuns - 1) {
          await stopPipeline(pipeline, addRss, false);
          const bp = await bareProducer(prefix, pipeline.dbUrl, RELAY_BATCH);
          bareProducerRates.push(bp.messagesPerSec);
          log(`run ${r + 1}: bare producer ${bp.messagesPerSec} messages/s (${bp.messages} decisions)`);
          await dropDatabase(pipeline.dbUrl);
          pipeline = undefined;
        }
      }
      let stored = total;
      if (wants('latency')) {
        log(
          `latency: ${o.latencySamples} samples over ${o.latencyHosts} hosts of ${o.guestsPerLatencyHost} guests, trickle ${o.trickle} events/s`,
        );
        report.latency = await measureLatency(
          pipeline!,
          prefix,
          stored,
          o.latencyHosts,
          o.guestsPerLatencyHost,
          o.latencySamples,
          { templates, perSecond: o.trickle },
        );
        stored += 0; // the latency fleet stays in the store (the read side then holds it too)
        log(`latency: ${JSON.stringify(report.latency.ms)}`);
      }
      const dbUrl = pipeline!.dbUrl;
      const pipelineEnv = pipeline!.env;
      await stopPipeline(pipeline!, addRss, false);
      pipeline = undefined;
      if (wants('ingest')) {
        const bp = await bareProducer(prefix, dbUrl, RELAY_BATCH);
        bareProducerRates.push(bp.messagesPerSec);
        log(`run ${pipelineRuns}: bare producer ${bp.messagesPerSec} messages/s (${bp.messages} decisions)`);
        const rates = runs.map((r) => r.eventsPerSec);
        const decisionsPerSec = runs.map((r) => Math.round(r.decisions / Math.max(0.001, r.seconds.published)));
        const cpuRoles = [...new Set(runs.flatMap((r) => Object.keys(r.cpuPer1000)))];
        report.ingest = {
          events: total,
          decisions: runs[runs.length - 1].decisions,
          pipelineEventsPerSec: stat(rates),
          bareConsumerEventsPerSec: stat(bare),
          ratio: stat(ratios(rates, bare)),
          stageSeconds: {
            stored: stat(runs.map((r) => r.seconds.stored)),
            projected: stat(runs.map((r) => r.seconds.projected)),
            published: stat(runs.map((r) => r.seconds.published)),
          },
          relay: {
            batch: RELAY_BATCH,
            bareProducerMessagesPerSec: stat(bareProducerRates),
            pipelineDecisionsPerSec: stat(decisionsPerSec),
            lagAfterProjectorSec: stat(
              runs.map((r) => Math.round((r.seconds.published - r.seconds.projected) * 100) / 100),
            ),
          },
          cpuPer1000: Object.fromEntries(cpuRoles.map((k) => [k, stat(runs.map((r) => r.cpuPer1000[k] ?? NaN))])),
        };
      }

      if (wants('rebuild')) {
        const rebuilds: RebuildRun[] = [];
        for (let r = 0; r < o.runs; r++) {
          rebuilds.push(await measureRebuild(dbUrl));
          log(`rebuild ${r + 1}: ${JSON.stringify(rebuilds[r])}`);
        }
        const rates = rebuilds.map((r) => r.eventsPerSec);
        const reads = rebuilds.map((r) => r.readEventsPerSec);
        report.rebuild = {
          events: rebuilds[0].events,
          eventsPerSec: stat(rates),
          readEventsPerSec: stat(reads),
          ratioToRead: stat(ratios(rates, reads)),
        };
      }
      if (wants('queries')) {
        // The projector (with the ingest and the relay) runs during the point, and a trickle of
        // events makes it commit batches: each commit drops the API's cached answers.
        const api = await startApi(dbUrl);
        const live = await startPipeline(prefix, pipelineEnv, o.projectorShards);
        const commits = await countCommits(dbUrl);
        const trickle = await startTrickle(prefix, templates, o.trickle);
        try {
          const ids = fleetIds(o.fleet);
          const hostIds = Array.from({ length: o.fleet.hosts }, (_, h) => ids.host(h));
          const waveHostIds = await firstWaveHosts(dbUrl);
          const qruns: QueriesRun[] = [];
          const commitRates: number[] = [];
          for (let r = 0; r < o.runs; r++) {
            const c0 = commits.count();
            const t0 = performance.now();
            qruns.push(
              await measureQueries(
                api,
                hostIds,
                waveHostIds.length ? waveHostIds : hostIds,
                o.queryDuration,
                o.queryConnections,
              ),
            );
            commitRates.push(Math.round(((commits.count() - c0) / ((performance.now() - t0) / 1000)) * 10) / 10);
            log(`queries ${r + 1}: ${JSON.stringify(qruns[r])}, projector commits ${commitRates[r]}/s`);
          }
          const q = (k: keyof QueriesRun): QueryStat => ({
            reqPerSec: stat(qruns.map((r) => r[k].reqPerSec)),
            p50: stat(qruns.map((r) => r[k].p50)),
            p99: stat(qruns.map((r) => r[k].p99)),
            errors: qruns.reduce((a, r) => a + r[k].errors, 0),
            non2xx: qruns.reduce((a, r) => a + r[k].non2xx, 0),
            ...(qruns.some((r) => r[k].cacheHitPct !== undefined)
              ? { cacheHitPct: stat(qruns.map((r) => r[k].cacheHitPct ?? NaN)) }
              : {}),
            ...(qruns.some((r) => r[k].keptPct !== undefined)
              ? { keptPct: stat(qruns.map((r) => r[k].keptPct ?? NaN)) }
              : {}),
          });
          report.queries = {
            seconds: o.queryDuration,
            connections: o.queryConnections,
            waveHosts: waveHostIds.length,
            placements: q('placements'),
            wave: q('wave'),
            blocked: q('blocked'),
            bare: q('bare'),
            trickle: o.trickle,
            projectorCommitsPerSec: stat(commitRates),
          };
          addRss('api', api.peakRssMiB());
        } finally {
          await trickle.stop();
          await commits.stop();
          await Promise.all(live.apps.map((a) => a.stop()));
          await live.db.end().catch(() => undefined);
          await api.stop();
        }
      }
      if (wants('hosts')) {
        const ids = fleetIds(o.fleet);
        const hostIds = Array.from({ length: o.fleet.hosts }, (_, h) => ids.host(h));
        const { result, apiPeakRssMiB } = await measureHostAgents(dbUrl, {
          agents: o.hostAgents,
          hostIds,
          idleSeconds: o.hostIdleSeconds,
          waitSeconds: o.hostWaitSeconds,
          pollSeconds: o.hostPollSeconds,
        });
        report.hostAgents = result;
        addRss('api (host agents)', apiPeakRssMiB);
        log(`host agents: ${JSON.stringify(result)}`);
      }
      await dropDatabase(dbUrl);
    }

    if (wants('append')) {
      const events: FleetEvent[] = [];
      for (const e of generateFleet({
        ...o.fleet,
        guests: Math.max(o.fleet.guests, o.appendEvents),
        prefix: 'append',
      })) {
        events.push(e);
        if (events.length >= o.appendEvents) break;
      }
      const runs: AppendRun[] = [];
      for (let r = 0; r < o.runs; r++) {
        runs.push(await measureAppend(events, o.appendBatch));
        log(`append ${r + 1}: ${JSON.stringify(runs[r])}`);
      }
      const pick = (k: keyof AppendRun) => runs.map((r) => r[k]);
      report.append = {
        events: events.length,
        batch: o.appendBatch,
        fleetcompat: stat(pick('fleetcompat')),
        copy: stat(pick('copy')),
        emmett: stat(pick('emmett')),
        ratioToCopy: stat(ratios(pick('fleetcompat'), pick('copy'))),
        ratioToEmmett: stat(ratios(pick('fleetcompat'), pick('emmett'))),
        oneStream: {
          fleetcompat: stat(pick('fleetcompatOneStream')),
          emmett: stat(pick('emmettOneStream')),
          ratioToEmmett: stat(ratios(pick('fleetcompatOneStream'), pick('emmettOneStream'))),
        },
      };
      if (report.ingest)
        report.ingest.ratioToCopy = stat([
          Math.round((report.ingest.pipelineEventsPerSec.median / report.append.copy.median) * 1000) / 1000,
        ]);
    }
  } finally {
    if (pipeline) await stopPipeline(pipeline, addRss, false).catch(() => undefined);
    await stopAllApps();
    await dropAllDatabases();
    if (needPipeline) await deleteTopics(prefix);
  }
  addRss('bench harness', peakRssMiB(process.pid));
  for (const [k, v] of Object.entries(rss)) report.peakRssMiB[k] = stat(v);
  report.finishedAt = new Date().toISOString();
  report.durationSec = Math.round((Date.now() - started) / 1000);
  report.machine.loadavgEnd = machine().loadavg;
  return report;
}

async function stopPipeline(
  p: Pipeline,
  addRss: (name: string, v: number | null) => void,
  drop: boolean,
): Promise<void> {
  for (const a of p.apps) addRss(a.name, a.peakRssMiB());
  await Promise.all(p.apps.map((a) => a.stop()));
  await p.db.end().catch(() => undefined);
  if (drop) await dropDatabase(p.dbUrl);
}

export function writeReport(report: Report, o: BenchOptions): { json: string; md: string } {
  if (o.before) {
    const file = path.resolve(o.before);
    const before = JSON.parse(readFileSync(file, 'utf8')) as Report;
    delete before.before;
    report.before = { label: before.label, file: path.relative(ROOT, file), report: before };
  }
  mkdirSync(o.outDir, { recursive: true });
  const json = path.join(o.outDir, `${o.label}.json`);
  const md = path.join(o.outDir, `${o.label}.md`);
  writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(md, renderMarkdown(report));
  return { json, md };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2), process.env, ROOT);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    log('interrupted: stopping the apps and dropping the databases (again to quit at once)');
    void stopAllApps()
      .then(dropAllDatabases)
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const report = await runBench(o);
  const files = writeReport(report, o);
  process.stdout.write(readFileSync(files.md, 'utf8'));
  log(`report: ${path.relative(process.cwd(), files.json)} and ${path.relative(process.cwd(), files.md)}`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exit(1);
    },
  );
}
