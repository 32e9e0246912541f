// The projector's committed batches, read from the output of its processes: with two projector
// processes of a shard and the shard's advisory lock, no two committed batches of one shard may
// overlap in time (shards run side by side: each has its own lock and checkpoint).
//
// The check reads the line the projector writes per committed batch (libs/runtime projector.module.ts):
//
//   batch committed: events=N decisions=M started=<ISO> committing=<ISO> committed=<ISO> from=<txid>/<pos> checkpoint=<txid>/<pos>
//
//   started     wall clock right after pg_try_advisory_xact_lock answered true (the batch holds the lock)
//   committing  wall clock right before COMMIT is sent (it still holds it; the lock goes with the commit)
//   committed   wall clock after COMMIT returned (informational: another process may take the
//               lock between the server's commit and this process seeing it)
//   from        the checkpoint the batch read after (loadCheckpoint), checkpoint the one it saved
//   processor   (optional, before events=) the shard's checkpoint and lock name; absent: 'projector'
//
// logged only once the commit succeeded (as the message text: Nest's Logger, pino puts it in
// "msg"). ISO times as Date#toISOString gives them (ms); more fraction digits are used when
// given. Without `committing`, `committed` ends the interval (and the check says so).
import { StringDecoder } from 'node:string_decoder';
import { Check, InvariantResult } from './invariants';

export const BATCH_LINE_FORMAT =
  'batch committed: processor=<name> events=N decisions=M started=<ISO> committing=<ISO> committed=<ISO> from=<txid>/<pos> checkpoint=<txid>/<pos>';

interface Cp {
  readonly tx: bigint;
  readonly pos: bigint;
  readonly text: string;
}

export interface Batch {
  readonly instance: string;
  /** The shard's processor (checkpoint and lock name). */
  readonly processor: string;
  readonly events: number;
  readonly decisions: number;
  /** Microseconds since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly endField: 'committing' | 'committed';
  readonly from: Cp | null;
  readonly checkpoint: Cp;
  readonly text: string;
}

/** ISO 8601 UTC to microseconds since the epoch (fraction digits beyond ms kept). */
function micros(iso: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(iso);
  if (!m) return null;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(whole)) return null;
  const frac = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return whole * 1000 + Number(frac);
}

function cp(text: string | undefined): Cp | null {
  const m = /^(\d+)\/(\d+)$/.exec(text ?? '');
  return m ? { tx: BigInt(m[1]), pos: BigInt(m[2]), text: text! } : null;
}

function cmp(a: Cp, b: Cp): number {
  return a.tx !== b.tx ? (a.tx < b.tx ? -1 : 1) : a.pos !== b.pos ? (a.pos < b.pos ? -1 : 1) : 0;
}

const iso = (us: number) =>
  `${new Date(Math.floor(us / 1000)).toISOString().slice(0, -1)}${String(us % 1000).padStart(3, '0')}Z`;

/** Collects the batch lines of the projector processes, as their output arrives. */
export class BatchLog {
  readonly batches: Batch[] = [];
  readonly malformed: string[] = [];
  /** Lines of the projector's current per-batch format ("projected N events, ..."), counted to tell "not logged yet" from "no batches". */
  oldFormat = 0;
  private readonly decoders = new Map<string, { d: StringDecoder; buf: string }>();

  /** A chunk of one process's output (`stream` names the process and the pipe). */
  feed(instance: string, stream: string, chunk: Buffer): void {
    let s = this.decoders.get(stream);
    if (!s) this.decoders.set(stream, (s = { d: new StringDecoder('utf8'), buf: '' }));
    s.buf += s.d.write(chunk);
    let nl: number;
    while ((nl = s.buf.indexOf('\n')) >= 0) {
      this.line(instance, s.buf.slice(0, nl));
      s.buf = s.buf.slice(nl + 1);
    }
  }

  /** The process exited: a last line without its newline is dropped (a SIGKILL may cut it). */
  closed(stream: string): void {
    this.decoders.delete(stream);
  }

  line(instance: string, raw: string): void {
    if (!raw.includes('batch committed:')) {
      if (/projected \d+ events?, queued/.test(raw)) this.oldFormat++;
      return;
    }
    let text = raw;
    if (raw.trimStart().startsWith('{')) {
      try {
        const j = JSON.parse(raw);
        if (typeof j.msg === 'string') text = j.msg;
      } catch {
        /* not JSON: the raw line */
      }
    }
    const at = text.indexOf('batch committed:');
    const fields = new Map<string, string>();
    for (const m of text.slice(at + 'batch committed:'.length).matchAll(/(\w+)=(\S+)/g)) fields.set(m[1], m[2]);
    const start = micros(fields.get('started') ?? '');
    const committing = fields.has('committing') ? micros(fields.get('committing')!) : undefined;
    const committed = micros(fields.get('committed') ?? '');
    const checkpoint = cp(fields.get('checkpoint'));
    const from = fields.has('from') ? cp(fields.get('from')) : null;
    const events = Number(fields.get('events'));
    const decisions = Number(fields.get('decisions'));
    const end = committing ?? committed;
    if (
      start === null ||
      end === null ||
      committing === null ||
      committed === null ||
      !checkpoint ||
      (fields.has('from') && !from) ||
      !Number.isInteger(events) ||
      !Number.isInteger(decisions)
    ) {
      this.malformed.push(`${instance}: ${text.slice(at, at + 300)}`);
      return;
    }
    this.batches.push({
      instance,
      processor: fields.get('processor') ?? 'projector',
      events,
      decisions,
      start,
      end,
      endField: committing !== undefined ? 'committing' : 'committed',
      from,
      checkpoint,
      text: text.slice(at, at + 300),
    });
  }
}

