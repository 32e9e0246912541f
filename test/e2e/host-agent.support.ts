// The host agent end to end, in either mode (Kafka partition or HTTP long-poll): the built
// all-in-one (ingest, projector, relay and API in one process) on its own database and topics,
// and the built CLI's `host agent` / `host ready` / `host status` as processes, with a hook
// script that logs every run. Used by host-agent-http.e2e.spec.ts and host-agent-kafka.e2e.spec.ts.
import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Partitioners } from 'kafkajs';
import { FleetEvent, Topics } from '@fleetcompat/contract';
import { envelope, SAMPLE_KERNELS } from '@fleetcompat/sample-fleet';
import { AppProcess, eventually, http, ROOT, startApp, TEST_ADMIN_TOKEN } from '../support/apps';
import { brokers, createTopics, kafkaClient, uniqueName } from '../support/kafka';
import { createTestDatabase, TestDatabase } from '../support/postgres';

export type Mode = 'http' | 'kafka';

export const CLI = path.join(ROOT, 'dist/apps/cli/src/main.js');
const { linux61: NEW, linux415: OLD, linux49: NOPVH } = SAMPLE_KERNELS;
export const TARGET = '4.17.3';

/** One run of the hook, as the hook script logged it. */
export interface HookRun {
  guestId: string;
  sequence: number;
  type: string;
  decisionId: string;
  /** Which agent process ran it (its start number). */
  agent: number;
}

/** The hook: logs guest, sequence, type and decision of every successful run (after an optional random sleep); fails for guests with a fail-<guest> file. */
const HOOK = `#!/bin/sh
input=$(cat)
case "$input" in
  *'"guestId":"'"$FLEETCOMPAT_GUEST_ID"'"'*) ;;
  *) echo "stdin does not carry the guest" >&2; exit 9 ;;
esac
echo "$FLEETCOMPAT_GUEST_ID $FLEETCOMPAT_SEQUENCE" >> "$HOOK_DIR/hook-start.log"
if [ -n "$HOOK_SLEEP_MS" ]; then
  n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
  sleep "0.$(printf %03d $((n % HOOK_SLEEP_MS)))"
fi
if [ -e "$HOOK_DIR/fail-$FLEETCOMPAT_GUEST_ID" ]; then echo "told to fail" >&2; exit 1; fi
echo "$FLEETCOMPAT_GUEST_ID $FLEETCOMPAT_SEQUENCE $FLEETCOMPAT_MESSAGE_TYPE \${FLEETCOMPAT_DECISION_ID:--} $AGENT_RUN" >> "$HOOK_DIR/hook.log"
`;

export class AgentProcess {
  readonly output: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    const keep = (b: Buffer) => {
      this.output.push(b.toString('utf8'));
      if (this.output.length > 3000) this.output.splice(0, 1500);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve((this.exitInfo = { code, signal }))),
    );
  }

  get exit() {
    return this.exitInfo;
  }

  log(): string {
    return this.output.join('');
  }

  lines(): any[] {
    return this.log()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  }

  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exitInfo) this.child.kill(signal);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 60000);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }
}

export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60000,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

/** The all-in-one, the tokens, the hook folder, and helpers to send events and run the CLI. */
export class HostFleet {
  readonly prefix = `${uniqueName('e2e-host')}.`;
  readonly groupId = uniqueName('e2e-host-ingest');
  readonly dir = mkdtempSync(path.join(tmpdir(), 'fc-host-e2e-'));
  readonly hookDir = path.join(this.dir, 'hook');
  readonly stateDir = path.join(this.dir, 'state');
  readonly tokens: Record<'h1' | 'h2', string> = { h1: '', h2: '' };
  db!: TestDatabase;
  app?: AppProcess;
  agent?: AgentProcess;
  agentRuns = 0;
  private t = 0;

  constructor(readonly mode: Mode) {}

  /** Times in order, one second apart (facts are decided by occurredAt). */
  at(): string {
    return new Date(Date.parse('2026-11-22T00:00:00Z') + ++this.t * 1000).toISOString();
  }

