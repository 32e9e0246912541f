import { BehaviourLookup, BehaviourTable, lookupBehaviour, ToolstackBehaviour } from './behaviour';
import bootloaders from './data/bootloaders.json';
import { GuestOsRule, GuestOsTable, lookupGuestOs } from './guest-os';
import { hasRsdpUnrestricted, libxlRsdpPlacement, RsdpNotes } from './notes';

/**
 * Bump when a change to this file can change a decision for the same facts.
 * 2: the need is high only on evidence (bit 15, or a GUEST_OS on the list of systems known to
 * cope); before, every kernel whose GUEST_OS was not exactly "linux" was taken to need high.
 */
export const POLICY_VERSION = '2';

export type GuestMode = 'pvh' | 'hvm' | 'pv';
export type BootMethod = 'direct' | 'pvh-grub' | 'other';
export type Placement = 'low' | 'high';
export type Rsdp = Placement | 'not-applicable';
export type Action = 'none' | 'override-low' | 'blocked';
export type GuestStatus = 'ok' | 'needs-low-rsdp' | 'blocked' | 'unknown-kernel' | 'not-applicable';

/** Stable reason codes: which row of the decision table fired. */
export type ReasonCode =
  | 'guest-not-pvh'
  | 'kernel-not-pvh-capable'
  | 'toolstack-places-low'
  | 'kernel-handles-high-rsdp'
  | 'override-low-required'
  | 'high-rsdp-without-override';

/**
 * Why the guest needs the RSDP where it does (stable codes, in `facts.needReason`). High only
 * on evidence that the kernel copes with a high RSDP:
 * - kernel-has-rsdp-unrestricted: SUPPORTED_FEATURES has bit 15, whatever GUEST_OS says: high;
 * - guest-os-copes-with-high-rsdp: GUEST_OS is on the list (declared or default) as coping: high.
 * Every other kernel needs low:
 * - kernel-lacks-rsdp-unrestricted: GUEST_OS exactly "linux", no bit 15;
 * - guest-os-not-known-to-cope: another GUEST_OS string ("Linux", "linux-foo"), not on the list
 *   or declared not to cope;
 * - kernel-has-no-guest-os: Xen notes without GUEST_OS, no bit 15;
 * - kernel-has-no-xen-notes: the image has no Xen notes at all;
 * - kernel-unknown: no kernel known (never announced, revoked, or not reported).
 */
export type NeedReason =
  | 'kernel-has-rsdp-unrestricted'
  | 'guest-os-copes-with-high-rsdp'
  | 'kernel-lacks-rsdp-unrestricted'
  | 'guest-os-not-known-to-cope'
  | 'kernel-has-no-guest-os'
  | 'kernel-has-no-xen-notes'
  | 'kernel-unknown';

export interface GuestFacts {
  readonly guestId: string;
  readonly mode: GuestMode;
  readonly memoryMiB: number;
  readonly boot: {
    readonly method: BootMethod;
    readonly kernelSha256?: string | null;
    readonly bootloaderSha256?: string | null;
  };
}

/** A kernel build the service knows (announced by CI and not revoked). */
export interface KernelFacts {
  readonly imageSha256: string;
  /** The image's Xen notes; null when it has none at all. */
  readonly xenNotes: RsdpNotes | null;
}

export interface HostFacts {
  readonly hostId: string;
  /** The version the decision is for: the planned target when an upgrade is planned, else the current one. */
  readonly hypervisorVersion: string;
  readonly hypervisorBuild?: string | null;
  readonly rsdpOverrideSupported: boolean;
}

export interface PlacementInput {
  readonly guest: GuestFacts;
  readonly host: HostFacts;
  /** The kernel the guest boots next, when known; undefined when unknown (never announced, revoked, or no sha). */
  readonly kernel?: KernelFacts;
  /**
   * Notes of the bootloader image the toolstack loads (pvh-grub), when that image was
   * announced; otherwise the toolstack is assumed to load GRUB's i386-xen_pvh image, whose
   * notes carry PHYS32_ENTRY and no GUEST_OS.
   */
  readonly bootloaderNotes?: RsdpNotes | null;
  readonly behaviours: BehaviourTable;
  /** The GUEST_OS values known to cope with a high RSDP (operator declarations over the defaults). */
  readonly guestOses: GuestOsTable;
}

