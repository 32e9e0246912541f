import { mkdirSync } from 'node:fs';
import { HOOK_MARKER, killLeftoverHooks, runHook } from './hook';
import { apiUrl, fetchError, HttpSource, problemOf, SourceSink } from './http-source';
import { KafkaAckSender, KafkaConnection, KafkaSource } from './kafka-source';
import { acquireLock } from './lock';
import { AgentLog } from './log';
import { Sleeper } from './sleeper';
import {
  acksDue,
  ackEnvelope,
  AgentState,
  backoffMs,
  emptyState,
  GuestState,
  mergeMessage,
  messagesOfPlacements,
  nextDueInMs,
  nextToApply,
  readState,
  StateStore,
} from './state';

export interface HostAgentOptions {
  readonly hostId: string;
  /** Absolute path of the state folder. */
  readonly stateDir: string;
  readonly mode: 'http' | 'kafka';
  /** API base URL: the source in http mode, the acks when ackVia is http. */
  readonly url?: string;
  readonly token?: string;
  readonly waitSeconds: number;
  readonly kafka?: {
    readonly connection: KafkaConnection;
    readonly topic: string;
    readonly acksTopic: string;
    readonly groupPrefix: string;
  };
  readonly ackVia: 'http' | 'kafka';
  readonly applyCommand: string;
  readonly applyTimeoutMs: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  /** Kafka mode: how often the end of the partition is checked (in sync). */
  readonly syncCheckMs: number;
  readonly log: AgentLog;
}

/** Sends PlacementApplied events. */
interface AckSender {
  send(hostId: string, envelopes: object[]): Promise<void>;
  close(): Promise<void>;
}

class HttpAckSender implements AckSender {
  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
  ) {}

  async send(_hostId: string, envelopes: object[]): Promise<void> {
    const url = apiUrl(this.url, '/v1/events');
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: JSON.stringify(envelopes),
        signal: AbortSignal.timeout(30000),
      });
    } catch (e) {
      throw fetchError(e, `POST ${url}`);
    }
    if (res.status !== 202) throw new Error(`POST ${url}: HTTP ${res.status} ${await problemOf(res)}`);
    await res.arrayBuffer().catch(() => undefined);
  }

  async close(): Promise<void> {}
}

/**
 * The host agent: reads the host's placements (Kafka partition or HTTP long-poll), keeps per
 * guest the highest sequence, runs the hook for each new message (oldest first, one at a
 * time, retried with backoff), acknowledges applied decisions, and saves its state after every
 * change (state.ts). `run()` resolves after `stop()`, once the hook in hand has finished and
 * the state is saved.
 */
export class HostAgent implements SourceSink {
  state!: AgentState;
  private store!: StateStore;
  private stopping = false;
  private readonly sleeper = new Sleeper();
  private kicked = false;
  private lazyTimer?: NodeJS.Timeout;
  private lazyDirty = false;
  private httpSource?: HttpSource;
  private kafkaSource?: KafkaSource;
  private sourceLoop?: Promise<void>;
  private acks?: AckSender;
  private releaseLock?: () => void;
  private resyncing = false;

  constructor(private readonly o: HostAgentOptions) {}

  private get log(): AgentLog {
    return this.o.log;
  }

