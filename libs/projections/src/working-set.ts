import { AckRow, BehaviourRuleRow, DecisionRecord, GuestRow, HostRow, KernelRow } from './model';

function addTo(index: Map<string, Set<string>>, key: string | null, id: string): void {
  if (!key) return;
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(id);
}
function removeFrom(index: Map<string, Set<string>>, key: string | null, id: string): void {
  if (key) index.get(key)?.delete(id);
}

/**
 * The projection rows held in memory while events are applied: the whole projection (the
 * projector keeps it between batches; a rebuild fills it from nothing). The evolver changes
 * rows here and records decisions; the writer saves what changed in the batch. It keeps two
 * indexes so that fan-out (all guests of a host, all guests booting an image) never scans.
 */
export class WorkingSet {
  readonly kernels = new Map<string, KernelRow>();
  readonly hosts = new Map<string, HostRow>();
  readonly guests = new Map<string, GuestRow>();
  readonly acks = new Map<string, AckRow>();
  readonly rules = new Map<string, BehaviourRuleRow>();

  readonly dirtyKernels = new Set<string>();
  readonly dirtyHosts = new Set<string>();
  readonly dirtyGuests = new Set<string>();
  readonly dirtyAcks = new Set<string>();
  readonly dirtyRules = new Set<string>();
  /** Decisions and withdrawals made while applying the batch, in order. */
  readonly records: DecisionRecord[] = [];

  private readonly guestsByHost = new Map<string, Set<string>>();
  private readonly guestsByImage = new Map<string, Set<string>>();

  /** Forgets what the previous batch changed and decided (the rows stay). */
  beginBatch(): void {
    this.dirtyKernels.clear();
    this.dirtyHosts.clear();
    this.dirtyGuests.clear();
    this.dirtyAcks.clear();
    this.dirtyRules.clear();
    this.records.length = 0;
  }

  static ackKey(hostId: string, guestId: string): string {
    return `${hostId}\u0000${guestId}`;
  }

  /** Adds a row read from the database (not dirty). */
  loadGuest(row: GuestRow): void {
    if (this.guests.has(row.guestId)) return;
    this.guests.set(row.guestId, row);
    this.index(row);
  }

  /** Replaces (or creates) a guest and marks it for writing. */
  putGuest(row: GuestRow): void {
    const previous = this.guests.get(row.guestId);
    const moved = !previous || previous.hostId !== row.hostId || previous.kernelSha256 !== row.kernelSha256 || previous.bootloaderSha256 !== row.bootloaderSha256;
    if (previous && moved) this.unindex(previous);
    this.guests.set(row.guestId, row);
    if (moved) this.index(row);
    this.dirtyGuests.add(row.guestId);
  }

  putHost(row: HostRow): void {
    this.hosts.set(row.hostId, row);
    this.dirtyHosts.add(row.hostId);
  }

  putKernel(row: KernelRow): void {
    this.kernels.set(row.imageSha256, row);
    this.dirtyKernels.add(row.imageSha256);
  }

  putAck(row: AckRow): void {
    const key = WorkingSet.ackKey(row.hostId, row.guestId);
    this.acks.set(key, row);
    this.dirtyAcks.add(key);
  }

  putRule(row: BehaviourRuleRow): void {
    this.rules.set(row.key, row);
    this.dirtyRules.add(row.key);
  }

  /** Guests currently on the host (present or not), in id order for determinism. */
  guestsOnHost(hostId: string): GuestRow[] {
    return this.collect(this.guestsByHost.get(hostId));
  }

  /** Guests whose next kernel or bootloader is this image. */
  guestsUsingImage(sha: string): GuestRow[] {
    return this.collect(this.guestsByImage.get(sha));
  }

  allGuests(): GuestRow[] {
    return this.collect(new Set(this.guests.keys()));
  }

  private collect(ids: Set<string> | undefined): GuestRow[] {
    if (!ids) return [];
    return [...ids].sort().map((id) => this.guests.get(id)!);
  }

  private index(row: GuestRow): void {
    addTo(this.guestsByHost, row.hostId, row.guestId);
    addTo(this.guestsByImage, row.kernelSha256, row.guestId);
    addTo(this.guestsByImage, row.bootloaderSha256, row.guestId);
  }

  private unindex(row: GuestRow): void {
    removeFrom(this.guestsByHost, row.hostId, row.guestId);
    removeFrom(this.guestsByImage, row.kernelSha256, row.guestId);
    removeFrom(this.guestsByImage, row.bootloaderSha256, row.guestId);
  }
}
