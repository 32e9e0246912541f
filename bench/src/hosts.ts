// Host agents on the read side: N simulated agents long-polling one API process
// (GET /v1/hosts/{id}/placements?wait= with If-None-Match) while a wave of decisions is made,
// beside the same agents polling every few seconds (with If-None-Match: 304s) in the same run.
// Measured: from the projector's commit to an agent having the decision (p50/p99), and the
// API's CPU (and its Postgres backends') per idle agent.
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { envelope } from '@fleetcompat/sample-fleet';
import { API_TOKEN, startApi } from './readside';
import { App, log, percentile, pgClient, sleep, startApp } from './support';

export interface HostAgentsOptions {
  readonly agents: number;
  /** Hosts the agents are spread over (agents cycle over them when there are fewer hosts). */
  readonly hostIds: readonly string[];
  /** Seconds of each idle CPU window. */
  readonly idleSeconds: number;
  /** The long-poll's wait (s). */
  readonly waitSeconds: number;
  /** The baseline's polling interval (s). */
  readonly pollSeconds: number;
}

export interface ModeResult {
  /** API process CPU while the agents idle (nothing changes), ms of CPU per second. */
  apiCpuMsPerSec: number;
  /** Same for the Postgres backends of the benchmark's database. */
  dbCpuMsPerSec: number;
  /** (API CPU with the agents − API CPU without) / agents, µs of CPU per second per agent. */
  apiCpuPerIdleAgentUsPerSec: number;
  dbCpuPerIdleAgentUsPerSec: number;
  /** Requests the agents made per second while idle. */
  requestsPerSec: number;
  /** Commit of the projector's batch → the agent has the decision, ms. */
  seenMs: { p50: number; p99: number; max: number; samples: number };
  /** Decisions of the wave (committed), and how many (agent, decision) pairs were seen. */
  waveDecisions: number;
  seen: number;
}

export interface HostAgentsResult {
  agents: number;
  hosts: number;
  waveHosts: number;
  waitSeconds: number;
  pollSeconds: number;
  idleSeconds: number;
  /** The API process with no agent at all, ms of CPU per second. */
  apiIdleCpuMsPerSec: number;
  dbIdleCpuMsPerSec: number;
  longPoll: ModeResult;
  polling: ModeResult;
  /** long-poll ÷ polling */
  ratios: { apiCpuPerIdleAgent: number; seenP50: number; seenP99: number };
}

const CLK_TCK = 100;

/** User + system CPU of a process so far, ms (0 once it is gone). */
function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** CPU of the API process and of the database's backends (except the harness's own connection) over `seconds`. */
async function cpuOver(api: App, db: Client, seconds: number): Promise<{ api: number; db: number }> {
  const backends = async () =>
    (
      await db.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
    ).rows.map((r: { pid: number }) => r.pid);
  const pids0 = await backends();
  const api0 = cpuMs(api.child.pid!);
  const db0 = new Map(pids0.map((p) => [p, cpuMs(p)]));
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const api1 = cpuMs(api.child.pid!);
  let dbMs = 0;
  for (const p of await backends()) dbMs += cpuMs(p) - (db0.get(p) ?? 0); // a backend born meanwhile counts whole (one that ended meanwhile is missed)
  return { api: Math.round(((api1 - api0) / elapsed) * 10) / 10, db: Math.round((dbMs / elapsed) * 10) / 10 };
}

/** A simulated agent: keeps the tag and the decision ids of its host's last answer; reports decisions it sees for the first time. */
class SimAgent {
  etag: string | null = null;
  decisions = new Map<string, string>();
  waiting = false;
  requests = 0;
  errors = 0;
  private stopped = false;
  private controller?: AbortController;

  constructor(
    readonly hostId: string,
    private readonly url: string,
    private readonly token: string,
    private readonly onSeen: (agent: SimAgent, decisionId: string, version: string, at: number) => void,
  ) {}

  /** Long-poll: ask, merge, ask again with the tag. */
  async longPoll(wait: number): Promise<void> {
    while (!this.stopped) await this.ask(this.etag ? wait : 0);
  }