export interface Cost {
  readonly code: 'first-gib-superpage-lost';
  readonly detail: string;
}

/** The facts a decision rests on, as recorded with it. */
export interface DecisionFacts {
  readonly mode: GuestMode;
  readonly bootMethod: BootMethod;
  readonly memoryMiB: number;
  readonly kernelSha256: string | null;
  readonly kernelKnown: boolean;
  readonly guestOs: string | null;
  /** The GUEST_OS list entry that matched the kernel's GUEST_OS (declared or default), if any. */
  readonly guestOsRule: GuestOsRule | null;
  readonly supportedFeatures: number | null;
  readonly rsdpUnrestricted: boolean | null;
  readonly pvhCapable: boolean | null;
  readonly need: Placement | null;
  readonly needReason: NeedReason | null;
  readonly hypervisorVersion: string;
  readonly hypervisorBuild: string | null;
  readonly toolstackBehaviour: ToolstackBehaviour | null;
  readonly behaviourCovered: boolean | null;
  readonly imageLoaded: 'kernel' | 'bootloader' | null;
  readonly toolstackPlacement: Placement | null;
  readonly rsdpOverrideSupported: boolean;
}

export interface PlacementDecision {
  readonly rsdp: Rsdp;
  readonly action: Action;
  readonly reason: ReasonCode;
  readonly status: GuestStatus;
  readonly facts: DecisionFacts;
  readonly costs: readonly Cost[];
  /** Warnings a planner should see (e.g. a hypervisor version the table does not cover). */
  readonly flags: readonly string[];
  /**
   * What would unblock the guest, one alternative per entry (any one of them is enough);
   * empty when the action is not blocked.
   */
  readonly remedy: readonly string[];
  /** One sentence per step, for people. */
  readonly explanation: readonly string[];
}

const FIRST_GIB_MIB = 1024;

/**
 * The notes assumed for a bootloader image nobody announced (data: GRUB's i386-xen_pvh
 * image, PHYS32_ENTRY only, no GUEST_OS).
 */
export const UNANNOUNCED_BOOTLOADER_NOTES: RsdpNotes = bootloaders.unannounced.notes;

interface Need {
  readonly need: Placement;
  readonly reason: NeedReason;
  /** One sentence naming the evidence. */
  readonly sentence: string;
}

function hex(bits: number): string {
  return `0x${(bits >>> 0).toString(16)}`;
}

function featuresPhrase(notes: RsdpNotes): string {
  return notes.supportedFeatures === undefined
    ? 'it has no SUPPORTED_FEATURES note'
    : `its SUPPORTED_FEATURES bitmap ${hex(notes.supportedFeatures)} lacks bit 15 (XENFEAT_linux_rsdp_unrestricted)`;
}

function ruleSource(table: GuestOsTable, rule: GuestOsRule): string {
  const kind = table.declared.includes(rule) ? 'declared by an operator' : 'a default';
  return rule.note ? `${kind}: ${rule.note}` : kind;
}

/**
 * Where the kernel needs the RSDP. High only on evidence that it copes with a high RSDP (bit 15
 * of SUPPORTED_FEATURES, or a GUEST_OS the list says copes); low for every other kernel. Stricter
 * than libxl, which takes every GUEST_OS other than exactly "linux" to read rsdp_paddr.
 */
