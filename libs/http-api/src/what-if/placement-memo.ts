import { decidePlacement, PlacementDecision, PlacementInput } from '@fleetcompat/policy';

/**
 * decidePlacement for many guests, sharing one call among guests alike. The policy is pure
 * and no id enters a decision, so the key is the very input it is given, serialized with the
 * guest's and the host's ids left out: whatever the policy reads, the key holds. The operator
 * tables (behaviours, GUEST_OS rules) are one object for a whole what-if: they enter the key
 * by identity, not by content, so that a million guests do not serialize them a million times.
 * Exact, and fast for a million guests.
 */
export class PlacementMemo {
  private readonly decided = new Map<string, PlacementDecision>();
  private readonly tableIds = new WeakMap<object, number>();
  private tables = 0;

  constructor(
    private readonly decide: (input: PlacementInput) => PlacementDecision = decidePlacement,
    /** Decisions kept at most (then the memo starts again). */
    private readonly maxEntries = 100000,
  ) {}

  decisionFor(input: PlacementInput): PlacementDecision {
    const key = this.keyOf(input);
    let d = this.decided.get(key);
    if (!d) {
      d = this.decide(input);
      if (this.decided.size >= this.maxEntries) this.decided.clear();
      this.decided.set(key, d);
    }
    return d;
  }

  /** The key of an input: everything in it but the two ids, the tables by identity. */
  keyOf(input: PlacementInput): string {
    const { behaviours, guestOses, guest, host, ...rest } = input;
    const { guestId: _guestId, ...guestFacts } = guest;
    const { hostId: _hostId, ...hostFacts } = host;
    return JSON.stringify([this.tableId(behaviours), this.tableId(guestOses), guestFacts, hostFacts, rest]);
  }

  private tableId(table: object): number {
    let id = this.tableIds.get(table);
    if (id === undefined) {
      id = ++this.tables;
      this.tableIds.set(table, id);
    }
    return id;
  }
}