  async start(): Promise<void> {
    mkdirSync(this.hookDir, { recursive: true });
    writeFileSync(path.join(this.dir, 'hook.sh'), HOOK);
    chmodSync(path.join(this.dir, 'hook.sh'), 0o755);
    this.db = await createTestDatabase(`e2e_host_${this.mode}`);
    await createTopics(
      Object.values(Topics).map((t) => this.prefix + t),
      3,
    );
    await this.startApp();
    for (const h of ['h1', 'h2'] as const) {
      const r = await http(`${this.app!.url}/v1/tokens`, {
        method: 'POST',
        body: { role: `host:${h}`, name: `e2e agent ${h}` },
        token: TEST_ADMIN_TOKEN,
      });
      if (r.status !== 201) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
      this.tokens[h] = r.body.token;
    }
  }

  async startApp(): Promise<void> {
    this.app = await startApp('all-in-one', {
      DATABASE_URL: this.db.url,
      KAFKA_BROKERS: brokers().join(','),
      FLEETCOMPAT_TOPIC_PREFIX: this.prefix,
      KAFKA_GROUP_ID: this.groupId,
      FLEETCOMPAT_BOOTSTRAP_TOKEN: TEST_ADMIN_TOKEN,
    }).then((a) => a.ready(90000));
  }

