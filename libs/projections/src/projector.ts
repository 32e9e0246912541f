import { Logger } from '@nestjs/common';
import { WorkLoop } from '@fleetcompat/loop';
import { DataSource, QueryRunner } from 'typeorm';
import {
  checkpointOf,
  loadCheckpoint,
  pgClientOf,
  readAll,
  readHead,
  saveCheckpoint,
  withProcessorLock,
  compareCheckpoints,
  Checkpoint,
  StoredEvent,
  listen,
  EVENTS_CHANNEL,
  START,
} from '@fleetcompat/event-store';
import { BehaviourRule, DEFAULT_BEHAVIOUR_RULES, DEFAULT_GUEST_OS_RULES, GuestOsRule } from '@fleetcompat/policy';
import { Evolver, EvolverOptions } from './evolve';
import { changedHosts, notifyChangedHosts } from './notify-hosts';
import { ProjectionStore } from './projection-store';
import {
  hasDecisionHistory,
  PROJECTION_VERSION,
  projectionVersion,
  reproject,
  saveProjectionVersion,
} from './reproject';
import { LIVE_SCHEMA } from './schema';
import {
  assertShardLayout,
  checkShardLayout,
  isSharded,
  processorName,
  sharedEvents,
  ShardLayout,
  ShardLayoutError,
  SINGLE_SHARD,
  writesSharedRows,
} from './shards';
import { WorkingSet } from './working-set';

export interface ProjectorOptions {
  /** Checkpoint and lock name; one instance at a time holds it. Default: the shard's (processorName). */
  readonly processor?: string;
  /**
   * The shard this projector runs (PROJECTOR_SHARD of PROJECTOR_SHARDS); default one shard
   * for every guest. Each shard has its own checkpoint and lock; several instances of a shard
   * take turns as before.
   */
  readonly shard?: ShardLayout;
  /** Events per transaction. */
  readonly batchSize?: number;
  /**
   * Decisions per transaction, about: a batch ends after the event that reaches this many
   * (the rest are read again by the next batch), so that a batch of events that each reach
   * many guests (upgrade plans of hosts of 50 guests) does not hold 100,000 decisions and
   * their JSON in memory at once.
   */
  readonly maxDecisionsPerBatch?: number;
  /** Default hypervisor behaviour rules (this release's data). */
  readonly defaults?: readonly BehaviourRule[];
  /** Default GUEST_OS rules (this release's data). */
  readonly guestOsDefaults?: readonly GuestOsRule[];
  /** Most guests a host may have present (MAX_GUESTS_PER_HOST). */
  readonly maxGuestsPerHost?: number;
  /** Idle poll interval in ms. */
  readonly idleMs?: number;
  /** Wake on commits of new events by any process (LISTEN fleetcompat_events); default true. Polling goes on regardless. */
  readonly listen?: boolean;
  /** Called after a batch that queued decisions has committed (wakes the relay). */
  readonly onCommitted?: (result: BatchResult) => void;
}

/** Default of ProjectorOptions.maxDecisionsPerBatch. */
export const DEFAULT_MAX_DECISIONS_PER_BATCH = 5000;

export interface BatchResult {
  /** False when another instance holds the processor lock. */
  readonly locked: boolean;
  readonly events: number;
  readonly decisions: number;
  readonly checkpoint: Checkpoint;
  /** Where the batch's time went, in ms (a committed batch only). */
  readonly phases?: BatchPhases;
  /**
   * A committed batch only: when it took the processor lock, when it sent COMMIT (it holds
   * the lock until then) and when the commit returned, and the checkpoint it read after.
   * Two batches never overlap in [startedAt, committingAt].
   */
  readonly startedAt?: string;
  readonly committingAt?: string;
  readonly committedAt?: string;
  readonly from?: Checkpoint;
}

/** Projector.position(): where the processor stands. */
export interface ProjectorPosition {
  readonly checkpoint: Checkpoint;
  readonly head: Checkpoint;
  /** Events committed past the checkpoint (not applied yet), readable or not. */
  readonly behind: number;
  /** Of those, the ones no reader may take yet: an older transaction is still open on the server. */
  readonly heldBack: number;
  /** The oldest transaction open on the server, when events are held back and Postgres names it. */
  readonly holder?: OpenTransaction;
}

