import { BehaviourTable, lookupBehaviour, ToolstackBehaviour } from './behaviour';
import bootloaders from './data/bootloaders.json';
import { hasRsdpUnrestricted, libxlRsdpPlacement, RsdpNotes } from './notes';

/** Bump when a change to this file can change a decision for the same facts. */
export const POLICY_VERSION = '1';

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

/** Why the guest needs the RSDP where it does. */
export type NeedReason =
  | 'kernel-lacks-rsdp-unrestricted'
  | 'kernel-has-rsdp-unrestricted'
  | 'kernel-not-linux'
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
  /** One sentence per step, for people. */
  readonly explanation: readonly string[];
}

const FIRST_GIB_MIB = 1024;

/**
 * The notes assumed for a bootloader image nobody announced (data: GRUB's i386-xen_pvh
 * image, PHYS32_ENTRY only, no GUEST_OS).
 */
export const UNANNOUNCED_BOOTLOADER_NOTES: RsdpNotes = bootloaders.unannounced.notes;

function need(kernel: KernelFacts | undefined): { need: Placement; reason: NeedReason } {
  if (!kernel) return { need: 'low', reason: 'kernel-unknown' };
  const notes = kernel.xenNotes;
  if (notes?.guestOs !== 'linux') return { need: 'high', reason: 'kernel-not-linux' };
  return hasRsdpUnrestricted(notes)
    ? { need: 'high', reason: 'kernel-has-rsdp-unrestricted' }
    : { need: 'low', reason: 'kernel-lacks-rsdp-unrestricted' };
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
      facts: { ...base, need: null, needReason: null, toolstackBehaviour: null, behaviourCovered: null, imageLoaded: null, toolstackPlacement: null },
      costs: [],
      flags,
      explanation,
    };
  }

  const needed = need(kernel);
  explanation.push(
    {
      'kernel-unknown': 'The kernel is not known to the service (never announced, revoked, or not reported): it is assumed to need the RSDP low.',
      'kernel-not-linux': `The kernel's GUEST_OS note is ${notes?.guestOs === undefined ? 'absent' : `"${notes.guestOs}"`}, not exactly "linux": it reads rsdp_paddr and copes with a high RSDP.`,
      'kernel-has-rsdp-unrestricted': 'The kernel sets XENFEAT_linux_rsdp_unrestricted (bit 15 of SUPPORTED_FEATURES): it copes with a high RSDP.',
      'kernel-lacks-rsdp-unrestricted': 'The kernel is Linux without XENFEAT_linux_rsdp_unrestricted (bit 15): it finds the RSDP only below 1 MiB.',
    }[needed.reason],
  );

  // Row 2: a directly booted kernel must be PVH-capable.
  if (guest.boot.method === 'direct' && kernel && !notes?.pvh) {
    explanation.push(
      notes === null
        ? 'The kernel has no Xen ELF notes: it cannot boot as a PVH guest.'
        : 'The kernel has no PHYS32_ENTRY note: it cannot boot as a PVH guest.',
    );
    return {
      rsdp: 'not-applicable',
      action: 'blocked',
      reason: 'kernel-not-pvh-capable',
      status: 'blocked',
      facts: { ...base, need: needed.need, needReason: needed.reason, toolstackBehaviour: null, behaviourCovered: null, imageLoaded: null, toolstackPlacement: null },
      costs: [],
      flags,
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
    explanation.push(`Xen ${host.hypervisorVersion}: toolstack behaviour ${behaviour.behaviour}${behaviour.rule?.note ? ` (${behaviour.rule.note})` : ''}.`);
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
        // The toolstack reads the real kernel: its placement equals the kernel's need, known or not.
        imageLoaded = 'kernel';
        placement = kernel ? libxlRsdpPlacement(notes) : needed.need;
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
    explanation.push(placement === 'low' ? 'A low RSDP boots any kernel: no action.' : 'The kernel copes with a high RSDP: no action.');
    return { rsdp: placement, action: 'none', reason, status, facts, costs: costsOf(placement, guest.memoryMiB), flags, explanation };
  }

  // Row 4: placement high, need low, and the host can force low placement.
  if (host.rsdpOverrideSupported) {
    explanation.push("The host's toolstack can force low placement: override to low.");
    return { rsdp: 'low', action: 'override-low', reason: 'override-low-required', status, facts, costs: costsOf('low', guest.memoryMiB), flags, explanation };
  }

  // Row 5: placement high, need low, no override: the guest will not boot.
  explanation.push(
    kernel
      ? "The host's toolstack cannot force low placement: the guest will not boot. Remedy: boot a kernel that sets XENFEAT_linux_rsdp_unrestricted (Linux 4.17 or later), or a host that can override."
      : "The host's toolstack cannot force low placement and the kernel is unknown: the guest may not boot. Remedy: announce the kernel build, boot a kernel with XENFEAT_linux_rsdp_unrestricted, or a host that can override.",
  );
  return { rsdp: 'high', action: 'blocked', reason: 'high-rsdp-without-override', status: 'blocked', facts, costs: [], flags, explanation };
}
