import { decisionIdOf, GuestRow } from './model';

/**
 * The host views of guests a working set holds, with what indexes them: the bulk of the
 * projector's memory (one view per guest and host that reported it, a million and more).
 * A view has a handle (`View`, a small integer, stable for the life of the store: views are
 * never removed, a removal is a view with `present` false). Rows go in and come out as
 * GuestRow objects; how they are kept in between is the store's.
 */
export type View = number;

/** What a working set needs of its guest views (ColumnarGuestViews; tests also use a plain Map). */
export interface GuestViews {
  /** How many views. */
  readonly size: number;
  viewOf(guestId: string, hostId: string): View | undefined;
  /** The row of a view (a new object each call: change it and put it back). */
  at(view: View): GuestRow;
  /** Adds a row read from the database, unless its view is there already; not dirty. */
  load(row: GuestRow): void;
  /** Replaces (or creates) the view of the row, marks it dirty, and returns it. */
  put(row: GuestRow): View;
  /** Views of the host (present or not), in no order. */
  onHost(hostId: string): View[];
  /** Views whose kernel or bootloader is the image, in no order, each once. */
  usingImage(sha: string): View[];
  presentOnHost(hostId: string): number;
  /** The views in the order of their keys, viewKey(guestId, hostId). */
  sorted(views: Iterable<View>): View[];
  /** Every view, in the order they were first stored. */
  all(): Iterable<View>;
  peekSequence(guestId: string): number;
  raiseSequence(guestId: string, sequence: number): void;
  /** Views put since clearDirty (every view after markAllDirty), in the order first put. */
  dirty(): Iterable<View>;
  readonly dirtyCount: number;
  markAllDirty(): void;
  clearDirty(): void;
}

const NONE = -1;

// bits of a view's flags
const PRESENT = 1;
const SUPERPAGE_LOST = 2;
const MEMORY_NULL = 4;
const OBSERVED_AT_NULL = 8;
const KEY_NULL = 16;
/** decisionId is decisionIdOf(guestId, sequence) (else null, or kept as it is among the odd fields). */
const DECISION_ID = 32;

/** Bytes of a decisionKey (a SHA-256 digest, base64url in the row). */
const KEY_BYTES = 32;
/** Distinct eventId prefixes kept as a dictionary; ids of other prefixes are kept as they are. */
const MAX_ID_PREFIXES = 1 << 16;
/** Digits an eventId's number may have and stay exact as a double. */
const MAX_ID_DIGITS = 15;

/** The instant of an ISO time when the time is exactly how toISOString writes it, else NaN. */
function exactInstant(s: string | null): number {
  if (typeof s !== 'string' || s.length !== 24) return NaN;
  const ms = Date.parse(s);
  return ms === ms && new Date(ms).toISOString() === s ? ms : NaN;
}

/**
 * exactInstant and toISOString with the last answer kept: the guests of one inventory report
 * share their times, so most rows of a batch repeat the previous row's (parsing and printing
 * dates was about 8% of a rebuild's CPU). One per column, so that two columns do not evict
 * each other.
 */
class InstantText {
  private lastText = '';
  private lastMs = NaN;
  /** exactInstant(s) */
  instant(s: string | null): number {
    if (s === this.lastText) return this.lastMs;
    const ms = exactInstant(s);
    if (ms === ms) {
      this.lastText = s as string;
      this.lastMs = ms;
    }
    return ms;
  }
  /** new Date(ms).toISOString() */
  text(ms: number): string {
    if (ms !== this.lastMs) {
      this.lastText = new Date(ms).toISOString();
      this.lastMs = ms;
    }
    return this.lastText;
  }
}

/** Strings given a small code each (0: null); past `max` codes, none. */
class Codes {
  readonly values: (string | null)[] = [null];
  private readonly index = new Map<string, number>();
  constructor(private readonly max: number) {}
  /** The code of the value, or -1 when there is no room for another. */
  code(value: string | null): number {
    if (value === null) return 0;
    let c = this.index.get(value);
    if (c === undefined) {
      if (this.values.length > this.max) return NONE;
      c = this.values.length;
      this.values.push(value);
      this.index.set(value, c);
    }
    return c;
  }
}

