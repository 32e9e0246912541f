import { FactsReader } from './facts';
import {
  AckRow,
  BehaviourRuleRow,
  DecisionRecord,
  GuestOsRuleRow,
  GuestRow,
  HostRow,
  KernelRow,
  SetAsideRow,
  viewKey,
} from './model';

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
 * projector keeps it between batches; a rebuild fills it from nothing). It is what evolve
 * reads (FactsReader); the evolver puts the changed rows here and records decisions; the
 * writer saves what changed in the batch. Guests are kept per host view (viewKey); two
 * indexes make fan-out (every view on a host, every view booting an image) never scan.
 */
export class WorkingSet implements FactsReader {
  readonly kernels = new Map<string, KernelRow>();
  readonly hosts = new Map<string, HostRow>();
  /** Host views of guests, by viewKey(guestId, hostId). */
  readonly guests = new Map<string, GuestRow>();
  readonly acks = new Map<string, AckRow>();
  readonly rules = new Map<string, BehaviourRuleRow>();
  readonly guestOsRules = new Map<string, GuestOsRuleRow>();
  /** Events set aside (not applied), by eventId. */
  readonly setAside = new Map<string, SetAsideRow>();
  /** Per guest, the last sequence number used by any of its views. */
  private readonly sequences = new Map<string, number>();

  readonly dirtyKernels = new Set<string>();
  readonly dirtyHosts = new Set<string>();
  readonly dirtyGuests = new Set<string>();
  readonly dirtyAcks = new Set<string>();
  readonly dirtyRules = new Set<string>();
  readonly dirtyGuestOsRules = new Set<string>();
  readonly dirtySetAside = new Set<string>();
  /** Decisions and withdrawals made while applying the batch, in order. */
  readonly records: DecisionRecord[] = [];

  private readonly guestsByHost = new Map<string, Set<string>>();
  private readonly presentCount = new Map<string, number>();
  private readonly guestsByImage = new Map<string, Set<string>>();

  /** Forgets what the previous batch changed and decided (the rows stay). */
  beginBatch(): void {
    this.dirtyKernels.clear();
    this.dirtyHosts.clear();
    this.dirtyGuests.clear();
    this.dirtyAcks.clear();
    this.dirtyRules.clear();
    this.dirtyGuestOsRules.clear();
    this.dirtySetAside.clear();
    this.records.length = 0;
  }

  static ackKey(hostId: string, guestId: string): string {
    return viewKey(guestId, hostId);
  }

  keyOf(row: Pick<GuestRow, 'guestId' | 'hostId'>): string {
    return viewKey(row.guestId, row.hostId);
  }

  // FactsReader
  kernel(imageSha256: string): KernelRow | undefined {
    return this.kernels.get(imageSha256);
  }
  host(hostId: string): HostRow | undefined {
    return this.hosts.get(hostId);
  }
  guest(guestId: string, hostId: string): GuestRow | undefined {
    return this.guests.get(viewKey(guestId, hostId));
  }
  ack(hostId: string, guestId: string): AckRow | undefined {
    return this.acks.get(WorkingSet.ackKey(hostId, guestId));
  }
  behaviourRule(key: string): BehaviourRuleRow | undefined {
    return this.rules.get(key);
  }
  guestOsRule(guestOs: string): GuestOsRuleRow | undefined {
    return this.guestOsRules.get(guestOs);
  }

  /** The last sequence number any view of the guest used (0: none). */
  peekSequence(guestId: string): number {
    return this.sequences.get(guestId) ?? 0;
  }

  /** Takes the guest's next sequence number (strictly increasing across all its views). */
  nextSequence(guestId: string): number {
    const next = this.peekSequence(guestId) + 1;
    this.sequences.set(guestId, next);
    return next;
  }

  /** Makes the guest's last used sequence at least `sequence` (carried from the decision history). */
  raiseSequence(guestId: string, sequence: number): void {
    if (sequence > this.peekSequence(guestId)) this.sequences.set(guestId, sequence);
  }

  /** Marks every row for writing (a projection written whole). */
  markAllDirty(): void {
    for (const k of this.kernels.keys()) this.dirtyKernels.add(k);
    for (const k of this.hosts.keys()) this.dirtyHosts.add(k);
    for (const k of this.guests.keys()) this.dirtyGuests.add(k);
    for (const k of this.acks.keys()) this.dirtyAcks.add(k);
    for (const k of this.rules.keys()) this.dirtyRules.add(k);
    for (const k of this.guestOsRules.keys()) this.dirtyGuestOsRules.add(k);
    for (const k of this.setAside.keys()) this.dirtySetAside.add(k);
  }

  /** Adds a row read from the database (not dirty). */
  loadGuest(row: GuestRow): void {
    const key = this.keyOf(row);
    if (this.guests.has(key)) return;
    this.guests.set(key, row);
    this.raiseSequence(row.guestId, row.sequence);
    this.index(key, row);
    if (row.present) this.countPresent(row.hostId, 1);
  }

  private countPresent(hostId: string, delta: number): void {
    this.presentCount.set(hostId, (this.presentCount.get(hostId) ?? 0) + delta);
  }

  /** Replaces (or creates) a view of a guest and marks it for writing. */
  putGuest(row: GuestRow): void {
    const key = this.keyOf(row);
    const previous = this.guests.get(key);
    const moved =
      !previous || previous.kernelSha256 !== row.kernelSha256 || previous.bootloaderSha256 !== row.bootloaderSha256;
    if (previous && moved) this.unindex(key, previous);
    if (Boolean(previous?.present) !== row.present) this.countPresent(row.hostId, row.present ? 1 : -1);
    this.guests.set(key, row);
    if (moved) this.index(key, row);
    this.raiseSequence(row.guestId, row.sequence);
    this.dirtyGuests.add(key);
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

  putGuestOsRule(row: GuestOsRuleRow): void {
    this.guestOsRules.set(row.guestOs, row);
    this.dirtyGuestOsRules.add(row.guestOs);
  }

  putSetAside(row: SetAsideRow): void {
    this.setAside.set(row.eventId, row);
    this.dirtySetAside.add(row.eventId);
  }

  /** How many views of the host are present. */
  presentOnHost(hostId: string): number {
    return this.presentCount.get(hostId) ?? 0;
  }

  /** Keys of the views on the host (present or not). */
  viewsOnHost(hostId: string): string[] {
    return [...(this.guestsByHost.get(hostId) ?? [])];
  }

  /** Keys of the views whose next kernel or bootloader is this image. */
  viewsUsingImage(sha: string): string[] {
    return [...(this.guestsByImage.get(sha) ?? [])];
  }

  /** Views on the host, in key order (for determinism). */
  guestsOnHost(hostId: string): GuestRow[] {
    return this.collect(this.guestsByHost.get(hostId));
  }

  /** Every view, in key order. */
  allGuests(): GuestRow[] {
    return this.collect(new Set(this.guests.keys()));
  }

  private collect(keys: Set<string> | undefined): GuestRow[] {
    if (!keys) return [];
    return [...keys].sort().map((k) => this.guests.get(k)!);
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