  async stop(): Promise<void> {
    await this.agent?.kill('SIGTERM');
    await this.app?.stop();
    if (process.env.E2E_LOGS) {
      if (this.app) console.error(`all-in-one ${JSON.stringify(this.app.exit)}:\n${this.app.log().slice(-6000)}`);
      if (this.agent) console.error(`agent:\n${this.agent.log().slice(-6000)}`);
    }
    await this.db?.drop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  get url(): string {
    return this.app!.url;
  }

  async post(events: FleetEvent[]): Promise<void> {
    const r = await http(`${this.url}/v1/events`, { method: 'POST', body: events, token: TEST_ADMIN_TOKEN });
    if (r.status !== 202) throw new Error(`POST /v1/events: ${r.status} ${JSON.stringify(r.body)}`);
  }

  agentArgs(hostId: string, stateDir: string, token: string): string[] {
    const common = [
      'host',
      'agent',
      '--host-id',
      hostId,
      '--state-dir',
      stateDir,
      '--apply-command',
      path.join(this.dir, 'hook.sh'),
      '--retry-initial',
      '0.2',
      '--retry-max',
      '2',
      '--apply-timeout',
      '20',
      '--token',
      token,
    ];
    return this.mode === 'http'
      ? [...common, '--source', 'http', '--url', this.url, '--wait', '20']
      : [
          ...common,
          '--source',
          'kafka',
          '--brokers',
          brokers().join(','),
          '--topic-prefix',
          this.prefix,
          '--group-prefix',
          `${this.prefix}agent-${hostId}`,
          '--ack-via',
          'kafka',
          '--url',
          this.url,
        ];
  }

  /** Starts the agent of h1 (the hook sleeps up to sleepMs at random when given). */
  startAgent(options: { sleepMs?: number; stateDir?: string; token?: string; hostId?: string } = {}): AgentProcess {
    this.agentRuns++;
    const child = spawn(
      process.execPath,
      [
        CLI,
        ...this.agentArgs(options.hostId ?? 'h1', options.stateDir ?? this.stateDir, options.token ?? this.tokens.h1),
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          HOOK_DIR: this.hookDir,
          HOOK_SLEEP_MS: options.sleepMs ? String(options.sleepMs) : '',
          AGENT_RUN: String(this.agentRuns),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const a = new AgentProcess(child);
    if (!options.stateDir) this.agent = a;
    return a;
  }

  hookRuns(): HookRun[] {
    const file = path.join(this.hookDir, 'hook.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [guestId, sequence, type, decisionId, agent] = l.split(' ');
        return { guestId, sequence: Number(sequence), type, decisionId, agent: Number(agent) };
      });
  }

  /** Hook runs started so far (finished or not). */
  hookStarts(): number {
    const file = path.join(this.hookDir, 'hook-start.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
  }

  failHook(guestId: string, fail: boolean): void {
    const f = path.join(this.hookDir, `fail-${guestId}`);
    if (fail) writeFileSync(f, '');
    else rmSync(f, { force: true });
  }

  ready(extra: string[] = [], token = this.tokens.h1, url = this.url) {
    return runCli([
      'host',
      'ready',
      '--host-id',
      'h1',
      '--target',
      TARGET,
      '--state-dir',
      this.stateDir,
      '--url',
      url,
      '--token',
      token,
      '--json',
      ...extra,
    ]);
  }

  async readyJson(extra: string[] = []): Promise<{ code: number | null; verdict: any; err: string }> {
    const r = await this.ready(extra);
    let verdict: any = null;
    try {
      verdict = JSON.parse(r.out);
    } catch {
      /* printed nothing parseable */
    }
    return { code: r.code, verdict, err: r.err };
  }

  /** Waits until `host ready` exits with `code` and returns its verdict. */
  async readyBecomes(code: number, timeoutMs = 120000): Promise<any> {
    let last: unknown;
    return eventually(
      `host ready to exit ${code}`,
      async () => {
        const r = await this.readyJson();
        last = r;
        return r.code === code ? r.verdict : undefined;
      },
      timeoutMs,
    ).catch((e) => {
      throw new Error(
        `${(e as Error).message}; last: ${JSON.stringify(last).slice(0, 3000)}\nagent log tail:\n${this.agent?.log().slice(-3000)}`,
      );
    });
  }

  async placements(token = TEST_ADMIN_TOKEN, hostId = 'h1') {
    return http(`${this.url}/v1/hosts/${hostId}/placements`, { token });
  }

  /** PlacementApplied events of h1 in the store (from its timeline). */
  async storedAcks(): Promise<any[]> {
    const out: any[] = [];
    let after: number | undefined;
    for (;;) {
      const r = await http(
        `${this.url}/v1/hosts/h1/timeline?limit=1000${after !== undefined ? `&after=${after}` : ''}`,
        { token: TEST_ADMIN_TOKEN },
      );
      if (r.status !== 200) throw new Error(`timeline: ${r.status}`);
      out.push(...r.body.items.filter((i: any) => i.type === 'PlacementApplied'));
      if (!r.body.nextAfter || !r.body.items.length) return out;
      after = r.body.nextAfter;
    }
  }

  // ------------------------------------------------------------------ the fleet

  kernels(): FleetEvent[] {
    return [NEW, OLD, NOPVH].map((k) =>
      envelope(`e2e-host-kernel-${k.release}`, 'KernelBuildCompleted', this.at(), 'ci', {
        imageSha256: k.sha,
        release: k.release,
        arch: 'x86_64',
        distro: k.distro,
        xenNotes: k.notes,
      }),
    );
  }

  register(hostId: string, override: boolean): FleetEvent {
    return envelope(`e2e-host-register-${hostId}`, 'HostRegistered', this.at(), `agent/${hostId}`, {
      hostId,
      hypervisor: { name: 'xen', version: '4.10.4' },
      rsdpOverrideSupported: override,
    });
  }

  private n = 0;
  observe(
    hostId: string,
    guestId: string,
    kernel: 'new' | 'old' | 'nopvh' | 'hvm',
    method: 'direct' | 'pvh-grub' = 'direct',
  ): FleetEvent {
    const k = kernel === 'new' ? NEW : kernel === 'old' ? OLD : kernel === 'nopvh' ? NOPVH : null;
    return envelope(
      `e2e-host-observe-${guestId}-${hostId}-${++this.n}`,
      'GuestObserved',
      this.at(),
      `agent/${hostId}`,
      {
        guestId,
        hostId,
        mode: k ? 'pvh' : 'hvm',
        memoryMiB: 2048,
        boot: k ? { method, kernelSha256: k.sha } : { method: 'other' },
      },
    );
  }

  remove(hostId: string, guestId: string): FleetEvent {
    return envelope(`e2e-host-remove-${guestId}-${hostId}-${++this.n}`, 'GuestRemoved', this.at(), `agent/${hostId}`, {
      guestId,
      hostId,
    });
  }

  plan(hostId: string): FleetEvent {
    return envelope(`e2e-host-plan-${hostId}`, 'HypervisorUpgradePlanned', this.at(), 'orchestrator', {
      hostId,
      fromVersion: '4.10.4',
      toVersion: TARGET,
      plannedRebootAt: '2026-12-01T02:00:00Z',
      waveId: 'w1',
    });
  }

  // ------------------------------------------------------------------ Kafka: relay repeats

  /** Every message of the placement topic keyed by h1, read from the beginning. */
  async topicMessagesOfH1(): Promise<{ partition: number; key: string; value: string }[]> {
    const consumer = kafkaClient().consumer({ groupId: uniqueName('e2e-host-reader'), maxWaitTimeInMs: 100 });
    const got: { partition: number; key: string; value: string }[] = [];
    const admin = kafkaClient().admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(this.prefix + Topics.placementDecisions);
    await admin.disconnect();
    const total = ends.reduce((a, e) => a + Number(e.high), 0);
    let seen = 0;
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: this.prefix + Topics.placementDecisions, fromBeginning: true });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20000);
        void consumer.run({
          eachMessage: async ({ partition, message }) => {
            seen++;
            if (message.key?.toString() === 'h1') got.push({ partition, key: 'h1', value: message.value!.toString() });
            if (seen >= total) {
              clearTimeout(t);
              resolve();
            }
          },
        });
        if (total === 0) resolve();
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    return got;
  }