  /** Plain polling every `interval` s (with If-None-Match: a 304 when nothing changed), starting at a random offset. */
  async poll(interval: number): Promise<void> {
    await sleep(Math.random() * interval * 1000);
    while (!this.stopped) {
      const t = performance.now();
      await this.ask(0);
      await sleep(Math.max(0, interval * 1000 - (performance.now() - t)));
    }
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  private async ask(wait: number): Promise<void> {
    this.controller = new AbortController();
    this.requests++;
    this.waiting = wait > 0;
    try {
      const res = await fetch(`${this.url}/v1/hosts/${this.hostId}/placements${wait ? `?wait=${wait}` : ''}`, {
        headers: { authorization: `Bearer ${this.token}`, ...(this.etag ? { 'if-none-match': this.etag } : {}) },
        signal: this.controller.signal,
      });
      this.waiting = false;
      const at = Date.now();
      if (res.status === 304) return void (await res.arrayBuffer());
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as {
        placements: { guestId: string; decision: { decisionId: string; hypervisorVersion: string } | null }[];
      };
      this.etag = res.headers.get('etag');
      for (const p of body.placements) {
        if (!p.decision || this.decisions.get(p.guestId) === p.decision.decisionId) continue;
        this.decisions.set(p.guestId, p.decision.decisionId);
        this.onSeen(this, p.decision.decisionId, p.decision.hypervisorVersion, at);
      }
    } catch {
      this.waiting = false;
      if (this.stopped) return;
      this.errors++;
      await sleep(500);
    }
  }
}

/**
 * The projector's commits as the harness sees them: LISTEN fleetcompat_projection, and on each
 * notification (delivered at a commit) the time it arrived and a snapshot of which transactions
 * had committed. A decision row's xmin is its batch's transaction: its commit time is the
 * arrival of the first notification whose snapshot sees it (an upper bound: a commit is never
 * placed after it happened, so latencies are never understated by more than a query's time).
 */
class CommitClock {
  private readonly snaps: { at: number; xmin: bigint; xmax: bigint; xip: Set<bigint> }[] = [];
  private queue: Promise<void> = Promise.resolve();

  private constructor(private readonly c: Client) {}

  static async start(url: string): Promise<CommitClock> {
    const c = await pgClient(url);
    const clock = new CommitClock(c);
    c.on('notification', () => {
      const at = Date.now();
      clock.queue = clock.queue.then(async () => {
        const { rows } = await c.query<{ s: string }>(`SELECT pg_current_snapshot()::text AS s`);
        const [xmin, xmax, xip] = String(rows[0].s).split(':');
        const low = (v: string) => BigInt(v) & 0xffffffffn;
        clock.snaps.push({ at, xmin: low(xmin), xmax: low(xmax), xip: new Set(xip ? xip.split(',').map(low) : []) });
      });
    });
    await c.query('LISTEN fleetcompat_projection');
    return clock;
  }

  commitTime(xid: bigint): number | undefined {
    return this.snaps.find((s) => xid < s.xmin || (xid < s.xmax && !s.xip.has(xid)))?.at;
  }