/**
 * A transaction open on the server (pg_stat_activity). Readiness answers show it to anyone who
 * may ask, so a session of another database on a shared server is named by its pid only: an
 * operator looks it up in pg_stat_activity.
 */
export interface OpenTransaction {
  readonly pid: number;
  /** `idle in transaction`, `active`, ... */
  readonly state: string;
  /** When it began (ISO 8601), if shown. */
  readonly since: string | null;
  /** Whether it is a session of this service's database. */
  readonly inThisDatabase: boolean;
  /** Its application_name, for a session of this database only. */
  readonly application: string | null;
}

/** A committed batch's time per phase, in ms. */
export interface BatchPhases {
  /** Lock, checkpoint and events read from the store. */
  readonly read: number;
  /** Projection rows the events reach, read into the working set. */
  readonly load: number;
  /** The events applied in memory (the policy decides). */
  readonly apply: number;
  /** Changed rows, decision history and outbox written; checkpoint saved. */
  readonly save: number;
  readonly commit: number;
}

/**
 * Reads the event store in its never-skip order and applies each batch to the projections
 * in one transaction with its checkpoint and outbox rows. A failed batch rolls back whole
 * and is read again; a recorded event is never skipped.
 */
export class Projector {
  private readonly log = new Logger(Projector.name);
  readonly processor: string;
  readonly shard: ShardLayout;
  private readonly store: ProjectionStore;
  private readonly batchSize: number;
  private readonly maxDecisionsPerBatch: number;
  private readonly evolverOptions: EvolverOptions;
  /** Batches back to back while events wait; idle (woken by NOTIFY) when none; backoff after a failure. */
  private readonly loop: WorkLoop;
  private unlisten?: Promise<() => Promise<void>>;
  /** The projection in memory as of a checkpoint this instance committed (see workingSet). */
  private memory: { ws: WorkingSet; checkpoint: Checkpoint } | null = null;
  /**
   * The events the last committed batch read but did not apply (it ended at
   * maxDecisionsPerBatch), kept for the next batch instead of reading them again: valid while
   * the checkpoint is still the one that batch committed (`after`). They were read below the
   * xmin horizon, so a new read of that range would return exactly them.
   */
  private leftover: { after: Checkpoint; events: StoredEvent[]; through: Checkpoint } | null = null;
  /** The tables were found (or made) of this release's projection version. */
  private versionChecked = false;
  lastError: Error | null = null;
  processedEvents = 0;
  /** Events set aside (not applied) in the projection, as of the last committed batch. */
  setAsideEvents = 0;
  publishedDecisions = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: ProjectorOptions = {},
  ) {
    this.shard = assertShardLayout(options.shard ?? SINGLE_SHARD);
    this.processor = options.processor ?? processorName(this.shard);
    this.store = new ProjectionStore(LIVE_SCHEMA, this.shard);
    this.batchSize = options.batchSize ?? 2000;
    this.maxDecisionsPerBatch = options.maxDecisionsPerBatch ?? DEFAULT_MAX_DECISIONS_PER_BATCH;
    const idleMs = options.idleMs ?? 50;
    this.loop = new WorkLoop({
      step: async () => {
        const r = await this.runOnce();
        this.lastError = null;
        if (r.events > 0) return 'again';
        // another instance holds the lock: look again later, not on every notification
        return r.locked ? { waitMs: idleMs, wakeOnNotify: true } : { waitMs: 500, wakeOnNotify: false };
      },
      backoffInitialMs: 100,
      backoffMaxMs: 5000,
      onFailure: (e, _attempt, delay) => {
        this.lastError = e as Error;
        this.log.error(`projector batch failed, retrying in ${delay} ms: ${(e as Error).message}`);
      },
    });
    this.evolverOptions = {
      defaults: options.defaults ?? DEFAULT_BEHAVIOUR_RULES,
      guestOsDefaults: options.guestOsDefaults ?? DEFAULT_GUEST_OS_RULES,
      maxGuestsPerHost: options.maxGuestsPerHost,
      shard: this.shard,
    };
  }

  /** The batches are refused: another shard count writes the projection (ShardLayoutError). */
  get layoutError(): ShardLayoutError | null {
    return this.lastError instanceof ShardLayoutError ? this.lastError : null;
  }

  /** Processes at most one batch. */
  async runOnce(): Promise<BatchResult> {
    const qr = this.dataSource.createQueryRunner();
    await qr.connect();
    try {
      let t = performance.now();
      const lap = () => {
        const now = performance.now();
        const ms = now - t;
        t = now;
        return Math.round(ms * 10) / 10;
      };
      await qr.startTransaction();
      if (!(await withProcessorLock(this.processor, qr))) {
        await qr.rollbackTransaction();
        return { locked: false, events: 0, decisions: 0, checkpoint: { transactionId: '0', globalPosition: '0' } };
      }
      const startedAt = new Date().toISOString();
      await checkShardLayout(qr, this.shard);
      const after = await loadCheckpoint(this.processor, qr);
      let { events, checkpoint } = await this.read(qr, after);
      // with nothing new to apply, a batch still runs once per instance when the tables are of another projection version
      if (events.length === 0 && !this.versionChecked) {
        const version = await projectionVersion(qr, this.shard);
        // a store nothing was ever projected from: record the version, no batch to run (with a
        // decision history, the next batch re-projects, carrying the guests' sequences on)
        if (
          version !== PROJECTION_VERSION &&
          compareCheckpoints(after, START) === 0 &&
          !(await hasDecisionHistory(qr, this.shard))
        ) {
          await saveProjectionVersion(qr, this.shard);
          await qr.commitTransaction();
          this.versionChecked = true;
          return { locked: true, events: 0, decisions: 0, checkpoint };
        }
        if (version === PROJECTION_VERSION) this.versionChecked = true;
        // a decision history and no event visible yet from the start of the store: wait for
        // them (re-projecting nothing would withdraw every decision of the history)
        else if (compareCheckpoints(after, START) === 0) {
          await qr.rollbackTransaction();
          return { locked: true, events: 0, decisions: 0, checkpoint };
        }
      }
      if (events.length === 0 && this.versionChecked) {
        await qr.rollbackTransaction();
        return { locked: true, events: 0, decisions: 0, checkpoint };
      }
      const read = lap();
      const { ws, reprojected, through } = await this.workingSet(qr, after);
      let applied = events.length;
      if (through) {
        // re-projected through the store's head: this batch's events are in it (and reported as its events)
        events = [];
        checkpoint = through.checkpoint;
        applied = through.events;
      }
      const load = lap();
      const evolver = new Evolver(ws, this.evolverOptions);
      let leftover: StoredEvent[] = [];
      const readThrough = checkpoint;
      for (let i = 0; i < events.length; i++) {
        evolver.apply(events[i]);
        if (ws.records.length >= this.maxDecisionsPerBatch && i + 1 < events.length) {
          // enough decisions for one transaction: the batch ends with this event, the next goes on after it
          checkpoint = checkpointOf(events[i]);
          leftover = events.slice(i + 1);
          events = events.slice(0, i + 1);
          break;
        }
      }
      if (!through) applied = events.length; // the events this batch applied (fewer when it ended at maxDecisionsPerBatch)
      const apply = lap();
      await this.store.save(qr, pgClientOf(qr), ws);
      if (reprojected) await saveProjectionVersion(qr, this.shard);
      else await notifyChangedHosts(qr, changedHosts(ws)); // readers drop only these hosts' answers (a re-projection: everything)
      await saveCheckpoint(this.processor, checkpoint, qr);
      const save = lap();
      const committingAt = new Date().toISOString();
      await qr.commitTransaction();
      const committedAt = new Date().toISOString();
      this.memory = { ws, checkpoint };
      if (leftover.length) this.leftover = { after: checkpoint, events: leftover, through: readThrough };
      this.versionChecked = true;
      const phases = { read, load, apply, save, commit: lap() };
      this.processedEvents += applied;
      this.publishedDecisions += ws.records.length;
      this.setAsideEvents = ws.setAside.size;
      if (ws.dirtySetAside.size) {
        for (const id of ws.dirtySetAside) this.log.warn(`event ${id} set aside: ${ws.setAside.get(id)!.reason}`);
      }
      const result = {
        locked: true,
        events: applied,
        decisions: ws.records.length,
        checkpoint,
        phases,
        startedAt,
        committingAt,
        committedAt,
        from: after,
      };
      this.options.onCommitted?.(result);
      return result;
    } catch (e) {
      if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
      throw e;
    } finally {
      await qr.release();
    }
  }

  /**
   * Up to batchSize events after `after`: the last batch's leftover when it is still the
   * next thing to apply, topped up from the store; else read from the store.
   */
  private async read(qr: QueryRunner, after: Checkpoint): Promise<{ events: StoredEvent[]; checkpoint: Checkpoint }> {
    const leftover = this.leftover;
    this.leftover = null;
    if (!leftover || compareCheckpoints(leftover.after, after) !== 0)
      return readAll(qr, { after, limit: this.batchSize });
    const room = this.batchSize - leftover.events.length;
    if (room <= 0) return { events: leftover.events, checkpoint: leftover.through };
    const more = await readAll(qr, { after: leftover.through, limit: room });
    return { events: leftover.events.concat(more.events), checkpoint: more.checkpoint };
  }

  /**
   * The projection as of `checkpoint` (where the batch starts), in memory: the one kept since
   * this instance's last batch when nobody else has moved the checkpoint since; brought up to
   * date by applying the events another instance projected meanwhile (the evolver is
   * deterministic, so it reaches the rows that instance wrote); else read whole from the
   * tables; or, when the tables were written by another projection version (a release that
   * changed the facts or the policy), made again from the whole store (reproject). Until the
   * batch commits nothing is kept: a failed batch leaves rows changed in memory that the
   * tables do not have.
   */
  private async workingSet(
    qr: QueryRunner,
    checkpoint: Checkpoint,
  ): Promise<{ ws: WorkingSet; reprojected: boolean; through?: { checkpoint: Checkpoint; events: number } }> {
    const memory = this.memory;
    this.memory = null;
    if (memory && compareCheckpoints(memory.checkpoint, checkpoint) <= 0) {
      const evolver = new Evolver(memory.ws, this.evolverOptions);
      let at = memory.checkpoint;
      while (compareCheckpoints(at, checkpoint) < 0) {
        const { events } = await readAll(qr, { after: at, limit: this.batchSize });
        if (!events.length) break;
        for (const e of events) {
          if (compareCheckpoints(checkpointOf(e), checkpoint) > 0) break;
          evolver.apply(e);
          at = checkpointOf(e);
        }
        memory.ws.beginBatch();
      }
      if (compareCheckpoints(at, checkpoint) === 0) {
        if (at !== memory.checkpoint)
          this.log.log('brought the projection in memory up to date with the batches of another instance');
        memory.ws.beginBatch();
        return { ws: memory.ws, reprojected: false };
      }
    }
    if ((await projectionVersion(qr, this.shard)) !== PROJECTION_VERSION) {
      // From the start of the store (a new shard layout, or a checkpoint reset with a decision
      // history): through the store's head, so that only the decisions that differ from the
      // history are published, not every step on the way there.
      const fromStart = compareCheckpoints(checkpoint, START) === 0 && (await hasDecisionHistory(qr, this.shard));
      const through = fromStart ? await readHead(qr) : checkpoint;
      const stats = { events: 0 };
      const ws = await reproject(qr, through, { ...this.evolverOptions, batchSize: this.batchSize, stats });
      if (compareCheckpoints(through, START) > 0) {
        this.log.log(
          `re-projected the store for projection version ${PROJECTION_VERSION}${isSharded(this.shard) ? ` (shard ${this.shard.index} of ${this.shard.count})` : ''}: ${ws.guestCount} guest views, ${ws.records.length} decisions and withdrawals queued`,
        );
      }
      // every row and the re-decisions are saved with this batch, with the new version
      return {
        ws,
        reprojected: true,
        ...(fromStart ? { through: { checkpoint: through, events: stats.events } } : {}),
      };
    }
    const ws = await this.store.loadAll(qr, await this.sharedFacts(qr, checkpoint));
    this.log.log(
      `read the projection into memory: ${ws.guestCount} guests, ${ws.hosts.size} hosts, ${ws.kernels.size} kernels`,
    );
    return { ws, reprojected: false };
  }

  /**
   * A shard other than 0 makes its copy of the kernels, hosts and rules from the store's
   * events up to `checkpoint`: the tables hold shard 0's, as of shard 0's checkpoint, which
   * may be behind or ahead of this one's. Undefined for shard 0 (it reads its own rows).
   */
  private async sharedFacts(qr: QueryRunner, checkpoint: Checkpoint): Promise<WorkingSet | undefined> {
    if (writesSharedRows(this.shard)) return undefined;
    const ws = new WorkingSet();
    const facts = new Evolver(ws, { ...this.evolverOptions, decide: false });
    for await (const e of sharedEvents(qr, checkpoint)) facts.apply(e);
    ws.beginBatch();
    return ws;
  }

  /**
   * Runs batches until the projection has applied every event committed before the call
   * (waiting, when an older transaction still open anywhere on the server holds them back).
   */
  async catchUp(): Promise<number> {
    const head = await readHead(this.dataSource, { committed: true });
    let total = 0;
    for (;;) {
      const r = await this.runOnce();
      total += r.events;
      if (!r.locked) throw new Error(`processor ${this.processor} is held by another instance`);
      if (compareCheckpoints(r.checkpoint, head) >= 0) return total;
      if (r.events === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * Where this processor stands, and the store's head (for lag). `behind` counts every event
   * committed past the checkpoint, `heldBack` those of them no reader may take yet: a
   * transaction older than theirs is still open somewhere on the server (the never-skip read
   * stops below it), so the projector cannot move however healthy it is. `holder` says which
   * one when Postgres shows it (pg_stat_activity; a prepared transaction or a session this role
   * may not see is not named).
   */
  async position(): Promise<ProjectorPosition> {
    const checkpoint = await loadCheckpoint(this.processor, this.dataSource);
    const head = await readHead(this.dataSource);
    const rows: { n: string; held: string }[] = await this.dataSource.query(
      `SELECT count(*)::text AS n,
              (count(*) FILTER (WHERE transaction_id >= pg_snapshot_xmin(pg_current_snapshot())))::text AS held
         FROM events WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)`,
      [checkpoint.transactionId, checkpoint.globalPosition],
    );
    const heldBack = Number(rows[0].held);
    let holder: OpenTransaction | undefined;
    if (heldBack > 0) {
      const open: {
        pid: number;
        state: string | null;
        xact_start: Date | null;
        application_name: string | null;
        here: boolean;
      }[] = await this.dataSource.query(
        `SELECT pid, state, xact_start, application_name, datname IS NOT DISTINCT FROM current_database() AS here FROM pg_stat_activity
            WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() ORDER BY age(backend_xid) DESC LIMIT 1`,
      );
      if (open[0])
        holder = {
          pid: open[0].pid,
          state: open[0].state ?? 'unknown',
          since: open[0].xact_start ? new Date(open[0].xact_start).toISOString() : null,
          inThisDatabase: open[0].here,
          application: (open[0].here && open[0].application_name) || null,
        };
    }
    return { checkpoint, head, behind: Number(rows[0].n), heldBack, ...(holder ? { holder } : {}) };
  }

  start(): void {
    if (this.loop.isRunning) return;
    if (this.options.listen ?? true) {
      this.unlisten = listen(this.dataSource, EVENTS_CHANNEL, () => this.notify(), {
        onError: (e) => this.log.warn(`LISTEN ${EVENTS_CHANNEL}: ${e.message} (polling meanwhile)`),
      }).catch((e) => {
        this.log.warn(`LISTEN ${EVENTS_CHANNEL} failed, polling only: ${(e as Error).message}`);
        return async () => undefined;
      });
    }
    this.loop.start();
  }

  /** Wakes an idle loop at once (called after new events are stored in this process). */
  notify(): void {
    this.loop.notify();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    if (unlisten) await (await unlisten)();
  }
}