  /** Produces the messages again, as a relay that died between the broker's ack and its commit would. */
  async repeatOnTopic(messages: { key: string; value: string }[]): Promise<void> {
    const producer = kafkaClient().producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.send({
        topic: this.prefix + Topics.placementDecisions,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: m.value })),
      });
    } finally {
      await producer.disconnect();
    }
  }
}

/** Per guest, the hook's runs must never go back in sequence; returns the violations. */
export function olderAfterNewer(runs: HookRun[]): string[] {
  const highest = new Map<string, number>();
  const bad: string[] = [];
  for (const r of runs) {
    const h = highest.get(r.guestId) ?? 0;
    if (r.sequence < h) bad.push(`${r.guestId}: sequence ${r.sequence} (agent run ${r.agent}) after ${h}`);
    highest.set(r.guestId, Math.max(h, r.sequence));
  }
  return bad;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Current decisions of h1 by guest (admin's view of GET /v1/hosts/h1/placements). */
async function currentDecisions(fleet: HostFleet): Promise<Map<string, any>> {
  const r = await fleet.placements();
  return new Map(r.body.placements.filter((p: any) => p.decision).map((p: any) => [p.guestId, p.decision]));
}

/** The whole scenario, in one mode. */
export function hostAgentScenario(mode: Mode): void {
  const fleet = new HostFleet(mode);

  beforeAll(async () => {
    await fleet.start();
    await fleet.post([
      ...fleet.kernels(),
      fleet.register('h1', true),
      fleet.register('h2', false),
      fleet.observe('h1', 'g-new', 'new'),
      fleet.observe('h1', 'g-old', 'old'),
      fleet.observe('h1', 'g-grub', 'old', 'pvh-grub'),
      fleet.observe('h1', 'g-hvm', 'hvm'),
      fleet.observe('h2', 'g-mover', 'new'),
      fleet.plan('h1'),
    ]);
    fleet.startAgent();
  }, 180000);
  afterAll(() => fleet.stop(), 120000);

  it('decisions arrive, the hook runs once per new decision, acks are stored, GET /v1/hosts/h1 and host ready turn green', async () => {
    const verdict = await fleet.readyBecomes(0);
    expect(verdict).toMatchObject({ ready: true, exitCode: 0, pvhGuests: 3, guests: 4, holds: [], unknown: [] });
    const host = await http(`${fleet.url}/v1/hosts/h1`, { token: fleet.tokens.h1 });
    expect(host.body.readiness).toMatchObject({ guests: 4, decided: 4, acknowledged: 4, blocked: 0, ready: true });
    const current = await currentDecisions(fleet);
    expect([...current.keys()].sort()).toEqual(['g-grub', 'g-hvm', 'g-new', 'g-old']);
    expect([...current.values()].every((d) => d.hypervisorVersion === TARGET)).toBe(true);
    expect(current.get('g-grub')).toMatchObject({ rsdp: 'low', action: 'override-low' });

    const runs = fleet.hookRuns();
    const byDecision = new Map<string, number>();
    for (const r of runs) byDecision.set(r.decisionId, (byDecision.get(r.decisionId) ?? 0) + 1);
    expect([...byDecision.entries()].filter(([, n]) => n > 1)).toEqual([]); // once per decision
    expect(olderAfterNewer(runs)).toEqual([]);
    for (const [guestId, d] of current)
      expect(runs.filter((r) => r.guestId === guestId).at(-1)).toMatchObject({
        decisionId: d.decisionId,
        type: 'PlacementDecided',
      });

    const acks = await eventually('the acks of the current decisions in the store', async () => {
      const a = await fleet.storedAcks();
      return [...current.values()].every((d) => a.some((x) => x.data.decisionId === d.decisionId)) ? a : undefined;
    });
    const perDecision = new Map<string, number>();
    for (const a of acks) perDecision.set(a.data.decisionId, (perDecision.get(a.data.decisionId) ?? 0) + 1);
    expect([...perDecision.values()].every((n) => n === 1)).toBe(true);

    const status = await runCli(['host', 'status', '--state-dir', fleet.stateDir, '--json']);
    expect(status.code).toBe(0);
    const st = JSON.parse(status.out);
    expect(st).toMatchObject({ running: true, hostId: 'h1', mode });
    for (const [guestId, d] of current)
      expect(st.guests[guestId]).toMatchObject({ sequence: d.sequence, applied: true, acked: true });
    const text = await runCli(['host', 'status', '--state-dir', fleet.stateDir]);
    expect(text.out).toMatch(/agent running/);
    expect(text.out).toMatch(/g-grub\s+\d+\s+decided\s+4\.17\.3\s+low\s+override-low\s+yes\s+yes/);
    // one log line per change
    const lines = fleet.agent!.lines();
    for (const [guestId, d] of current) {
      expect(
        lines.filter((l) => l.msg === 'decision applied' && l.guestId === guestId && l.decisionId === d.decisionId),
      ).toHaveLength(1);
      expect(
        lines.filter(
          (l) => l.msg === 'decision acknowledged' && l.guestId === guestId && l.decisionId === d.decisionId,
        ),
      ).toHaveLength(1);
    }
  }, 240000);

  if (mode === 'http') {
    it('GET /v1/hosts/h1/placements: ETag, 304 on If-None-Match, a bounded wait', async () => {
      const first = await fleet.placements(fleet.tokens.h1);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^W\/"p3-[0-9a-f]{32}"$/);
      expect(first.body.withdrawn).toEqual([]);
      const get = (query: string, tag?: string) =>
        fetch(`${fleet.url}/v1/hosts/h1/placements${query}`, {
          headers: { authorization: `Bearer ${fleet.tokens.h1}`, ...(tag ? { 'if-none-match': tag } : {}) },
        });
      expect((await get('', etag)).status).toBe(304);
      expect((await get('', 'W/"p3-other"')).status).toBe(200);
      const t = Date.now();
      const held = await get('?wait=2', etag);
      expect(held.status).toBe(304);
      expect(Date.now() - t).toBeGreaterThanOrEqual(1400);
      expect(held.headers.get('etag')).toBe(etag);
      expect((await get('?wait=61', etag)).status).toBe(400);
      // a change while a request waits: answered at once with the new body
      const waiting = get('?wait=30', etag);
      await sleep(300);
      const t2 = Date.now();
      await fleet.post([fleet.observe('h1', 'g-probe', 'hvm')]);
      const changed = await waiting;
      expect(changed.status).toBe(200);
      expect(Date.now() - t2).toBeLessThan(20000);
      expect(changed.headers.get('etag')).not.toBe(etag);
      expect((await changed.json()).placements.map((p: any) => p.guestId)).toContain('g-probe');
      await fleet.post([fleet.remove('h1', 'g-probe')]);
      await eventually(
        'the probe guest withdrawn by the agent',
        async () => fleet.hookRuns().some((r) => r.guestId === 'g-probe' && r.type === 'PlacementWithdrawn'),
        60000,
      );
      await fleet.readyBecomes(0);
    }, 120000);
  }

  it(`exits 0 on SIGTERM; restarted, it runs nothing again${mode === 'kafka' ? ', and drops what the relay publishes twice' : ''}`, async () => {
    const before = fleet.hookRuns();
    expect(await fleet.agent!.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    let repeated = 0;
    if (mode === 'kafka') {
      const mine = await fleet.topicMessagesOfH1();
      expect(mine.length).toBeGreaterThanOrEqual(4);
      await fleet.repeatOnTopic(mine); // as a relay that died between the broker's ack and its commit
      repeated = mine.length;
    }
    fleet.startAgent();
    await fleet.post([fleet.observe('h1', 'g-marker', 'hvm')]);
    await eventually(
      'the marker guest applied',
      async () => fleet.hookRuns().some((r) => r.guestId === 'g-marker'),
      120000,
    );
    const after = fleet.hookRuns();
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length).map((r) => r.guestId)).toEqual(['g-marker']);
    const st = JSON.parse((await runCli(['host', 'status', '--state-dir', fleet.stateDir, '--json'])).out);
    expect(st.counters.dropped).toBeGreaterThanOrEqual(mode === 'kafka' ? repeated : 4);
    await fleet.readyBecomes(0);
  }, 240000);

  it('a guest moved away gets its withdrawal; a guest moved in gets its decision', async () => {
    await fleet.post([
      fleet.remove('h1', 'g-old'),
      fleet.observe('h2', 'g-old', 'old'),
      fleet.remove('h2', 'g-mover'),
      fleet.observe('h1', 'g-mover', 'new'),
    ]);
    await eventually(
      'the withdrawal of g-old and the decision of g-mover applied',
      async () => {
        const runs = fleet.hookRuns();
        return (
          runs.some((r) => r.guestId === 'g-old' && r.type === 'PlacementWithdrawn') &&
          runs.some((r) => r.guestId === 'g-mover' && r.type === 'PlacementDecided')
        );
      },
      120000,
    );
    const verdict = await fleet.readyBecomes(0);
    expect(verdict.pvhGuests).toBe(3); // g-new, g-grub, g-mover
    const st = JSON.parse((await runCli(['host', 'status', '--state-dir', fleet.stateDir, '--json'])).out);
    expect(st.guests['g-old']).toMatchObject({ type: 'PlacementWithdrawn', applied: true, acked: null });
    const withdrawal = fleet.hookRuns().find((r) => r.guestId === 'g-old' && r.type === 'PlacementWithdrawn')!;
    expect(withdrawal.sequence).toBe(st.guests['g-old'].sequence);
    expect(olderAfterNewer(fleet.hookRuns())).toEqual([]);
  }, 240000);

  it('a blocked guest keeps host ready at exit 1, naming it with its reason and remedy; a failing hook too, until it works', async () => {
    await fleet.post([fleet.observe('h1', 'g-blocked', 'nopvh')]);
    const verdict = await fleet.readyBecomes(1);
    expect(verdict.holds).toEqual([
      expect.objectContaining({
        guestId: 'g-blocked',
        reason: 'blocked',
        remedy: expect.arrayContaining([expect.stringMatching(/PVH-capable kernel/)]),
      }),
    ]);
    const text = await fleet
      .ready([])
      .then(() =>
        runCli([
          'host',
          'ready',
          '--host-id',
          'h1',
          '--target',
          TARGET,
          '--state-dir',
          fleet.stateDir,
          '--url',
          fleet.url,
          '--token',
          fleet.tokens.h1,
        ]),
      );
    expect(text.code).toBe(1);
    expect(text.out).toMatch(/NOT ready.*\n\s+g-blocked: blocked: .*\n\s+remedy: /);
    await fleet.post([fleet.remove('h1', 'g-blocked')]);
    await fleet.readyBecomes(0);

    fleet.failHook('g-new', true);
    await fleet.post([fleet.observe('h1', 'g-new', 'old')]);
    const failing = await eventually(
      'host ready to name the failing hook',
      async () => {
        const r = await fleet.readyJson();
        return r.code === 1 && r.verdict.holds.find((h: any) => h.guestId === 'g-new' && h.reason === 'apply-failing');
      },
      120000,
    );
    expect(failing.detail).toMatch(/told to fail/);
    fleet.failHook('g-new', false);
    await fleet.readyBecomes(0);
    expect(
      fleet
        .agent!.lines()
        .some((l) => l.msg === 'apply hook failed' && l.guestId === 'g-new' && /told to fail/.test(l.error)),
    ).toBe(true);
  }, 300000);

  it('killed with kill -9 at random moments and restarted: the latest decision of every guest applied, none older after a newer, every ack stored once', async () => {
    await fleet.agent!.kill('SIGKILL');
    fleet.startAgent({ sleepMs: 500 });
    let kills = 0;
    let midHook = 0;
    const flips = ['g-new', 'g-grub', 'g-mover'];
    const rand = (() => {
      let x = 20261124;
      return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    })();
    const kill = async () => {
      await fleet.agent!.kill('SIGKILL');
      kills++;
      fleet.startAgent({ sleepMs: 500 });
    };
    for (let round = 0; round < 16; round++) {
      await fleet.post(
        flips.map((g, i) =>
          fleet.observe('h1', g, (round + i) % 2 ? 'new' : 'old', g === 'g-grub' ? 'pvh-grub' : 'direct'),
        ),
      );
      const r = rand();
      if (r < 0.35) {
        // while a hook runs (it sleeps up to 500 ms): the agent dies, its hook is left behind
        const starts = fleet.hookStarts();
        const until = Date.now() + 8000;
        while (fleet.hookStarts() === starts && Date.now() < until) await sleep(20);
        if (fleet.hookStarts() > starts) midHook++;
        await kill();
      } else if (r < 0.6) {
        await sleep(300 + rand() * 1700);
        await kill();
      } else {
        await sleep(500 + rand() * 1500);
      }
    }
    expect(kills).toBeGreaterThan(5);
    expect(midHook).toBeGreaterThan(0);
    await fleet.readyBecomes(0, 240000);
    const current = await currentDecisions(fleet);
    const runs = fleet.hookRuns();
    expect(olderAfterNewer(runs)).toEqual([]);
    expect(fleet.agent!.log()).not.toMatch(/"level":"error"/);
    for (const [guestId, d] of current)
      expect({ guestId, last: runs.filter((r) => r.guestId === guestId).at(-1)?.decisionId }).toEqual({
        guestId,
        last: d.decisionId,
      });
    const acks = await fleet.storedAcks();
    const perDecision = new Map<string, number>();
    for (const a of acks) perDecision.set(a.data.decisionId, (perDecision.get(a.data.decisionId) ?? 0) + 1);
    expect([...perDecision.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    for (const d of current.values()) expect(perDecision.get(d.decisionId)).toBe(1);
    const host = await http(`${fleet.url}/v1/hosts/h1`, { token: fleet.tokens.h1 });
    expect(host.body.readiness.ready).toBe(true);
    const chaos = runs.filter((r) => flips.includes(r.guestId) && r.agent >= fleet.agentRuns - kills);
    const again = chaos.filter((r, i) => chaos.findIndex((x) => x.decisionId === r.decisionId) !== i).length;
    console.log(
      `${mode}: ${kills} kills -9 in 16 rounds (${midHook} while a hook ran); ${chaos.length} hook runs for the changing guests over ${kills + 1} agent runs, ${again} of them a decision applied again after a kill; ${acks.length} PlacementApplied stored`,
    );
  }, 420000);

  it("another host's token is refused", async () => {
    const other = fleet.tokens.h2;
    expect((await fleet.placements(other)).status).toBe(403);
    expect((await http(`${fleet.url}/v1/hosts/h1`, { token: other })).status).toBe(403);
    const d = [...(await currentDecisions(fleet)).values()][0];
    const ack = envelope('e2e-host-forged-ack', 'PlacementApplied', fleet.at(), 'agent/h2', {
      hostId: 'h1',
      guestId: d.guestId,
      decisionId: d.decisionId,
    });
    expect((await http(`${fleet.url}/v1/events`, { method: 'POST', body: [ack], token: other })).status).toBe(403);
    const r = await fleet.ready([], other);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out).unknown.join(' ')).toMatch(/HTTP 403/);
    // an agent for h1 with h2's token: refused (http: it reads nothing; kafka: its acknowledgements over HTTP are refused)
    const dir = path.join(fleet.dir, 'state-wrong-token');
    const args = fleet
      .agentArgs('h1', dir, other)
      .filter((_, i, a) => a[i] !== '--ack-via' && a[i - 1] !== '--ack-via');
    const child = spawn(process.execPath, [CLI, ...args, ...(mode === 'kafka' ? ['--ack-via', 'http'] : [])], {
      cwd: ROOT,
      env: { ...process.env, HOOK_DIR: path.join(fleet.dir, 'wrong-token-hook'), AGENT_RUN: 'wrong' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    mkdirSync(path.join(fleet.dir, 'wrong-token-hook'), { recursive: true });
    const wrong = new AgentProcess(child);
    try {
      await eventually(
        'the refusal in the agent log',
        async () => (/HTTP 403/.test(wrong.log()) ? true : undefined),
        120000,
      );
      expect(
        wrong
          .lines()
          .some(
            (l) =>
              (mode === 'http' ? l.msg === 'source problem' : l.msg === 'acknowledgement failed') &&
              /HTTP 403/.test(l.error),
          ),
      ).toBe(true);
      if (mode === 'http') expect(wrong.lines().filter((l) => l.msg === 'decision received')).toEqual([]);
    } finally {
      await wrong.kill('SIGTERM');
    }
  }, 240000);

  it('no agent state, a stale one, or the service stopped: host ready exits 2', async () => {
    const missing = await fleet.ready(['--state-dir', path.join(fleet.dir, 'nowhere')]);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.out).unknown.join(' ')).toMatch(/agent state missing/);
    expect(await fleet.agent!.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    await sleep(2500);
    const stale = await fleet.ready(['--max-age', '1']);
    expect(stale.code).toBe(2);
    expect(JSON.parse(stale.out).unknown.join(' ')).toMatch(/agent state stale/);
    expect((await fleet.ready()).code).toBe(0); // within the default 120 s the same state is fine
    await fleet.app!.stop();
    const down = await fleet.ready();
    expect(down.code).toBe(2);
    expect(JSON.parse(down.out).unknown.join(' ')).toMatch(/unreachable/);
    const text = await runCli([
      'host',
      'ready',
      '--host-id',
      'h1',
      '--target',
      TARGET,
      '--state-dir',
      fleet.stateDir,
      '--url',
      fleet.url,
      '--token',
      fleet.tokens.h1,
    ]);
    expect(text.code).toBe(2);
    expect(text.out).toMatch(/cannot tell/);
  }, 180000);
}
