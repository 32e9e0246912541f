import type { HostAgentsResult } from './hosts';
import type { BenchOptions } from './options';
import type { LatencyResult } from './pipeline';
import type { machine, Stat } from './support';

/** What a bench run measured: written as JSON and rendered as markdown (renderMarkdown). */
export interface Report {
  version: 1;
  label: string;
  startedAt: string;
  finishedAt: string;
  durationSec: number;
  commit: string;
  machine: ReturnType<typeof machine> & { loadavgEnd: number[] };
  options: {
    fleet: BenchOptions['fleet'];
    runs: number;
    latencyHosts: number;
    guestsPerLatencyHost: number;
    latencySamples?: number;
    trickle?: number;
    appendEvents: number;
    appendBatch: number;
    queryDuration: number;
    queryConnections: number;
    /** Projector processes, one per shard (absent: 1). */
    projectorShards?: number;
  };
  ingest?: {
    events: number;
    decisions: number;
    pipelineEventsPerSec: Stat;
    bareConsumerEventsPerSec: Stat;
    ratio: Stat;
    stageSeconds: { stored: Stat; projected: Stat; published: Stat };
    /** bare `COPY` of the same events (point 2's baseline) when the append point ran too: the issue's ratio */
    ratioToCopy?: Stat;
    /** the relay's baseline: a bare kafkajs producer (same producer settings, acks and batch size) sending the same decisions */
    relay?: {
      batch: number;
      bareProducerMessagesPerSec: Stat;
      pipelineDecisionsPerSec: Stat;
      lagAfterProjectorSec: Stat;
    };
    /** CPU milliseconds per 1,000 events of each process over the run (median over runs) */
    cpuPer1000?: Record<string, Stat>;
  };
  append?: {
    events: number;
    batch: number;
    fleetcompat: Stat;
    copy: Stat;
    emmett: Stat;
    ratioToCopy: Stat;
    ratioToEmmett: Stat;
    oneStream: { fleetcompat: Stat; emmett: Stat; ratioToEmmett: Stat };
  };
  latency?: LatencyResult;
  rebuild?: { events: number; eventsPerSec: Stat; readEventsPerSec: Stat; ratioToRead: Stat };
  queries?: {
    seconds: number;
    connections: number;
    waveHosts?: number;
    placements: QueryStat;
    wave?: QueryStat;
    blocked: QueryStat;
    bare: QueryStat;
    trickle?: number;
    projectorCommitsPerSec?: Stat;
  };
  hostAgents?: HostAgentsResult;
  peakRssMiB: Record<string, Stat>;
  before?: { label: string; file: string; report: Report };
  notes: string[];
}

export type QueryStat = {
  reqPerSec: Stat;
  p50: Stat;
  p99: Stat;
  errors: number;
  non2xx: number;
  cacheHitPct?: Stat;
  keptPct?: Stat;
};

const n = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x)
    ? '–'
    : x >= 100
      ? Math.round(x).toLocaleString('en-US')
      : String(Math.round(x * 100) / 100);
const s = (st: Stat | undefined, unit = '') => (st ? `${n(st.median)}${unit} (±${n(st.spreadPct / 2)}%)` : '–');
const med = (st: Stat | undefined, unit = '') => (st ? `${n(st.median)}${unit}` : '–');