  async run(): Promise<void> {
    mkdirSync(this.o.stateDir, { recursive: true, mode: 0o700 });
    this.releaseLock = acquireLock(this.o.stateDir);
    try {
      const killed = await killLeftoverHooks(this.o.stateDir);
      if (killed.length) this.log('warn', 'killed hooks an earlier agent left running', { pids: killed });
      const now = new Date();
      const saved = readState(this.o.stateDir);
      if (saved && saved.hostId !== this.o.hostId)
        throw new Error(`the state folder ${this.o.stateDir} belongs to host ${saved.hostId}, not ${this.o.hostId}`);
      this.state = saved ?? emptyState(this.o.hostId, this.o.mode, now);
      if (this.state.mode !== this.o.mode) {
        this.log(
          'warn',
          `source changed from ${this.state.mode} to ${this.o.mode}: the guests' sequences are kept, the position starts afresh`,
        );
        this.state.mode = this.o.mode;
        this.state.lastSyncAt = null;
      }
      this.state.agentPid = process.pid;
      this.store = new StateStore(this.o.stateDir, () => this.state);
      await this.store.save();
      const pending = Object.values(this.state.guests).filter((g) => !g.applied).length;
      const unacked = Object.values(this.state.guests).filter((g) => g.applied && g.acked === false).length;
      this.log('info', 'host agent started', {
        mode: this.o.mode,
        stateDir: this.o.stateDir,
        guests: Object.keys(this.state.guests).length,
        pendingApply: pending,
        pendingAck: unacked,
        ...(this.o.mode === 'http' ? { url: this.o.url } : { topic: this.o.kafka?.topic }),
        ackVia: this.o.ackVia,
      });
      this.acks =
        this.o.ackVia === 'http'
          ? new HttpAckSender(this.o.url!, this.o.token)
          : new KafkaAckSender(this.o.kafka!.connection, this.o.kafka!.acksTopic, this.o.token);
      this.lazyTimer = setInterval(() => void this.flushLazy(), 2000);
      this.sourceLoop = this.o.mode === 'http' ? this.runHttp() : this.runKafka();
      await this.work();
      // the hook in hand has finished: stop reading, then save the last state
      await this.kafkaSource?.stop();
      await this.sourceLoop;
      clearInterval(this.lazyTimer);
      this.state.agentPid = null;
      await this.store.save();
      await this.acks.close();
      this.log('info', 'host agent stopped');
    } finally {
      clearInterval(this.lazyTimer);
      await this.kafkaSource?.stop();
      this.releaseLock?.();
    }
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.httpSource?.stop();
    this.sleeper.wake();
  }

  // ---------------------------------------------------------------- sources

  private async runHttp(): Promise<void> {
    const http = (this.state.source.http ??= { url: this.o.url!, etag: null });
    if (http.url !== this.o.url) Object.assign(http, { url: this.o.url!, etag: null });
    this.httpSource = new HttpSource(
      {
        url: this.o.url!,
        hostId: this.o.hostId,
        token: this.o.token,
        waitSeconds: this.o.waitSeconds,
        etag: http.etag,
        retryInitialMs: this.o.retryInitialMs,
        retryMaxMs: this.o.retryMaxMs,
      },
      this,
    );
    if (this.stopping) return;
    await this.httpSource.run();
  }

  private async runKafka(): Promise<void> {
    const k = this.o.kafka!;
    let failures = 0;
    const sleeper = new Sleeper();
    const stopWatch = setInterval(() => this.stopping && sleeper.wake(), 200);
    try {
      while (!this.stopping) {
        try {
          const saved =
            this.state.source.kafka && this.state.source.kafka.topic === k.topic ? this.state.source.kafka : null;
          const source = new KafkaSource(
            {
              connection: k.connection,
              topic: k.topic,
              hostId: this.o.hostId,
              groupPrefix: k.groupPrefix,
              start: saved,
              syncCheckMs: this.o.syncCheckMs,
              onGap: (message) => void this.onGap(message),
              log: (msg, fields) => this.log('warn', msg, fields),
            },
            this,
          );
          this.kafkaSource = source;
          const at = await source.start();
          if (!saved || saved.partition !== at.partition || saved.partitions !== at.partitions) {
            this.state.source.kafka = {
              topic: k.topic,
              partition: at.partition,
              partitions: at.partitions,
              nextOffset: null,
            };
            await this.store.save();
          }
          this.log('info', 'reading the host partition of the placement topic', {
            topic: k.topic,
            partition: at.partition,
            partitions: at.partitions,
            from: this.state.source.kafka?.nextOffset ?? 'beginning',
          });
          this.problem(null);
          return;
        } catch (e) {
          await this.kafkaSource?.stop();
          this.kafkaSource = undefined;
          failures++;
          this.problem(`Kafka ${k.connection.brokers.join(',')}: ${(e as Error).message}`);
          await sleeper.sleep(backoffMs(failures, this.o.retryInitialMs, this.o.retryMaxMs));
        }
      }
    } finally {
      clearInterval(stopWatch);
    }
  }