  async stop(): Promise<void> {
    await this.queue;
    await this.c.end();
  }
}

async function waveDecisionsCommitted(
  db: Client,
  hostIds: string[],
  version: string,
  timeoutMs: number,
): Promise<{ decisionId: string; hostId: string; xid: bigint }[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const want = Number(
      (
        await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM projection.guests WHERE host_id = ANY($1) AND present`,
          [hostIds],
        )
      ).rows[0].n,
    );
    const { rows } = await db.query<{ decision_id: string; host_id: string; xid: string }>(
      `SELECT decision_id, host_id, xmin::text AS xid FROM projection.decisions WHERE host_id = ANY($1) AND kind = 'decided' AND message->>'hypervisorVersion' = $2`,
      [hostIds, version],
    );
    if (rows.length >= want && want > 0)
      return rows.map((r) => ({ decisionId: r.decision_id, hostId: r.host_id, xid: BigInt(r.xid) }));
    if (Date.now() > until)
      throw new Error(`wave ${version}: ${rows.length} of ${want} decisions after ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function createHostTokens(api: App, hostIds: string[]): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  let next = 0;
  const worker = async () => {
    while (next < hostIds.length) {
      const h = hostIds[next++];
      const res = await fetch(`${api.url}/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
        body: JSON.stringify({ role: `host:${h}`, name: `bench agent ${h}` }),
      });
      if (res.status !== 201) throw new Error(`POST /v1/tokens: ${res.status} ${await res.text()}`);
      tokens.set(h, ((await res.json()) as { token: string }).token);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return tokens;
}

/** Runs one mode: start the agents, let them settle, measure idle CPU, make a wave, time it, stop them. */
async function runMode(
  mode: 'long-poll' | 'polling',
  ctx: {
    api: App;
    db: Client;
    dbUrl: string;
    agentHosts: string[];
    tokens: Map<string, string>;
    waveHosts: string[];
    version: string;
    o: HostAgentsOptions;
    idle: { api: number; db: number };
  },
): Promise<ModeResult> {
  const seen = new Map<string, number[]>(); // decisionId -> times agents saw it
  let collecting: string | null = null;
  const onSeen = (_a: SimAgent, decisionId: string, version: string, at: number) => {
    if (collecting !== null && version === collecting) {
      const list = seen.get(decisionId) ?? [];
      list.push(at);
      seen.set(decisionId, list);
    }
  };
  const agents = ctx.agentHosts.map((h) => new SimAgent(h, ctx.api.url, ctx.tokens.get(h)!, onSeen));
  const loops = agents.map((a) => (mode === 'long-poll' ? a.longPoll(ctx.o.waitSeconds) : a.poll(ctx.o.pollSeconds)));
  try {
    // settle: every agent has its host's answer (and, long-polling, waits)
    const until = Date.now() + 120000;
    while (!agents.every((a) => a.etag !== null && (mode === 'polling' || a.waiting))) {
      if (Date.now() > until)
        throw new Error(
          `${mode}: ${agents.filter((a) => a.etag !== null).length} of ${agents.length} agents have an answer after 120 s`,
        );
      await sleep(200);
    }
    log(`  ${mode}: ${agents.length} agents settled`);
    const requests0 = agents.reduce((n, a) => n + a.requests, 0);
    const t0 = performance.now();
    const cpu = await cpuOver(ctx.api, ctx.db, ctx.o.idleSeconds);
    const requestsPerSec =
      Math.round(((agents.reduce((n, a) => n + a.requests, 0) - requests0) / ((performance.now() - t0) / 1000)) * 10) /
      10;
    log(`  ${mode}: idle API ${cpu.api} ms CPU/s, db ${cpu.db} ms/s, ${requestsPerSec} req/s`);

    const clock = await CommitClock.start(ctx.dbUrl);
    collecting = ctx.version;
    const events = ctx.waveHosts.map((hostId, i) =>
      envelope(
        `bench-host-wave-${ctx.version}-${i}`,
        'HypervisorUpgradePlanned',
        new Date().toISOString(),
        'orchestrator/bench',
        {
          hostId,
          fromVersion: '4.10.4',
          toVersion: ctx.version,
          plannedRebootAt: '2026-12-01T02:00:00Z',
          waveId: `bench-wave-${ctx.version}`,
        },
      ),
    );
    const res = await fetch(`${ctx.api.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify(events),
    });
    if (res.status !== 202) throw new Error(`POST /v1/events: ${res.status} ${await res.text()}`);
    const decisions = await waveDecisionsCommitted(ctx.db, ctx.waveHosts, ctx.version, 300000);
    const agentsPerHost = new Map<string, number>();
    for (const h of ctx.agentHosts) agentsPerHost.set(h, (agentsPerHost.get(h) ?? 0) + 1);
    const want = decisions.reduce((n, d) => n + (agentsPerHost.get(d.hostId) ?? 0), 0);
    const seenUntil = Date.now() + Math.max(60000, ctx.o.pollSeconds * 3000);
    while ([...seen.values()].reduce((n, l) => n + l.length, 0) < want && Date.now() < seenUntil) await sleep(100);
    await clock.stop();
    const samples: number[] = [];
    let unclocked = 0;
    for (const d of decisions) {
      const committed = clock.commitTime(d.xid);
      if (committed === undefined) {
        unclocked++;
        continue;
      }
      for (const at of seen.get(d.decisionId) ?? []) samples.push(Math.max(0, at - committed));
    }
    samples.sort((a, b) => a - b);
    const got = [...seen.values()].reduce((n, l) => n + l.length, 0);
    log(
      `  ${mode}: wave of ${decisions.length} decisions (${ctx.waveHosts.length} hosts), ${got} of ${want} seen${unclocked ? `, ${unclocked} without a commit time` : ''}: p50 ${percentile(samples, 50)} ms, p99 ${percentile(samples, 99)} ms`,
    );
    const perAgent = (x: number, base: number) => Math.round(((x - base) / agents.length) * 1000 * 10) / 10;
    return {
      apiCpuMsPerSec: cpu.api,
      dbCpuMsPerSec: cpu.db,
      apiCpuPerIdleAgentUsPerSec: perAgent(cpu.api, ctx.idle.api),
      dbCpuPerIdleAgentUsPerSec: perAgent(cpu.db, ctx.idle.db),
      requestsPerSec,
      seenMs: {
        p50: percentile(samples, 50),
        p99: percentile(samples, 99),
        max: samples[samples.length - 1] ?? NaN,
        samples: samples.length,
      },
      waveDecisions: decisions.length,
      seen: got,
    };
  } finally {
    for (const a of agents) a.stop();
    await Promise.allSettled(loops);
  }
}

/** The point: projector and API on the bench database, the agents in this process. */
export async function measureHostAgents(
  dbUrl: string,
  o: HostAgentsOptions,
): Promise<{ result: HostAgentsResult; apiPeakRssMiB: number | null }> {
  const projector = await (await startApp('projector', { DATABASE_URL: dbUrl, LOG_LEVEL: 'log' })).ready();
  const api = await startApi(dbUrl);
  const db = await pgClient(dbUrl);
  try {
    const distinct = [...new Set(o.hostIds)].slice(0, o.agents);
    const agentHosts = Array.from({ length: o.agents }, (_, i) => distinct[i % distinct.length]);
    const waveCount = Math.max(1, Math.min(100, Math.ceil(distinct.length / 10)));
    const tokens = await createHostTokens(api, distinct);
    log(
      `host agents: ${o.agents} agents on ${distinct.length} hosts, waves of ${waveCount} hosts, idle windows of ${o.idleSeconds} s`,
    );
    await sleep(2000);
    const idle = await cpuOver(api, db, o.idleSeconds);
    log(`  no agents: API ${idle.api} ms CPU/s, db ${idle.db} ms/s`);
    const base = { api, db, dbUrl, agentHosts, tokens, o, idle };
    const longPoll = await runMode('long-poll', {
      ...base,
      waveHosts: distinct.slice(0, waveCount),
      version: '4.19.1',
    });
    const polling = await runMode('polling', {
      ...base,
      waveHosts: distinct.slice(waveCount, 2 * waveCount).length
        ? distinct.slice(waveCount, 2 * waveCount)
        : distinct.slice(0, waveCount),
      version: '4.19.2',
    });
    const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : NaN);
    return {
      result: {
        agents: o.agents,
        hosts: distinct.length,
        waveHosts: waveCount,
        waitSeconds: o.waitSeconds,
        pollSeconds: o.pollSeconds,
        idleSeconds: o.idleSeconds,
        apiIdleCpuMsPerSec: idle.api,
        dbIdleCpuMsPerSec: idle.db,
        longPoll,
        polling,
        ratios: {
          apiCpuPerIdleAgent: ratio(
            Math.max(0, longPoll.apiCpuPerIdleAgentUsPerSec),
            polling.apiCpuPerIdleAgentUsPerSec,
          ),
          seenP50: ratio(longPoll.seenMs.p50, polling.seenMs.p50),
          seenP99: ratio(longPoll.seenMs.p99, polling.seenMs.p99),
        },
      },
      apiPeakRssMiB: api.peakRssMiB(),
    };
  } finally {
    await db.end().catch(() => undefined);
    await api.stop();
    await projector.stop();
  }
}