function need(kernel: KernelFacts | undefined, table: GuestOsTable): Need {
  if (!kernel) {
    return {
      need: 'low',
      reason: 'kernel-unknown',
      sentence:
        'The kernel is not known to the service (never announced, revoked, or not reported): nothing shows it copes with a high RSDP, so it is assumed to need the RSDP low.',
    };
  }
  const notes = kernel.xenNotes;
  if (notes === null) {
    return {
      need: 'low',
      reason: 'kernel-has-no-xen-notes',
      sentence: 'The kernel has no Xen ELF notes: nothing shows it copes with a high RSDP, so it needs the RSDP low.',
    };
  }
  if (hasRsdpUnrestricted(notes)) {
    return {
      need: 'high',
      reason: 'kernel-has-rsdp-unrestricted',
      sentence: `The kernel's SUPPORTED_FEATURES bitmap ${hex(notes.supportedFeatures!)} has bit 15 (XENFEAT_linux_rsdp_unrestricted): it reads rsdp_paddr and copes with a high RSDP${
        notes.guestOs === undefined ? '' : `, whatever its GUEST_OS ("${notes.guestOs}") says`
      }.`,
    };
  }
  if (notes.guestOs === undefined) {
    return {
      need: 'low',
      reason: 'kernel-has-no-guest-os',
      sentence: `The kernel has Xen notes but no GUEST_OS note, and ${featuresPhrase(notes)}: nothing shows it copes with a high RSDP, so it needs the RSDP low.`,
    };
  }
  const rule = lookupGuestOs(table, notes.guestOs);
  if (notes.guestOs === 'linux') {
    // For Linux the evidence is bit 15 alone: 4.11-4.16 carry "linux" and do not read rsdp_paddr.
    return {
      need: 'low',
      reason: 'kernel-lacks-rsdp-unrestricted',
      sentence: `The kernel's GUEST_OS is "linux" and ${featuresPhrase(notes)}: it finds the RSDP only by scanning below 1 MiB, so it needs the RSDP low${
        rule?.copesWithHighRsdp
          ? ' (the GUEST_OS list entry for "linux" is not taken: for Linux only bit 15 is evidence)'
          : ''
      }.`,
    };
  }
  if (rule?.copesWithHighRsdp) {
    return {
      need: 'high',
      reason: 'guest-os-copes-with-high-rsdp',
      sentence: `The kernel's GUEST_OS is "${notes.guestOs}", which the GUEST_OS list says copes with a high RSDP (${ruleSource(table, rule)}).`,
    };
  }
  return {
    need: 'low',
    reason: 'guest-os-not-known-to-cope',
    sentence: `The kernel's GUEST_OS is "${notes.guestOs}", ${
      rule
        ? `which the GUEST_OS list says does not cope with a high RSDP (${ruleSource(table, rule)})`
        : 'which is not "linux" and not on the list of systems known to cope with a high RSDP'
    }, and ${featuresPhrase(notes)}: nothing shows it copes with a high RSDP, so it needs the RSDP low.`,
  };
}

const REMEDY_BIT15_KERNEL = 'boot a kernel that sets XENFEAT_linux_rsdp_unrestricted (Linux 4.17 or later)';
const REMEDY_OVERRIDE_HOST = 'move it to a host whose toolstack can force low placement';

/** Row 5: what would unblock a guest whose toolstack places the RSDP high while it needs low. */
function remedyForHighRsdp(input: PlacementInput, needed: Need, behaviour: BehaviourLookup): string[] {
  const { guest, host, kernel } = input;
  const notes = kernel?.xenNotes ?? null;
  const remedy: string[] = [];
  if (needed.reason === 'kernel-unknown') {
    const sha = guest.boot.kernelSha256;
    remedy.push(
      sha
        ? `announce kernel build ${sha} with KernelBuildCompleted, so that its notes decide`
        : 'report the kernel the guest boots (boot.kernelSha256) and announce its build with KernelBuildCompleted, so that its notes decide',
    );
  } else {
    remedy.push(REMEDY_BIT15_KERNEL);
    if (needed.reason === 'guest-os-not-known-to-cope' && notes?.guestOs !== undefined) {
      remedy.push(
        `declare GUEST_OS ${JSON.stringify(notes.guestOs)} with GuestOsDeclared once it is known to read rsdp_paddr`,
      );
    }
    if (
      behaviour.behaviour === 'by-notes' &&
      guest.boot.method !== 'direct' &&
      notes?.pvh &&
      libxlRsdpPlacement(notes) === 'low'
    ) {
      remedy.push(
        "boot the kernel directly instead of through the bootloader (the toolstack then reads the kernel's own notes and places the RSDP low)",
      );
    }
  }
  if (!behaviour.covered) {
    remedy.push(
      `if Xen ${host.hypervisorVersion}${host.hypervisorBuild ? ` (build ${host.hypervisorBuild})` : ''} is known not to place the RSDP high for this guest, declare its behaviour with HypervisorBehaviourDeclared (the table does not cover it)`,
    );
  }
  remedy.push(REMEDY_OVERRIDE_HOST);
  return remedy;
}