/** Interned strings (hosts, images, guests): one copy each, with an index. */
class Interned {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();
  get(s: string): number | undefined {
    return this.index.get(s);
  }
  intern(s: string): number {
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

type Typed = Int32Array | Uint8Array | Float64Array;

/** Values per chunk of a column (the first chunk grows up to this; the others are made whole). */
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;
const IN_CHUNK = CHUNK - 1;

/**
 * A column of numbers in chunks: growing never copies more than the first chunk, so a store
 * of a million views never holds an old and a new copy of its columns at once.
 */
class Column<T extends Typed> {
  private readonly chunks: T[] = [];
  private room = 0;
  constructor(
    private readonly Type: new (n: number) => T,
    private readonly initial = 0,
  ) {}
  get(i: number): number {
    return this.chunks[i >>> CHUNK_BITS][i & IN_CHUNK];
  }
  set(i: number, value: number): void {
    this.chunks[i >>> CHUNK_BITS][i & IN_CHUNK] = value;
  }
  /** Room for values 0..n-1 (new ones `initial`). */
  reserve(n: number): void {
    while (this.room < n) {
      if (this.room < CHUNK) {
        const size = Math.min(CHUNK, Math.max(256, this.room * 2, n));
        const chunk = new this.Type(size);
        if (this.initial) chunk.fill(this.initial);
        if (this.chunks.length) chunk.set(this.chunks[0]);
        this.chunks[0] = chunk;
        this.room = size;
      } else {
        const chunk = new this.Type(CHUNK);
        if (this.initial) chunk.fill(this.initial);
        this.chunks.push(chunk);
        this.room += CHUNK;
      }
    }
  }
}

/** Decision keys as their 32 bytes, in chunks (as Column). */
class KeyColumn {
  private readonly chunks: Buffer[] = [];
  private room = 0;
  /** Writes the key; false when it is not 43 base64url characters of exactly 32 bytes. */
  write(i: number, key: string): boolean {
    if (key.length !== 43) return false;
    const chunk = this.chunks[i >>> CHUNK_BITS];
    const at = (i & IN_CHUNK) * KEY_BYTES;
    return chunk.write(key, at, KEY_BYTES, 'base64url') === KEY_BYTES && this.read(i) === key;
  }
  read(i: number): string {
    const at = (i & IN_CHUNK) * KEY_BYTES;
    return this.chunks[i >>> CHUNK_BITS].toString('base64url', at, at + KEY_BYTES);
  }
  reserve(n: number): void {
    while (this.room < n) {
      if (this.room < CHUNK) {
        const size = Math.min(CHUNK, Math.max(256, this.room * 2, n));
        const chunk = Buffer.alloc(size * KEY_BYTES);
        if (this.chunks.length) this.chunks[0].copy(chunk);
        this.chunks[0] = chunk;
        this.room = size;
      } else {
        this.chunks.push(Buffer.alloc(CHUNK * KEY_BYTES));
        this.room += CHUNK;
      }
    }
  }
}

/**
 * Guest views in columns: typed arrays indexed by view, strings interned (a host id, an
 * image hash, a guest id, an eventId's prefix: one string each), times as the instant they
 * are (when the row's text is exactly toISOString's), a decisionKey as its 32 bytes, an
 * eventId as its prefix and number, a decisionId as "derived from the guest and sequence".
 * A value that does not fit its column's form (a time with an offset, an id of another
 * shape) is kept as it is, beside the columns, so that every row comes back exactly as it
 * was put. Indexes are lists threaded through the columns (views of a host; views of an
 * image, doubly linked, as a view's kernel changes), never Sets of keys.
 */
export class ColumnarGuestViews implements GuestViews {
  private count = 0;
  private guestCount = 0;

  private readonly guests = new Interned();
  /** Per guest: its first view, the last sequence any of its views used. */
  private readonly guestFirst = new Column(Int32Array, NONE);
  private readonly guestSequence = new Column(Float64Array);

  private readonly hosts = new Interned();
  private readonly hostFirst: number[] = [];
  private readonly hostPresent: number[] = [];

  private readonly images = new Interned();
  private readonly kernelFirst: number[] = [];
  private readonly bootloaderFirst: number[] = [];

  private readonly modes = new Codes(254);
  private readonly bootMethods = new Codes(254);
  private readonly statuses = new Codes(254);
  private readonly needs = new Codes(254);
  private readonly idPrefixes = new Codes(MAX_ID_PREFIXES);
  /** Per eventId prefix code: the prefix, and the width of its number (zero-padded). */
  private readonly idPrefix: string[] = [''];
  private readonly idWidth: number[] = [0];

  // per view
  private readonly guestOf = new Column(Int32Array);
  private readonly hostOf = new Column(Int32Array);
  private readonly nextOfGuest = new Column(Int32Array);
  private readonly nextOnHost = new Column(Int32Array);
  private readonly kernel = new Column(Int32Array);
  private readonly bootloader = new Column(Int32Array);
  private readonly kernelNext = new Column(Int32Array);
  private readonly kernelPrev = new Column(Int32Array);
  private readonly bootloaderNext = new Column(Int32Array);
  private readonly bootloaderPrev = new Column(Int32Array);
  private readonly flags = new Column(Uint8Array);
  private readonly mode = new Column(Uint8Array);
  private readonly bootMethod = new Column(Uint8Array);
  private readonly status = new Column(Uint8Array);
  private readonly need = new Column(Uint8Array);
  private readonly presenceAt = new Column(Float64Array);
  private readonly observedAt = new Column(Float64Array);
  private readonly presenceText = new InstantText();
  private readonly observedText = new InstantText();
  private readonly memoryMiB = new Column(Float64Array);
  private readonly sequence = new Column(Float64Array);
  private readonly observedEventPrefix = new Column(Int32Array);
  private readonly observedEventNumber = new Column(Float64Array);
  private readonly lastEventPrefix = new Column(Int32Array);
  private readonly lastEventNumber = new Column(Float64Array);
  private readonly decisionKey = new KeyColumn();
  /** Fields of a view kept as they are (they did not fit their column). */
  private readonly odd = new Map<View, Partial<GuestRow>>();

  /** Views put since clearDirty, besides those below dirtyBelow (every view markAllDirty found). */
  private readonly dirtyViews = new Set<View>();
  private dirtyBelow = 0;

  get size(): number {
    return this.count;
  }

  viewOf(guestId: string, hostId: string): View | undefined {
    const g = this.guests.get(guestId);
    if (g === undefined) return undefined;
    const h = this.hosts.get(hostId);
    if (h === undefined) return undefined;
    for (let v = this.guestFirst.get(g); v !== NONE; v = this.nextOfGuest.get(v))
      if (this.hostOf.get(v) === h) return v;
    return undefined;
  }

  at(v: View): GuestRow {
    const f = this.flags.get(v);
    const row: GuestRow = {
      guestId: this.guests.values[this.guestOf.get(v)],
      hostId: this.hosts.values[this.hostOf.get(v)],
      present: (f & PRESENT) !== 0,
      presenceAt: this.presenceText.text(this.presenceAt.get(v)),
      mode: this.modes.values[this.mode.get(v)] as GuestRow['mode'],
      memoryMiB: f & MEMORY_NULL ? null : this.memoryMiB.get(v),
      bootMethod: this.bootMethods.values[this.bootMethod.get(v)] as GuestRow['bootMethod'],
      kernelSha256: this.kernel.get(v) === NONE ? null : this.images.values[this.kernel.get(v)],
      bootloaderSha256: this.bootloader.get(v) === NONE ? null : this.images.values[this.bootloader.get(v)],
      observedAt: f & OBSERVED_AT_NULL ? null : this.observedText.text(this.observedAt.get(v)),
      observedEventId: this.eventId(this.observedEventPrefix.get(v), this.observedEventNumber.get(v)),
      status: this.statuses.values[this.status.get(v)] as GuestRow['status'],
      need: this.needs.values[this.need.get(v)] as GuestRow['need'],
      sequence: this.sequence.get(v),
      decisionId: null,
      decisionKey: f & KEY_NULL ? null : this.decisionKey.read(v),
      superpageLost: (f & SUPERPAGE_LOST) !== 0,
      lastEventId: this.eventId(this.lastEventPrefix.get(v), this.lastEventNumber.get(v)) as string,
    };
    if (this.odd.size) {
      const odd = this.odd.get(v);
      if (odd) Object.assign(row, odd);
    }
    if (f & DECISION_ID) row.decisionId = decisionIdOf(row.guestId, row.sequence);
    return row;
  }

  load(row: GuestRow): void {
    if (this.viewOf(row.guestId, row.hostId) !== undefined) return;
    this.store(row, false);
  }

  put(row: GuestRow): View {
    return this.store(row, true);
  }

  onHost(hostId: string): View[] {
    const h = this.hosts.get(hostId);
    const views: View[] = [];
    if (h === undefined || !hostId) return views;
    for (let v = this.hostFirst[h]; v !== NONE; v = this.nextOnHost.get(v)) views.push(v);
    return views;
  }

  usingImage(sha: string): View[] {
    const i = this.images.get(sha);
    const views: View[] = [];
    if (i === undefined || !sha) return views;
    for (let v = this.kernelFirst[i]; v !== NONE; v = this.kernelNext.get(v)) views.push(v);
    for (let v = this.bootloaderFirst[i]; v !== NONE; v = this.bootloaderNext.get(v))
      if (this.kernel.get(v) !== i) views.push(v);
    return views;
  }

  presentOnHost(hostId: string): number {
    const h = this.hosts.get(hostId);
    return h === undefined ? 0 : this.hostPresent[h];
  }

  sorted(views: Iterable<View>): View[] {
    const guestIds = this.guests.values;
    const hostIds = this.hosts.values;
    return [...views].sort((a, b) => {
      const ga = guestIds[this.guestOf.get(a)];
      const gb = guestIds[this.guestOf.get(b)];
      if (ga !== gb && (ga.includes('\u0000') || gb.includes('\u0000'))) {
        // the key's separator inside a guest id: compare the keys themselves
        const ka = `${ga}\u0000${hostIds[this.hostOf.get(a)]}`;
        const kb = `${gb}\u0000${hostIds[this.hostOf.get(b)]}`;
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      }
      if (ga !== gb) return ga < gb ? -1 : 1;
      const ha = hostIds[this.hostOf.get(a)];
      const hb = hostIds[this.hostOf.get(b)];
      return ha < hb ? -1 : ha > hb ? 1 : 0;
    });
  }

  *all(): Iterable<View> {
    for (let v = 0; v < this.count; v++) yield v;
  }

  peekSequence(guestId: string): number {
    const g = this.guests.get(guestId);
    return g === undefined ? 0 : this.guestSequence.get(g);
  }

  raiseSequence(guestId: string, sequence: number): void {
    if (!(sequence > this.peekSequence(guestId))) return;
    this.guestSequence.set(this.guest(guestId), sequence);
  }

  *dirty(): Iterable<View> {
    for (let v = 0; v < this.dirtyBelow; v++) yield v;
    yield* this.dirtyViews;
  }

  get dirtyCount(): number {
    return this.dirtyBelow + this.dirtyViews.size;
  }

  markAllDirty(): void {
    this.dirtyBelow = this.count;
    this.dirtyViews.clear();
  }

  clearDirty(): void {
    this.dirtyBelow = 0;
    this.dirtyViews.clear();
  }

  /** The guest's index, made when new. */
  private guest(guestId: string): number {
    const g = this.guests.intern(guestId);
    if (g === this.guestCount) {
      this.guestCount++;
      this.guestFirst.reserve(this.guestCount);
      this.guestSequence.reserve(this.guestCount);
    }
    return g;
  }

  private host(hostId: string): number {
    const h = this.hosts.intern(hostId);
    if (h === this.hostFirst.length) {
      this.hostFirst.push(NONE);
      this.hostPresent.push(0);
    }
    return h;
  }

  private image(sha: string | null): number {
    if (sha === null) return NONE;
    const i = this.images.intern(sha);
    if (i === this.kernelFirst.length) {
      this.kernelFirst.push(NONE);
      this.bootloaderFirst.push(NONE);
    }
    return i;
  }

  private store(row: GuestRow, dirty: boolean): View {
    let v = this.viewOf(row.guestId, row.hostId);
    const created = v === undefined;
    if (v === undefined) v = this.create(row.guestId, row.hostId);
    const wasPresent = !created && (this.flags.get(v) & PRESENT) !== 0;
    const kernel = this.image(row.kernelSha256);
    const bootloader = this.image(row.bootloaderSha256);
    if (created || kernel !== this.kernel.get(v) || bootloader !== this.bootloader.get(v)) {
      if (!created) this.unlinkImages(v);
      this.kernel.set(v, kernel);
      this.bootloader.set(v, bootloader);
      this.linkImages(v);
    }
    if (wasPresent !== row.present) this.hostPresent[this.hostOf.get(v)] += row.present ? 1 : -1;
    this.encode(v, row);
    this.raiseSequence(row.guestId, row.sequence);
    if (dirty && v >= this.dirtyBelow) this.dirtyViews.add(v);
    return v;
  }

  private create(guestId: string, hostId: string): View {
    const v = this.count++;
    this.reserve(this.count);
    const g = this.guest(guestId);
    const h = this.host(hostId);
    this.guestOf.set(v, g);
    this.hostOf.set(v, h);
    this.nextOfGuest.set(v, this.guestFirst.get(g));
    this.guestFirst.set(g, v);
    if (hostId) {
      this.nextOnHost.set(v, this.hostFirst[h]);
      this.hostFirst[h] = v;
    } else this.nextOnHost.set(v, NONE);
    return v;
  }

  /** Room for `n` views. */
  private reserve(n: number): void {
    for (const column of [
      this.guestOf,
      this.hostOf,
      this.nextOfGuest,
      this.nextOnHost,
      this.kernel,
      this.bootloader,
      this.kernelNext,
      this.kernelPrev,
      this.bootloaderNext,
      this.bootloaderPrev,
      this.flags,
      this.mode,
      this.bootMethod,
      this.status,
      this.need,
      this.presenceAt,
      this.observedAt,
      this.memoryMiB,
      this.sequence,
      this.observedEventPrefix,
      this.observedEventNumber,
      this.lastEventPrefix,
      this.lastEventNumber,
      this.decisionKey,
    ])
      column.reserve(n);
  }

  // The image lists skip an empty hash, as the Sets of keys they replace did.
  private linkImages(v: View): void {
    const k = this.kernel.get(v);
    if (k !== NONE && this.images.values[k]) {
      const first = this.kernelFirst[k];
      this.kernelPrev.set(v, NONE);
      this.kernelNext.set(v, first);
      if (first !== NONE) this.kernelPrev.set(first, v);
      this.kernelFirst[k] = v;
    }
    const b = this.bootloader.get(v);
    if (b !== NONE && this.images.values[b]) {
      const first = this.bootloaderFirst[b];
      this.bootloaderPrev.set(v, NONE);
      this.bootloaderNext.set(v, first);
      if (first !== NONE) this.bootloaderPrev.set(first, v);
      this.bootloaderFirst[b] = v;
    }
  }

  private unlinkImages(v: View): void {
    const k = this.kernel.get(v);
    if (k !== NONE && this.images.values[k]) {
      const prev = this.kernelPrev.get(v);
      const next = this.kernelNext.get(v);
      if (prev !== NONE) this.kernelNext.set(prev, next);
      else this.kernelFirst[k] = next;
      if (next !== NONE) this.kernelPrev.set(next, prev);
    }
    const b = this.bootloader.get(v);
    if (b !== NONE && this.images.values[b]) {
      const prev = this.bootloaderPrev.get(v);
      const next = this.bootloaderNext.get(v);
      if (prev !== NONE) this.bootloaderNext.set(prev, next);
      else this.bootloaderFirst[b] = next;
      if (next !== NONE) this.bootloaderPrev.set(next, prev);
    }
  }

  /** The columns of the row's fields (guest, host and images are set by store). */
  private encode(v: View, row: GuestRow): void {
    let odd: Partial<GuestRow> | undefined;
    let f = (row.present ? PRESENT : 0) | (row.superpageLost ? SUPERPAGE_LOST : 0);

    const presenceAt = this.presenceText.instant(row.presenceAt);
    if (presenceAt === presenceAt) this.presenceAt.set(v, presenceAt);
    else (odd ??= {}).presenceAt = row.presenceAt;

    if (row.observedAt === null) f |= OBSERVED_AT_NULL;
    else {
      const observedAt = this.observedText.instant(row.observedAt);
      if (observedAt === observedAt) this.observedAt.set(v, observedAt);
      else (odd ??= {}).observedAt = row.observedAt;
    }

    if (row.memoryMiB === null) f |= MEMORY_NULL;
    else this.memoryMiB.set(v, row.memoryMiB);
    this.sequence.set(v, row.sequence);

    const mode = this.modes.code(row.mode);
    if (mode === NONE) (odd ??= {}).mode = row.mode;
    this.mode.set(v, Math.max(mode, 0));
    const bootMethod = this.bootMethods.code(row.bootMethod);
    if (bootMethod === NONE) (odd ??= {}).bootMethod = row.bootMethod;
    this.bootMethod.set(v, Math.max(bootMethod, 0));
    const status = this.statuses.code(row.status);
    if (status === NONE) (odd ??= {}).status = row.status;
    this.status.set(v, Math.max(status, 0));
    const need = this.needs.code(row.need);
    if (need === NONE) (odd ??= {}).need = row.need;
    this.need.set(v, Math.max(need, 0));

    if (!this.encodeEventId(row.observedEventId, this.observedEventPrefix, this.observedEventNumber, v))
      (odd ??= {}).observedEventId = row.observedEventId;
    if (!this.encodeEventId(row.lastEventId, this.lastEventPrefix, this.lastEventNumber, v))
      (odd ??= {}).lastEventId = row.lastEventId;

    if (row.decisionId !== null) {
      if (row.decisionId === decisionIdOf(row.guestId, row.sequence)) f |= DECISION_ID;
      else (odd ??= {}).decisionId = row.decisionId;
    }

    if (row.decisionKey === null) f |= KEY_NULL;
    else {
      if (!this.decisionKey.write(v, row.decisionKey)) {
        (odd ??= {}).decisionKey = row.decisionKey;
        f |= KEY_NULL;
      }
    }

    this.flags.set(v, f);
    if (odd) this.odd.set(v, odd);
    else if (this.odd.size) this.odd.delete(v);
  }

  /**
   * An eventId as a prefix code and a number: "fleet-ev-000123" is ("fleet-ev-", 6 digits)
   * and 123. Prefix code 0 is null. False when the id has no such form (kept as it is).
   */
  private encodeEventId(
    id: string | null,
    prefixes: Column<Int32Array>,
    numbers: Column<Float64Array>,
    v: View,
  ): boolean {
    if (id === null) {
      prefixes.set(v, 0);
      return true;
    }
    let start = id.length;
    while (start > 0 && id.length - start < MAX_ID_DIGITS) {
      const c = id.charCodeAt(start - 1);
      if (c < 48 || c > 57) break;
      start--;
    }
    const width = id.length - start;
    if (width === 0) return false;
    const code = this.idPrefixes.code(`${width}:${id.slice(0, start)}`);
    if (code === NONE) return false;
    if (code === this.idWidth.length) {
      this.idPrefix.push(id.slice(0, start));
      this.idWidth.push(width);
    }
    prefixes.set(v, code);
    numbers.set(v, Number(id.slice(start)));
    return true;
  }

  private eventId(code: number, n: number): string | null {
    if (code === 0) return null;
    return this.idPrefix[code] + String(n).padStart(this.idWidth[code], '0');
  }
}
