import {
  decidePlacement,
  GuestFacts,
  HostFacts,
  KernelFacts,
  PlacementDecision,
  PlacementInput,
  RsdpNotes,
} from '@fleetcompat/policy';

type Scalar = string | number | boolean | null | undefined;

/**
 * How each field of T enters a key: one entry per field, optional ones included, so that a
 * field added to the policy's input does not compile until the key says how it enters.
 */
export type KeyParts<T> = { readonly [K in keyof Required<T>]: (value: T[K]) => Scalar };

/** The key function of T: each field's part, in the order KeyParts lists them, joined by "|". */
function keyer<T extends object>(parts: KeyParts<T>): (value: T) => string {
  const fields = (Object.keys(parts) as (keyof T)[]).map((field) => [field, parts[field]] as const);
  return (value) => {
    let key = '';
    for (const [field, part] of fields) key += `${part(value[field])}|`;
    return key;
  };
}

const notes = keyer<RsdpNotes>({ guestOs: (v) => v, supportedFeatures: (v) => v, pvh: (v) => v });
const notesKey = (n: RsdpNotes | null | undefined): Scalar => (n ? `(${notes(n)})` : n);
const boot = keyer<GuestFacts['boot']>({ method: (v) => v, kernelSha256: (v) => v, bootloaderSha256: (v) => v });
/** The ids are left out: no id enters a decision. */
const guestKey = keyer<GuestFacts>({
  guestId: () => '',
  mode: (v) => v,
  memoryMiB: (v) => v,
  boot: (b) => `(${boot(b)})`,
});
const hostKey = keyer<HostFacts>({
  hostId: () => '',
  hypervisorVersion: (v) => v,
  hypervisorBuild: (v) => v,
  rsdpOverrideSupported: (v) => v,
});
const kernelKey = keyer<KernelFacts>({ imageSha256: (v) => v, xenNotes: notesKey });

/**
 * decidePlacement for many guests, sharing one call among guests alike. The policy is pure
 * and no id enters a decision, so the key is made of the very input it is given, every field
 * of it (the compiler holds the key to the input's type: KeyParts) but the guest's and the
 * host's ids. The operator tables are one object for a whole what-if: they enter by
 * identity, so that a million guests do not serialize them a million times. Exact, and fast
 * for a million guests.
 */
export class PlacementMemo {
  private readonly decided = new Map<string, PlacementDecision>();
  private readonly tableIds = new WeakMap<object, number>();
  private tables = 0;
  private readonly inputKey = keyer<PlacementInput>({
    guest: guestKey,
    host: hostKey,
    kernel: (k) => (k ? kernelKey(k) : k),
    bootloaderNotes: notesKey,
    behaviours: (t) => this.tableId(t),
    guestOses: (t) => this.tableId(t),
  });

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

  /** The key of an input: every field but the two ids, the tables by identity. */
  keyOf(input: PlacementInput): string {
    return this.inputKey(input);
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
