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

/** 43 base64url characters of exactly 32 bytes (a decisionKey as decisionKey() makes it). */
function keyBytes(s: string | null): Buffer | null {
  if (typeof s !== 'string' || s.length !== 43) return null;
  const b = Buffer.from(s, 'base64url');
  return b.length === KEY_BYTES && b.toString('base64url') === s ? b : null;
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
function grown<T extends Typed>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
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
  private capacity = 0;
  private count = 0;

  private readonly guests = new Interned();
  /** Per guest: its first view, the last sequence any of its views used. */
  private guestFirst = new Int32Array(0);
  private guestSequence = new Float64Array(0);

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
  private guestOf = new Int32Array(0);
  private hostOf = new Int32Array(0);
  private nextOfGuest = new Int32Array(0);
  private nextOnHost = new Int32Array(0);
  private kernel = new Int32Array(0);
  private bootloader = new Int32Array(0);
  private kernelNext = new Int32Array(0);
  private kernelPrev = new Int32Array(0);
  private bootloaderNext = new Int32Array(0);
  private bootloaderPrev = new Int32Array(0);
  private flags = new Uint8Array(0);
  private mode = new Uint8Array(0);
  private bootMethod = new Uint8Array(0);
  private status = new Uint8Array(0);
  private need = new Uint8Array(0);
  private presenceAt = new Float64Array(0);
  private observedAt = new Float64Array(0);
  private memoryMiB = new Float64Array(0);
  private sequence = new Float64Array(0);
  private observedEventPrefix = new Int32Array(0);
  private observedEventNumber = new Float64Array(0);
  private lastEventPrefix = new Int32Array(0);
  private lastEventNumber = new Float64Array(0);
  private decisionKey: Buffer = Buffer.alloc(0);
  /** Fields of a view kept as they are (they did not fit their column). */
  private readonly odd = new Map<View, Partial<GuestRow>>();

  private readonly dirtyViews = new Set<View>();
  private allDirty = false;

  get size(): number {
    return this.count;
  }

  viewOf(guestId: string, hostId: string): View | undefined {
    const g = this.guests.get(guestId);
    if (g === undefined) return undefined;
    const h = this.hosts.get(hostId);
    if (h === undefined) return undefined;
    for (let v = this.guestFirst[g]; v !== NONE; v = this.nextOfGuest[v]) if (this.hostOf[v] === h) return v;
    return undefined;
  }

  at(v: View): GuestRow {
    const f = this.flags[v];
    const row: GuestRow = {
      guestId: this.guests.values[this.guestOf[v]],
      hostId: this.hosts.values[this.hostOf[v]],
      present: (f & PRESENT) !== 0,
      presenceAt: new Date(this.presenceAt[v]).toISOString(),
      mode: this.modes.values[this.mode[v]] as GuestRow['mode'],
      memoryMiB: f & MEMORY_NULL ? null : this.memoryMiB[v],
      bootMethod: this.bootMethods.values[this.bootMethod[v]] as GuestRow['bootMethod'],
      kernelSha256: this.kernel[v] === NONE ? null : this.images.values[this.kernel[v]],
      bootloaderSha256: this.bootloader[v] === NONE ? null : this.images.values[this.bootloader[v]],
      observedAt: f & OBSERVED_AT_NULL ? null : new Date(this.observedAt[v]).toISOString(),
      observedEventId: this.eventId(this.observedEventPrefix[v], this.observedEventNumber[v]),
      status: this.statuses.values[this.status[v]] as GuestRow['status'],
      need: this.needs.values[this.need[v]] as GuestRow['need'],
      sequence: this.sequence[v],
      decisionId: null,
      decisionKey: f & KEY_NULL ? null : this.decisionKey.toString('base64url', v * KEY_BYTES, (v + 1) * KEY_BYTES),
      superpageLost: (f & SUPERPAGE_LOST) !== 0,
      lastEventId: this.eventId(this.lastEventPrefix[v], this.lastEventNumber[v]) as string,
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
    for (let v = this.hostFirst[h]; v !== NONE; v = this.nextOnHost[v]) views.push(v);
    return views;
  }

  usingImage(sha: string): View[] {
    const i = this.images.get(sha);
    const views: View[] = [];
    if (i === undefined || !sha) return views;
    for (let v = this.kernelFirst[i]; v !== NONE; v = this.kernelNext[v]) views.push(v);
    for (let v = this.bootloaderFirst[i]; v !== NONE; v = this.bootloaderNext[v])
      if (this.kernel[v] !== i) views.push(v);
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
      const ga = guestIds[this.guestOf[a]];
      const gb = guestIds[this.guestOf[b]];
      if (ga !== gb && (ga.includes('\u0000') || gb.includes('\u0000'))) {
        // the key's separator inside a guest id: compare the keys themselves
        const ka = `${ga}\u0000${hostIds[this.hostOf[a]]}`;
        const kb = `${gb}\u0000${hostIds[this.hostOf[b]]}`;
        return ka < kb ? -1 : ka > kb ? 1 : 0;
      }
      if (ga !== gb) return ga < gb ? -1 : 1;
      const ha = hostIds[this.hostOf[a]];
      const hb = hostIds[this.hostOf[b]];
      return ha < hb ? -1 : ha > hb ? 1 : 0;
    });
  }

  *all(): Iterable<View> {
    for (let v = 0; v < this.count; v++) yield v;
  }

  peekSequence(guestId: string): number {
    const g = this.guests.get(guestId);
    return g === undefined ? 0 : this.guestSequence[g];
  }

  raiseSequence(guestId: string, sequence: number): void {
    if (!(sequence > this.peekSequence(guestId))) return;
    this.guestSequence[this.guest(guestId)] = sequence;
  }

  dirty(): Iterable<View> {
    return this.allDirty ? this.all() : this.dirtyViews;
  }

  get dirtyCount(): number {
    return this.allDirty ? this.count : this.dirtyViews.size;
  }

  markAllDirty(): void {
    this.allDirty = true;
    this.dirtyViews.clear();
  }

  clearDirty(): void {
    this.allDirty = false;
    this.dirtyViews.clear();
  }

  /** The guest's index, made when new. */
  private guest(guestId: string): number {
    const g = this.guests.intern(guestId);
    if (g >= this.guestFirst.length) {
      const n = Math.max(16, Math.ceil(this.guestFirst.length * 1.5), g + 1);
      const first = new Int32Array(n).fill(NONE);
      first.set(this.guestFirst);
      this.guestFirst = first;
      this.guestSequence = grown(this.guestSequence, n);
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
    const wasPresent = !created && (this.flags[v] & PRESENT) !== 0;
    const kernel = this.image(row.kernelSha256);
    const bootloader = this.image(row.bootloaderSha256);
    if (created || kernel !== this.kernel[v] || bootloader !== this.bootloader[v]) {
      if (!created) this.unlinkImages(v);
      this.kernel[v] = kernel;
      this.bootloader[v] = bootloader;
      this.linkImages(v);
    }
    if (wasPresent !== row.present) this.hostPresent[this.hostOf[v]] += row.present ? 1 : -1;
    this.encode(v, row);
    this.raiseSequence(row.guestId, row.sequence);
    if (dirty && !this.allDirty) this.dirtyViews.add(v);
    return v;
  }

  private create(guestId: string, hostId: string): View {
    if (this.count === this.capacity) this.grow(Math.max(1024, Math.ceil(this.capacity * 1.5)));
    const v = this.count++;
    const g = this.guest(guestId);
    const h = this.host(hostId);
    this.guestOf[v] = g;
    this.hostOf[v] = h;
    this.nextOfGuest[v] = this.guestFirst[g];
    this.guestFirst[g] = v;
    if (hostId) {
      this.nextOnHost[v] = this.hostFirst[h];
      this.hostFirst[h] = v;
    } else this.nextOnHost[v] = NONE;
    return v;
  }

  /** Room for `n` views. */
  private grow(n: number): void {
    this.guestOf = grown(this.guestOf, n);
    this.hostOf = grown(this.hostOf, n);
    this.nextOfGuest = grown(this.nextOfGuest, n);
    this.nextOnHost = grown(this.nextOnHost, n);
    this.kernel = grown(this.kernel, n);
    this.bootloader = grown(this.bootloader, n);
    this.kernelNext = grown(this.kernelNext, n);
    this.kernelPrev = grown(this.kernelPrev, n);
    this.bootloaderNext = grown(this.bootloaderNext, n);
    this.bootloaderPrev = grown(this.bootloaderPrev, n);
    this.flags = grown(this.flags, n);
    this.mode = grown(this.mode, n);
    this.bootMethod = grown(this.bootMethod, n);
    this.status = grown(this.status, n);
    this.need = grown(this.need, n);
    this.presenceAt = grown(this.presenceAt, n);
    this.observedAt = grown(this.observedAt, n);
    this.memoryMiB = grown(this.memoryMiB, n);
    this.sequence = grown(this.sequence, n);
    this.observedEventPrefix = grown(this.observedEventPrefix, n);
    this.observedEventNumber = grown(this.observedEventNumber, n);
    this.lastEventPrefix = grown(this.lastEventPrefix, n);
    this.lastEventNumber = grown(this.lastEventNumber, n);
    const keys = Buffer.alloc(n * KEY_BYTES);
    this.decisionKey.copy(keys);
    this.decisionKey = keys;
    this.capacity = n;
  }

  // The image lists skip an empty hash, as the Sets of keys they replace did.
  private linkImages(v: View): void {
    const k = this.kernel[v];
    if (k !== NONE && this.images.values[k]) {
      const first = this.kernelFirst[k];
      this.kernelPrev[v] = NONE;
      this.kernelNext[v] = first;
      if (first !== NONE) this.kernelPrev[first] = v;
      this.kernelFirst[k] = v;
    }
    const b = this.bootloader[v];
    if (b !== NONE && this.images.values[b]) {
      const first = this.bootloaderFirst[b];
      this.bootloaderPrev[v] = NONE;
      this.bootloaderNext[v] = first;
      if (first !== NONE) this.bootloaderPrev[first] = v;
      this.bootloaderFirst[b] = v;
    }
  }

  private unlinkImages(v: View): void {
    const k = this.kernel[v];
    if (k !== NONE && this.images.values[k]) {
      const prev = this.kernelPrev[v];
      const next = this.kernelNext[v];
      if (prev !== NONE) this.kernelNext[prev] = next;
      else this.kernelFirst[k] = next;
      if (next !== NONE) this.kernelPrev[next] = prev;
    }
    const b = this.bootloader[v];
    if (b !== NONE && this.images.values[b]) {
      const prev = this.bootloaderPrev[v];
      const next = this.bootloaderNext[v];
      if (prev !== NONE) this.bootloaderNext[prev] = next;
      else this.bootloaderFirst[b] = next;
      if (next !== NONE) this.bootloaderPrev[next] = prev;
    }
  }

  /** The columns of the row's fields (guest, host and images are set by store). */
  private encode(v: View, row: GuestRow): void {
    let odd: Partial<GuestRow> | undefined;
    let f = (row.present ? PRESENT : 0) | (row.superpageLost ? SUPERPAGE_LOST : 0);

    const presenceAt = exactInstant(row.presenceAt);
    if (presenceAt === presenceAt) this.presenceAt[v] = presenceAt;
    else (odd ??= {}).presenceAt = row.presenceAt;

    if (row.observedAt === null) f |= OBSERVED_AT_NULL;
    else {
      const observedAt = exactInstant(row.observedAt);
      if (observedAt === observedAt) this.observedAt[v] = observedAt;
      else (odd ??= {}).observedAt = row.observedAt;
    }

    if (row.memoryMiB === null) f |= MEMORY_NULL;
    else this.memoryMiB[v] = row.memoryMiB;
    this.sequence[v] = row.sequence;

    const mode = this.modes.code(row.mode);
    if (mode === NONE) (odd ??= {}).mode = row.mode;
    this.mode[v] = Math.max(mode, 0);
    const bootMethod = this.bootMethods.code(row.bootMethod);
    if (bootMethod === NONE) (odd ??= {}).bootMethod = row.bootMethod;
    this.bootMethod[v] = Math.max(bootMethod, 0);
    const status = this.statuses.code(row.status);
    if (status === NONE) (odd ??= {}).status = row.status;
    this.status[v] = Math.max(status, 0);
    const need = this.needs.code(row.need);
    if (need === NONE) (odd ??= {}).need = row.need;
    this.need[v] = Math.max(need, 0);

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
      const bytes = keyBytes(row.decisionKey);
      if (bytes) bytes.copy(this.decisionKey, v * KEY_BYTES);
      else {
        (odd ??= {}).decisionKey = row.decisionKey;
        f |= KEY_NULL;
      }
    }

    this.flags[v] = f;
    if (odd) this.odd.set(v, odd);
    else if (this.odd.size) this.odd.delete(v);
  }

  /**
   * An eventId as a prefix code and a number: "fleet-ev-000123" is ("fleet-ev-", 6 digits)
   * and 123. Prefix code 0 is null. False when the id has no such form (kept as it is).
   */
  private encodeEventId(id: string | null, prefixes: Int32Array, numbers: Float64Array, v: View): boolean {
    if (id === null) {
      prefixes[v] = 0;
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
    prefixes[v] = code;
    numbers[v] = Number(id.slice(start));
    return true;
  }

  private eventId(code: number, n: number): string | null {
    if (code === 0) return null;
    return this.idPrefix[code] + String(n).padStart(this.idWidth[code], '0');
  }
}