/**
 * 4. No two committed projector batches overlap in time ([started, committing] intervals, on
 * the one clock of this machine), their checkpoints rise in the order they started (a batch of
 * no events, which only re-projects, keeps it), and no two batches that applied events start
 * from the same checkpoint, none from behind one already committed (events applied twice).
 */
export function checkBatchesDoNotOverlap(log: BatchLog, storeEvents: number): InvariantResult {
  const c = new Check(
    'projector: committed batches never overlap in time',
    `parses the projector processes' "${BATCH_LINE_FORMAT}" lines, per shard (processor=): sorted by started, no batch starts before every earlier one of its shard has reached committing (the lock goes with the commit), checkpoints rise in that order, no two batches that applied events start from the same checkpoint, none from behind the last committed one`,
  );
  for (const m of log.malformed) c.fail(`malformed batch line: ${m}`);
  const all = [...log.batches].sort((a, b) => a.start - b.start || a.end - b.end);
  c.count('committed batches logged', all.length);
  c.count("lines of the projector's older per-batch format (no times)", log.oldFormat);
  c.count(
    'events in the logged batches',
    all.reduce((s, b) => s + b.events, 0),
  );
  c.count('events in the store', storeEvents);
  if (all.length === 0) {
    c.fail(
      storeEvents === 0
        ? 'no events in the store, no batch: nothing was checked'
        : `no "batch committed:" line in the output of the projector processes (${log.oldFormat} lines of its current "projected N events, queued M decisions; checkpoint T/P" format, which has no start or commit time): the projector must log, per committed batch, "${BATCH_LINE_FORMAT}"`,
    );
    return c.result();
  }
  const processors = [...new Set(all.map((b) => b.processor))].sort();
  c.count('shards (processors) that logged batches', processors.length);
  for (const processor of processors)
    checkShard(
      c,
      processor,
      all.filter((b) => b.processor === processor),
    );
  return c.result();
}

/** The checks of one shard's batches (sorted by start). */
function checkShard(c: Check, processor: string, bs: readonly Batch[]): void {
  const fail = (text: string) => c.fail(`${processor}: ${text}`);
  const byEnd = bs.filter((b) => b.endField === 'committed').length;
  if (byEnd)
    c.count(
      `${processor}: batches without committing= (interval ends at committed: an overlap up to the commit acknowledgement is then not a fault)`,
      byEnd,
    );
  for (const b of bs)
    if (b.end < b.start)
      fail(`${b.instance}: batch ends (${b.endField} ${iso(b.end)}) before it started (${iso(b.start)}): ${b.text}`);

  let open: Batch | null = null; // the batch with the latest end so far
  let last: Batch | null = null; // the previous batch in start order
  const fromSeen = new Map<string, Batch>();
  let minGap = Infinity;
  let handovers = 0;
  for (const b of bs) {
    if (open && b.start < open.end) {
      fail(
        `overlap of ${((open.end - b.start) / 1000).toFixed(3)} ms: ${b.instance} started ${iso(b.start)} while ${open.instance}'s batch (started ${iso(open.start)}, ${open.endField} ${iso(open.end)}, checkpoint ${open.checkpoint.text}) had not committed; this one: ${b.text}`,
      );
    }
    if (last) {
      if (last.instance !== b.instance) {
        handovers++;
        minGap = Math.min(minGap, b.start - last.end);
      }
      // A batch that applied events moves the checkpoint; one of none (it only re-projected) leaves it.
      const rise = cmp(b.checkpoint, last.checkpoint);
      if (b.events > 0 ? rise <= 0 : rise < 0)
        fail(
          `${b.instance}: checkpoint ${b.checkpoint.text} ${b.events > 0 ? 'not above' : 'below'} that of the batch before it (${last.instance}, ${last.checkpoint.text}): ${b.text}`,
        );
      if (b.from) {
        const d = cmp(b.from, last.checkpoint);
        if (d < 0)
          fail(
            `${b.instance}: batch from ${b.from.text}, behind ${last.instance}'s committed checkpoint ${last.checkpoint.text} (events applied twice): ${b.text}`,
          );
        else if (d === 0) c.count(`${processor}: batches that start where the one before ended`);
        else
          c.count(
            `${processor}: batches that start past the one before (its line lost: killed between commit and log)`,
          );
      }
    }
    if (b.from && b.events === 0 && cmp(b.from, b.checkpoint) !== 0)
      fail(
        `${b.instance}: a batch of no events moved the checkpoint from ${b.from.text} to ${b.checkpoint.text}: ${b.text}`,
      );
    if (b.from && b.events > 0) {
      const same = fromSeen.get(b.from.text);
      if (same)
        fail(
          `two committed batches applied events from checkpoint ${b.from.text}: ${same.instance} (${same.text}) and ${b.instance} (${b.text})`,
        );
      fromSeen.set(b.from.text, b);
    }
    if (b.events === 0) c.count(`${processor}: batches of no events (the projection re-projected, checkpoint kept)`);
    if (!open || b.end > open.end) open = b;
    last = b;
  }
  const per = new Map<string, number>();
  for (const b of bs) per.set(b.instance, (per.get(b.instance) ?? 0) + 1);
  for (const [i, n] of [...per].sort()) c.count(`${processor}: batches by ${i}`, n);
  c.count(`${processor}: lock hand-overs (consecutive batches of different processes)`, handovers);
  if (handovers) c.count(`${processor}: smallest gap at a hand-over (µs)`, minGap);
}
