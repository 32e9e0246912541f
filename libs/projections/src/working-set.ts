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
import { ColumnarGuestViews, GuestViews, View } from './guest-views';

/**
 * The projection rows held in memory while events are applied: the whole projection (the
 * projector keeps it between batches; a rebuild fills it from nothing). It is what evolve
 * reads (FactsReader); the evolver puts the changed rows here and records decisions; the
 * writer saves what changed in the batch. Guests are kept per host view, in columns
 * (ColumnarGuestViews: the bulk of the memory), each with a handle (View); its indexes make
 * fan-out (every view on a host, every view booting an image) never scan.
 */
export class WorkingSet implements FactsReader {
  readonly kernels = new Map<string, KernelRow>();
  readonly hosts = new Map<string, HostRow>();
  readonly acks = new Map<string, AckRow>();
  readonly rules = new Map<string, BehaviourRuleRow>();
  readonly guestOsRules = new Map<string, GuestOsRuleRow>();
  /** Events set aside (not applied), by eventId. */
  readonly setAside = new Map<string, SetAsideRow>();
  /** Host views of guests, their indexes, and per guest the last sequence number used by any of its views. */
  private readonly views: GuestViews;

  readonly dirtyKernels = new Set<string>();
  readonly dirtyHosts = new Set<string>();
  readonly dirtyAcks = new Set<string>();
  readonly dirtyRules = new Set<string>();
  readonly dirtyGuestOsRules = new Set<string>();
  readonly dirtySetAside = new Set<string>();
  /** Decisions and withdrawals made while applying the batch, in order. */
  readonly records: DecisionRecord[] = [];

  /** `guests`: how the guest views are kept (tests compare the columns with plain Maps). */
  constructor(options: { guests?: GuestViews } = {}) {
    this.views = options.guests ?? new ColumnarGuestViews();
  }

  /** Forgets what the previous batch changed and decided (the rows stay). */
  beginBatch(): void {
    this.dirtyKernels.clear();
    this.dirtyHosts.clear();
    this.views.clearDirty();
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
    const view = this.views.viewOf(guestId, hostId);
    return view === undefined ? undefined : this.views.at(view);
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
    return this.views.peekSequence(guestId);
  }

  /** Takes the guest's next sequence number (strictly increasing across all its views). */
  nextSequence(guestId: string): number {
    const next = this.peekSequence(guestId) + 1;
    this.views.raiseSequence(guestId, next);
    return next;
  }

  /** Makes the guest's last used sequence at least `sequence` (carried from the decision history). */
  raiseSequence(guestId: string, sequence: number): void {
    this.views.raiseSequence(guestId, sequence);
  }

  /** Marks every row for writing (a projection written whole). */
  markAllDirty(): void {
    for (const k of this.kernels.keys()) this.dirtyKernels.add(k);
    for (const k of this.hosts.keys()) this.dirtyHosts.add(k);
    this.views.markAllDirty();
    for (const k of this.acks.keys()) this.dirtyAcks.add(k);
    for (const k of this.rules.keys()) this.dirtyRules.add(k);
    for (const k of this.guestOsRules.keys()) this.dirtyGuestOsRules.add(k);
    for (const k of this.setAside.keys()) this.dirtySetAside.add(k);
  }

  /** How many host views of guests. */
  get guestCount(): number {
    return this.views.size;
  }

  /** Adds a row read from the database (not dirty). */
  loadGuest(row: GuestRow): void {
    this.views.load(row);
  }

  /** Replaces (or creates) a view of a guest and marks it for writing; returns the view. */
  putGuest(row: GuestRow): View {
    return this.views.put(row);
  }

  /** The row of a view (a new object: change a copy and put it back). */
  guestAt(view: View): GuestRow {
    return this.views.at(view);
  }

  /** The rows to write: every view put since beginBatch (every view after markAllDirty). */
  *dirtyGuestRows(): Iterable<GuestRow> {
    for (const v of this.views.dirty()) yield this.views.at(v);
  }

  /** How many views are to be written. */
  get dirtyGuestCount(): number {
    return this.views.dirtyCount;
  }

  /** The host of each view to write (with repeats). */
  *dirtyGuestHosts(): Iterable<string> {
    for (const v of this.views.dirty()) yield this.views.at(v).hostId;
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
    return this.views.presentOnHost(hostId);
  }

  /** The views on the host (present or not). */
  viewsOnHost(hostId: string): View[] {
    return this.views.onHost(hostId);
  }

  /** The views whose kernel or bootloader is this image. */
  viewsUsingImage(sha: string): View[] {
    return this.views.usingImage(sha);
  }

  /** The views in key order (viewKey: for determinism); every view when none are given. */
  sortedViews(views?: Iterable<View>): View[] {
    return this.views.sorted(views ?? this.views.all());
  }

  /** Views on the host, in key order (for determinism). */
  guestsOnHost(hostId: string): GuestRow[] {
    return this.sortedViews(this.viewsOnHost(hostId)).map((v) => this.views.at(v));
  }

  /** Every view, in key order. */
  allGuests(): GuestRow[] {
    return this.sortedViews().map((v) => this.views.at(v));
  }

  /** Every view, in the order first stored, one row at a time (a projection written whole). */
  *eachGuest(): Iterable<GuestRow> {
    for (const v of this.views.all()) yield this.views.at(v);
  }
}