/** The report as a markdown table: each point beside its baseline, medians with the spread over the runs. */
export function renderMarkdown(r: Report): string {
  const b = r.before?.report;
  const f = r.options.fleet;
  const rows: string[][] = [];
  const row = (point: string, value: string, baseline: string, ratio: string, target: string, before?: string) =>
    rows.push([point, value, baseline, ratio, target, ...(b ? [before ?? '–'] : [])]);
  if (r.ingest) {
    row(
      '1. Ingest, input topics → decisions on the placement topic (events/s)',
      s(r.ingest.pipelineEventsPerSec),
      `bare kafkajs consumer ${s(r.ingest.bareConsumerEventsPerSec)}` +
        (r.append ? `; bare COPY (point 2) ${med(r.append.copy)}` : ''),
      `${med(r.ingest.ratio)} of the consumer` + (r.ingest.ratioToCopy ? `; ${med(r.ingest.ratioToCopy)} of COPY` : ''),
      '≥ 0.35 of COPY',
      b?.ingest && `${med(b.ingest.pipelineEventsPerSec)} (ratio ${med(b.ingest.ratio)})`,
    );
    const rl = r.ingest.relay;
    if (rl) {
      row(
        `   … the relay: decisions published (decisions/s of the run; s after the projector's last batch)`,
        `${s(rl.pipelineDecisionsPerSec)}; ends ${med(rl.lagAfterProjectorSec, ' s')} after the projector`,
        `bare kafkajs producer, same messages, idempotent, acks -1, batches of ${rl.batch}: ${s(rl.bareProducerMessagesPerSec)}`,
        n(rl.pipelineDecisionsPerSec.median / rl.bareProducerMessagesPerSec.median),
        'ends ≤ 2 s after the projector',
        b?.ingest?.relay &&
          `${med(b.ingest.relay.pipelineDecisionsPerSec)}; ${med(b.ingest.relay.lagAfterProjectorSec, ' s')}`,
      );
    }
  }
  if (r.append) {
    // The headline is like for like: one transaction per batch on every side.
    row(
      `2. Event store append, fleet batches of ${r.append.batch}, one transaction per batch (events/s)`,
      s(r.append.fleetcompat),
      `COPY of the same rows, one per batch ${s(r.append.copy)}`,
      med(r.append.ratioToCopy),
      '≥ 0.6 of COPY',
      b?.append && `${med(b.append.fleetcompat)} (÷COPY ${med(b.append.ratioToCopy)})`,
    );
    row(
      `   … beside Emmett, one transaction per batch (appendToStream(stream, ${r.append.batch} events))`,
      s(r.append.fleetcompat),
      `Emmett ${s(r.append.oneStream.emmett)}`,
      n(r.append.fleetcompat.median / r.append.oneStream.emmett.median),
      '–',
      b?.append && n(b.append.fleetcompat.median / b.append.oneStream.emmett.median),
    );
    row(
      `   … fleetcompat append(stream, ${r.append.batch} events) beside the same Emmett call`,
      s(r.append.oneStream.fleetcompat),
      `Emmett ${s(r.append.oneStream.emmett)}`,
      med(r.append.oneStream.ratioToEmmett),
      '–',
      b?.append && med(b.append.oneStream.ratioToEmmett),
    );
    row(
      '   … beside Emmett one call per stream (a fleet batch as Emmett must append it: one appendToStream, one transaction, per stream)',
      s(r.append.fleetcompat),
      `Emmett ${s(r.append.emmett)}`,
      med(r.append.ratioToEmmett),
      '–',
      b?.append && med(b.append.ratioToEmmett),
    );
  }
  if (r.latency) {
    const l = r.latency.ms;
    const count = r.latency.count ?? r.latency.samples.length;
    const tr = r.latency.trickle ? `, ${n(r.latency.trickle.perSecond)} other events/s meanwhile` : '';
    row(
      `3. Decision latency, upgrade planned or cancelled → last of ${r.latency.guestsPerHost} decisions on the topic (${n(count)} samples over ${r.latency.hosts} hosts${tr})`,
      `p50 ${n(l.p50)} ms, p95 ${n(l.p95)} ms, p99 ${n(l.p99)} ms, max ${n(l.max)} ms`,
      '–',
      '–',
      'p99 < 50 ms',
      b?.latency &&
        `p50 ${n(b.latency.ms.p50)} ms, p99 ${n(b.latency.ms.p99)} ms, max ${n(b.latency.ms.max)} ms (${n(b.latency.count ?? b.latency.samples.length)} samples)`,
    );
    const st = r.latency.stages;
    if (st) {
      const f = (x: { p50: number; p95: number; p99: number; max: number }) =>
        `p50 ${x.p50}, p95 ${x.p95}, p99 ${x.p99}, max ${x.max} ms`;
      row(
        "   … where it went: stored (send → the event's recordedAt) / projected (→ the projector's commit notification naming the host) / relayed (→ the relay's send of the last decision) / delivered (→ read by the harness)",
        `${f(st.stored)} / ${f(st.projected)} / ${f(st.relayed)} / ${f(st.delivered)}`,
        '–',
        '–',
        '–',
        b?.latency?.stages &&
          `p99 ${b.latency.stages.stored.p99} / ${b.latency.stages.projected.p99} / ${b.latency.stages.relayed.p99} / ${b.latency.stages.delivered.p99} ms`,
      );
    }
  }
  if (r.rebuild) {
    row(
      `4. Projection rebuild, ${n(r.rebuild.events)} events (events/s)`,
      s(r.rebuild.eventsPerSec),
      `read the store only ${s(r.rebuild.readEventsPerSec)}`,
      med(r.rebuild.ratioToRead),
      '≥ 0.5 of the read',
      b?.rebuild && `${med(b.rebuild.eventsPerSec)} (÷read ${med(b.rebuild.ratioToRead)})`,
    );
  }
  if (r.queries) {
    const q = r.queries;
    const fmt = (x: Report['queries'] extends infer Q ? (Q extends { placements: infer P } ? P : never) : never) =>
      `${s(x.reqPerSec, ' req/s')}, p50 ${med(x.p50, ' ms')}, p99 ${med(x.p99, ' ms')}` +
      (x.cacheHitPct ? `, ${med(x.cacheHitPct, '%')} from the cache` : '') +
      (x.keptPct ? ` (of the rest, ${med(x.keptPct, '%')} kept in Postgres, the others built)` : '') +
      // every run: the first one reads answers nothing has kept yet, the later ones often revisit them
      (x.reqPerSec.runs.length > 1 ? `; runs ${x.reqPerSec.runs.map((v) => n(v)).join(', ')} req/s` : '');
    const bare = `bare node:http ${fmt(q.bare)}`;
    const live = q.projectorCommitsPerSec
      ? ` (projector committing ${med(q.projectorCommitsPerSec)} batches/s, ${n(q.trickle)} events/s: each commit drops the cached answers)`
      : ' (no projector running)';
    row(
      `5. GET /v1/hosts/{id}/placements under load${live}`,
      fmt(q.placements),
      bare,
      `${n(q.placements.reqPerSec.median / q.bare.reqPerSec.median)} (req/s)`,
      'p99 < 5 ms, ≥ 0.3',
      b?.queries && fmt(b.queries.placements),
    );
    if (q.wave)
      row(
        `   … the ${q.waveHosts} hosts of one upgrade wave polling (answers kept between projector batches)`,
        fmt(q.wave),
        bare,
        `${n(q.wave.reqPerSec.median / q.bare.reqPerSec.median)} (req/s)`,
        'p99 < 5 ms',
        b?.queries?.wave && fmt(b.queries.wave),
      );
    row(
      '   GET /v1/guests?status=blocked under load',
      fmt(q.blocked),
      bare,
      `${n(q.blocked.reqPerSec.median / q.bare.reqPerSec.median)} (req/s)`,
      '–',
      b?.queries && fmt(b.queries.blocked),
    );
  }
  const rss = Object.entries(r.peakRssMiB)
    .map(([k, v]) => `${k} ${n(v.median)} MiB`)
    .join(', ');
  row(
    '6. Peak RSS (VmHWM), median over runs',
    rss || '–',
    '–',
    '–',
    '–',
    b &&
      Object.entries(b.peakRssMiB)
        .map(([k, v]) => `${k} ${n(v.median)}`)
        .join(', '),
  );
  if (r.hostAgents) {
    const h = r.hostAgents;
    const mode = (m: typeof h.longPoll) =>
      `p50 ${n(m.seenMs.p50)} ms, p99 ${n(m.seenMs.p99)} ms (${n(m.seen)} seen of ${n(m.waveDecisions)} decisions); API CPU per idle agent ${n(m.apiCpuPerIdleAgentUsPerSec)} µs/s (API ${n(m.apiCpuMsPerSec)} ms/s, db ${n(m.dbCpuMsPerSec)} ms/s, ${n(m.requestsPerSec)} req/s)`;
    row(
      `7. Host agents: ${n(h.agents)} long-polling one API (wait ${h.waitSeconds} s) while a wave of ${h.waveHosts} hosts is decided: projector commit → agent has it; API CPU per idle agent`,
      mode(h.longPoll),
      `the same agents polling every ${h.pollSeconds} s with If-None-Match: ${mode(h.polling)}; no agents: API ${n(h.apiIdleCpuMsPerSec)} ms/s`,
      `CPU/agent ${n(h.ratios.apiCpuPerIdleAgent)}, p50 ${n(h.ratios.seenP50)}, p99 ${n(h.ratios.seenP99)}`,
      '–',
      b?.hostAgents && mode(b.hostAgents.longPoll),
    );
  }

  const head = [
    'point',
    'fleetcompat: median (± half the spread)',
    'baseline, same run',
    'ratio',
    'target',
    ...(b ? [`before (${r.before!.label})`] : []),
  ];
  const table = [head, head.map(() => '---'), ...rows].map((cols) => `| ${cols.join(' | ')} |`).join('\n');
  const lines = [
    `# Benchmark ${r.label}`,
    '',
    `Fleet: ${n(f.hosts)} hosts, ${n(f.guests)} guests, ${n(f.kernels)} kernel builds, ${f.waves} upgrade waves` +
      (r.ingest ? ` (${n(r.ingest.events)} events, ${n(r.ingest.decisions)} decisions)` : '') +
      `. ${r.options.runs} runs per point${(r.options.projectorShards ?? 1) > 1 ? `, ${r.options.projectorShards} projector shards (one process each)` : ''}. Commit ${r.commit}; ${r.startedAt} → ${r.finishedAt} (${Math.round(r.durationSec / 60)} min).`,
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGiB} GiB, Node ${r.machine.node}; load average (1, 5, 15 min) ${r.machine.loadavg.join(' / ')} at the start, ${r.machine.loadavgEnd.join(' / ')} at the end (other test suites share the machine).`,
    '',
    table,
    '',
  ];
  if (r.ingest) {
    const st = r.ingest.stageSeconds;
    lines.push(
      `Ingest stages (seconds after the first event was stored, medians): all stored ${n(st.stored.median)}, all projected ${n(st.projected.median)}, all decisions published ${n(st.published.median)}.`,
      '',
    );
    const cpu = r.ingest.cpuPer1000;
    if (cpu && Object.keys(cpu).length) {
      const total = Object.values(cpu).reduce((a, v) => a + (Number.isFinite(v.median) ? v.median : 0), 0);
      lines.push(
        `CPU seconds per 1,000 events of the ingest point, each process from the pipeline's start to the last decision published (medians; postgres: the backends of the pipeline's database): ` +
          Object.entries(cpu)
            .map(([k, v]) => `${k} ${(v.median / 1000).toFixed(3)}`)
            .join(', ') +
          `; in all ${(total / 1000).toFixed(3)} (${n((total * r.ingest.events) / 1e6)} CPU s for the ${n(r.ingest.events)} events, on ${r.machine.cpus} cores).`,
        '',
      );
    }
  }
  if (r.hostAgents) {
    const h = r.hostAgents;
    lines.push(
      `Host agents (one run): ${n(h.agents)} simulated agents in the harness on ${n(h.hosts)} hosts (host tokens), one API process and the projector on the fleet's database; idle windows of ${h.idleSeconds} s. ` +
        `"Commit" is when the harness's own LISTEN got the projector's notification of the batch holding the decision (its transaction id seen committed); "seen" is when an agent had the answer with it. ` +
        `CPU per idle agent is (the API's CPU with the agents idle − without agents) ÷ agents; the db column is the Postgres backends of the database.`,
      '',
    );
  }
  if (r.notes.length) lines.push(...r.notes.map((x) => `- ${x}`), '');
  return lines.join('\n');
}