function sentenceOf(remedy: readonly string[]): string {
  return `Remedy: ${remedy.join('; or ')}.`;
}

function costsOf(rsdp: Rsdp, memoryMiB: number): Cost[] {
  if (rsdp !== 'low' || memoryMiB < FIRST_GIB_MIB) return [];
  return [
    {
      code: 'first-gib-superpage-lost',
      detail: 'with the RSDP below 1 MiB the first GiB of guest memory cannot be mapped with one 1 GiB superpage',
    },
  ];
}

/**
 * The placement policy: facts in, decision out. Pure; the projector, the what-if endpoint
 * and the tests all call this function. Rows are tried in order; the first match wins.
 */
export function decidePlacement(input: PlacementInput): PlacementDecision {
  const { guest, host, kernel } = input;
  const notes = kernel?.xenNotes ?? null;
  const explanation: string[] = [];
  const flags: string[] = [];
  const base = {
    mode: guest.mode,
    bootMethod: guest.boot.method,
    memoryMiB: guest.memoryMiB,
    kernelSha256: guest.boot.kernelSha256 ?? null,
    kernelKnown: kernel !== undefined,
    guestOs: notes?.guestOs ?? null,
    guestOsRule: lookupGuestOs(input.guestOses, notes?.guestOs),
    supportedFeatures: notes?.supportedFeatures ?? null,
    rsdpUnrestricted: kernel ? hasRsdpUnrestricted(notes) : null,
    pvhCapable: kernel ? Boolean(notes?.pvh) : null,
    hypervisorVersion: host.hypervisorVersion,
    hypervisorBuild: host.hypervisorBuild ?? null,
    rsdpOverrideSupported: host.rsdpOverrideSupported,
  };

  // Row 1: HVM guests get ACPI from hvmloader, PV guests have none.
  if (guest.mode !== 'pvh') {
    explanation.push(`The guest runs in ${guest.mode.toUpperCase()} mode: RSDP placement does not apply.`);
    return {
      rsdp: 'not-applicable',
      action: 'none',
      reason: 'guest-not-pvh',
      status: 'not-applicable',
      facts: {
        ...base,
        need: null,
        needReason: null,
        toolstackBehaviour: null,
        behaviourCovered: null,
        imageLoaded: null,
        toolstackPlacement: null,
      },
      costs: [],
      flags,
      remedy: [],
      explanation,
    };
  }

  const needed = need(kernel, input.guestOses);
  explanation.push(needed.sentence);

  // Row 2: a directly booted kernel must be PVH-capable.
  if (guest.boot.method === 'direct' && kernel && !notes?.pvh) {
    explanation.push(
      notes === null
        ? 'The kernel has no Xen ELF notes: it cannot boot as a PVH guest.'
        : 'The kernel has no PHYS32_ENTRY note: it cannot boot as a PVH guest.',
    );
    const remedy = ['boot a PVH-capable kernel (one whose Xen notes carry PHYS32_ENTRY)'];
    explanation.push(sentenceOf(remedy));
    return {
      rsdp: 'not-applicable',
      action: 'blocked',
      reason: 'kernel-not-pvh-capable',
      status: 'blocked',
      facts: {
        ...base,
        need: needed.need,
        needReason: needed.reason,
        toolstackBehaviour: null,
        behaviourCovered: null,
        imageLoaded: null,
        toolstackPlacement: null,
      },
      costs: [],
      flags,
      remedy,
      explanation,
    };
  }

  const behaviour = lookupBehaviour(input.behaviours, host.hypervisorVersion, host.hypervisorBuild);
  if (!behaviour.covered) {
    flags.push('hypervisor-version-not-covered');
    explanation.push(
      `Xen ${host.hypervisorVersion}${host.hypervisorBuild ? ` (build ${host.hypervisorBuild})` : ''} is not covered by the behaviour table: assumed to place the RSDP high (the worst case).`,
    );
  } else {
    explanation.push(
      `Xen ${host.hypervisorVersion}: toolstack behaviour ${behaviour.behaviour}${behaviour.rule?.note ? ` (${behaviour.rule.note})` : ''}.`,
    );
  }

  let placement: Placement;
  let imageLoaded: 'kernel' | 'bootloader' | null = null;
  switch (behaviour.behaviour) {
    case 'always-low':
      placement = 'low';
      break;
    case 'always-high':
      placement = 'high';
      break;
    case 'by-notes':
      if (guest.boot.method === 'direct') {
        // The toolstack reads the real kernel and applies libxl's rule to it (which, unlike the
        // need, takes any GUEST_OS but exactly "linux" to cope with high). An unknown kernel's
        // notes are unknown: reported as the assumed need (low), status unknown-kernel.
        imageLoaded = 'kernel';
        if (kernel) {
          placement = libxlRsdpPlacement(notes);
        } else {
          placement = needed.need;
          explanation.push(
            `The toolstack reads the kernel itself, whose notes the service does not have: its placement is assumed to be ${placement}, the assumed need, until the kernel build is announced.`,
          );
        }
      } else {
        imageLoaded = 'bootloader';
        const loaded = input.bootloaderNotes ?? UNANNOUNCED_BOOTLOADER_NOTES;
        placement = libxlRsdpPlacement(loaded);
        explanation.push(
          `The toolstack loads the bootloader (${guest.boot.method}), not the kernel: the rule sees ${
            loaded.guestOs === undefined ? 'no GUEST_OS note' : `GUEST_OS "${loaded.guestOs}"`
          } and places the RSDP ${placement}.`,
        );
      }
      break;
  }
  explanation.push(`The toolstack would place the RSDP ${placement}.`);

  const facts: DecisionFacts = {
    ...base,
    need: needed.need,
    needReason: needed.reason,
    toolstackBehaviour: behaviour.behaviour,
    behaviourCovered: behaviour.covered,
    imageLoaded,
    toolstackPlacement: placement,
  };
  const status: GuestStatus = !kernel ? 'unknown-kernel' : needed.need === 'low' ? 'needs-low-rsdp' : 'ok';

  // Row 3: the toolstack's placement meets the need.
  if (placement === 'low' || needed.need === 'high') {
    const reason: ReasonCode = placement === 'low' ? 'toolstack-places-low' : 'kernel-handles-high-rsdp';
    explanation.push(
      placement === 'low' ? 'A low RSDP boots any kernel: no action.' : 'The kernel copes with a high RSDP: no action.',
    );
    return {
      rsdp: placement,
      action: 'none',
      reason,
      status,
      facts,
      costs: costsOf(placement, guest.memoryMiB),
      flags,
      remedy: [],
      explanation,
    };
  }

  // Row 4: placement high, need low, and the host can force low placement.
  if (host.rsdpOverrideSupported) {
    explanation.push("The host's toolstack can force low placement: override to low.");
    return {
      rsdp: 'low',
      action: 'override-low',
      reason: 'override-low-required',
      status,
      facts,
      costs: costsOf('low', guest.memoryMiB),
      flags,
      remedy: [],
      explanation,
    };
  }

  // Row 5: placement high, need low, no override: the guest will not boot.
  explanation.push(
    kernel
      ? "The host's toolstack cannot force low placement: the guest will not boot."
      : "The host's toolstack cannot force low placement and the kernel is unknown: the guest may not boot.",
  );
  const remedy = remedyForHighRsdp(input, needed, behaviour);
  explanation.push(sentenceOf(remedy));
  return {
    rsdp: 'high',
    action: 'blocked',
    reason: 'high-rsdp-without-override',
    status: 'blocked',
    facts,
    costs: [],
    flags,
    remedy,
    explanation,
  };
}