  /** Messages deleted from the partition before the agent read them: the API's current set fills the gap, when the agent has one. */
  private async onGap(message: string): Promise<void> {
    this.log('warn', message);
    if (!this.o.url || this.resyncing) return;
    this.resyncing = true;
    try {
      const url = apiUrl(this.o.url, `/v1/hosts/${encodeURIComponent(this.o.hostId)}/placements`);
      const res = await fetch(url, {
        headers: this.o.token ? { authorization: `Bearer ${this.o.token}` } : {},
        signal: AbortSignal.timeout(30000),
      });
      if (res.status !== 200) throw new Error(`HTTP ${res.status} ${await problemOf(res)}`);
      await this.messages(messagesOfPlacements(await res.json()), {});
      this.log('info', 'filled the gap from the API (current placements)', { url });
    } catch (e) {
      this.problem(`gap in the partition, and the API could not fill it: ${(e as Error).message}`);
    } finally {
      this.resyncing = false;
    }
  }

  // ---------------------------------------------------------------- SourceSink

  async messages(values: unknown[], position: { etag?: string | null; nextOffset?: string }): Promise<void> {
    const now = new Date();
    let changed = false;
    for (const v of values) {
      const r = mergeMessage(this.state, v, now);
      if (r.kind === 'new') {
        changed = true;
        const g = this.state.guests[r.guestId];
        const m = g.message as Record<string, unknown>;
        this.log('info', r.type === 'PlacementDecided' ? 'decision received' : 'withdrawal received', {
          guestId: r.guestId,
          sequence: r.sequence,
          ...(r.type === 'PlacementDecided'
            ? {
                decisionId: g.decisionId,
                hypervisorVersion: m.hypervisorVersion,
                rsdp: m.rsdp,
                action: m.action,
                reason: m.reason,
              }
            : {}),
          ...(r.superseded ? { supersedes: r.superseded.sequence } : {}),
        });
      } else if (r.kind === 'invalid') {
        this.log('warn', 'message ignored', { reason: r.reason });
      }
    }
    if (position.etag !== undefined && this.state.source.http) {
      if (this.state.source.http.etag !== position.etag) changed = true;
      this.state.source.http.etag = position.etag;
    }
    if (position.nextOffset !== undefined && this.state.source.kafka) {
      this.state.source.kafka.nextOffset = position.nextOffset;
      if (!changed) this.lazyDirty = true; // only other hosts' messages: saved within 2 s (a re-read after a crash is harmless)
    }
    if (changed) {
      await this.store.save();
      this.kick();
    }
  }

  async synced(): Promise<void> {
    this.state.lastSyncAt = new Date().toISOString();
    this.lazyDirty = true;
  }

  problem(message: string | null): void {
    if (message === this.state.lastError) return;
    if (message) this.log('warn', 'source problem', { error: message });
    else if (this.state.lastError) this.log('info', 'source works again');
    this.state.lastError = message;
    this.lazyDirty = true;
  }

  private async flushLazy(): Promise<void> {
    if (!this.lazyDirty || !this.store) return;
    this.lazyDirty = false;
    await this.store
      .save()
      .catch((e) => this.log('error', 'could not save the state', { error: (e as Error).message }));
  }

  // ---------------------------------------------------------------- hook and acks

  private kick(): void {
    this.kicked = true;
    this.sleeper.wake();
  }

  private async work(): Promise<void> {
    while (!this.stopping) {
      this.kicked = false;
      const now = new Date();
      const next = nextToApply(this.state, now);
      if (next) {
        await this.apply(next);
        continue;
      }
      const due = acksDue(this.state, now);
      if (due.length) {
        await this.acknowledge(due);
        continue;
      }
      if (this.kicked) continue;
      const ms = nextDueInMs(this.state, now);
      await this.sleeper.sleep(Math.min(ms ?? 60000, 60000));
    }
  }

