// Guest views as plain Maps of GuestRow objects (what the working set held before the
// columnar store): the reference the tests compare ColumnarGuestViews with (tests only; not
// exported from index.ts).
import { GuestViews, View } from './guest-views';
import { GuestRow, viewKey } from './model';

function addTo(index: Map<string, Set<string>>, key: string | null, id: string): void {
  if (!key) return;
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(id);
}
function removeFrom(index: Map<string, Set<string>>, key: string | null, id: string): void {
  if (key) index.get(key)?.delete(id);
}

export class MapGuestViews implements GuestViews {
  private readonly guests = new Map<string, GuestRow>();
  /** A view is the index of its key here, in the order first stored. */
  private readonly keys: string[] = [];
  private readonly views = new Map<string, View>();
  private readonly sequences = new Map<string, number>();
  private readonly guestsByHost = new Map<string, Set<string>>();
  private readonly presentCount = new Map<string, number>();
  private readonly guestsByImage = new Map<string, Set<string>>();
  private readonly dirtyKeys = new Set<string>();

  get size(): number {
    return this.guests.size;
  }
  viewOf(guestId: string, hostId: string): View | undefined {
    return this.views.get(viewKey(guestId, hostId));
  }
  at(view: View): GuestRow {
    return this.guests.get(this.keys[view])!;
  }
  load(row: GuestRow): void {
    const key = viewKey(row.guestId, row.hostId);
    if (this.guests.has(key)) return;
    this.set(key, row);
    this.raiseSequence(row.guestId, row.sequence);
    this.index(key, row);
    if (row.present) this.countPresent(row.hostId, 1);
  }
  put(row: GuestRow): View {
    const key = viewKey(row.guestId, row.hostId);
    const previous = this.guests.get(key);
    const moved =
      !previous || previous.kernelSha256 !== row.kernelSha256 || previous.bootloaderSha256 !== row.bootloaderSha256;
    if (previous && moved) this.unindex(key, previous);
    if (Boolean(previous?.present) !== row.present) this.countPresent(row.hostId, row.present ? 1 : -1);
    this.set(key, row);
    if (moved) this.index(key, row);
    this.raiseSequence(row.guestId, row.sequence);
    this.dirtyKeys.add(key);
    return this.views.get(key)!;
  }
  onHost(hostId: string): View[] {
    return [...(this.guestsByHost.get(hostId) ?? [])].map((k) => this.views.get(k)!);
  }
  usingImage(sha: string): View[] {
    return [...(this.guestsByImage.get(sha) ?? [])].map((k) => this.views.get(k)!);
  }
  presentOnHost(hostId: string): number {
    return this.presentCount.get(hostId) ?? 0;
  }
  sorted(views: Iterable<View>): View[] {
    return [...views]
      .map((v) => this.keys[v])
      .sort()
      .map((k) => this.views.get(k)!);
  }
  all(): Iterable<View> {
    return [...this.guests.keys()].map((k) => this.views.get(k)!);
  }
  peekSequence(guestId: string): number {
    return this.sequences.get(guestId) ?? 0;
  }
  raiseSequence(guestId: string, sequence: number): void {
    if (sequence > this.peekSequence(guestId)) this.sequences.set(guestId, sequence);
  }
  dirty(): Iterable<View> {
    return [...this.dirtyKeys].map((k) => this.views.get(k)!);
  }
  get dirtyCount(): number {
    return this.dirtyKeys.size;
  }
  markAllDirty(): void {
    for (const k of this.guests.keys()) this.dirtyKeys.add(k);
  }
  clearDirty(): void {
    this.dirtyKeys.clear();
  }

  private set(key: string, row: GuestRow): void {
    if (!this.views.has(key)) {
      this.views.set(key, this.keys.length);
      this.keys.push(key);
    }
    this.guests.set(key, row);
  }
  private countPresent(hostId: string, delta: number): void {
    this.presentCount.set(hostId, (this.presentCount.get(hostId) ?? 0) + delta);
  }
  private index(key: string, row: GuestRow): void {
    addTo(this.guestsByHost, row.hostId, key);
    addTo(this.guestsByImage, row.kernelSha256, key);
    addTo(this.guestsByImage, row.bootloaderSha256, key);
  }
  private unindex(key: string, row: GuestRow): void {
    removeFrom(this.guestsByImage, row.kernelSha256, key);
    removeFrom(this.guestsByImage, row.bootloaderSha256, key);
  }
}