  private async apply(g: GuestState): Promise<void> {
    const m = g.message as Record<string, unknown>;
    const env: Record<string, string> = {
      [HOOK_MARKER]: this.o.stateDir,
      FLEETCOMPAT_HOST_ID: this.o.hostId,
      FLEETCOMPAT_GUEST_ID: g.message.guestId,
      FLEETCOMPAT_SEQUENCE: String(g.sequence),
      FLEETCOMPAT_MESSAGE_TYPE: g.type,
      FLEETCOMPAT_ATTEMPT: String(g.attempts + 1),
      ...(g.type === 'PlacementDecided'
        ? {
            FLEETCOMPAT_DECISION_ID: String(g.decisionId),
            FLEETCOMPAT_RSDP: String(m.rsdp),
            FLEETCOMPAT_ACTION: String(m.action),
            FLEETCOMPAT_HYPERVISOR_VERSION: String(m.hypervisorVersion),
          }
        : {}),
    };
    const r = await runHook(this.o.applyCommand, JSON.stringify(g.message), env, this.o.applyTimeoutMs);
    const current = this.state.guests[g.message.guestId];
    if (current !== g) {
      this.log('info', 'a newer message arrived while the hook ran: it is applied next', {
        guestId: g.message.guestId,
        sequence: g.sequence,
        newer: current?.sequence,
        hookOk: r.ok,
      });
      return;
    }
    const now = new Date().toISOString();
    if (r.ok) {
      g.applied = true;
      g.appliedAt = now;
      g.ackOccurredAt = now;
      g.lastError = null;
      g.nextAttemptAt = null;
      this.state.counters.applied++;
      await this.store.save();
      this.log('info', g.type === 'PlacementDecided' ? 'decision applied' : 'withdrawal applied', {
        guestId: g.message.guestId,
        sequence: g.sequence,
        decisionId: g.decisionId ?? undefined,
        attempts: g.attempts + 1,
        ms: r.durationMs,
      });
    } else {
      g.attempts++;
      g.lastError = r.error;
      const delay = backoffMs(g.attempts, this.o.retryInitialMs, this.o.retryMaxMs);
      g.nextAttemptAt = new Date(Date.now() + delay).toISOString();
      this.state.counters.hookFailures++;
      await this.store.save();
      this.log('warn', 'apply hook failed', {
        guestId: g.message.guestId,
        sequence: g.sequence,
        attempt: g.attempts,
        error: r.error,
        retryInMs: delay,
      });
    }
  }

  private async acknowledge(due: GuestState[]): Promise<void> {
    const envelopes = due.map((g) => ackEnvelope(this.o.hostId, g));
    try {
      await this.acks!.send(this.o.hostId, envelopes);
    } catch (e) {
      const now = Date.now();
      let delay = 0;
      for (const g of due) {
        g.ackAttempts++;
        delay = backoffMs(g.ackAttempts, this.o.retryInitialMs, this.o.retryMaxMs);
        g.nextAckAt = new Date(now + delay).toISOString();
      }
      this.lazyDirty = true;
      this.log('warn', 'acknowledgement failed', { guests: due.length, error: (e as Error).message, retryInMs: delay });
      return;
    }
    const now = new Date().toISOString();
    const done: GuestState[] = [];
    for (const g of due) {
      if (this.state.guests[g.message.guestId] !== g) continue; // superseded meanwhile: the newer one is acknowledged in turn
      g.acked = true;
      g.ackedAt = now;
      g.nextAckAt = null;
      this.state.counters.acked++;
      done.push(g);
    }
    await this.store.save();
    for (const g of done)
      this.log('info', 'decision acknowledged', {
        guestId: g.message.guestId,
        sequence: g.sequence,
        decisionId: g.decisionId,
        via: this.o.ackVia,
      });
  }
}
