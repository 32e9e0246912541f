import { z } from 'zod';

/**
 * The v1 input events of the wire contract (see docs/contract.md and docs/asyncapi.yaml).
 * Each schema validates `data`; the envelope is shared.
 */

const id = z.string().min(1).max(256);

/** Most labels one host may carry (HostRegistered). */
export const MAX_LABELS = 64;
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const timestamp = z.string().datetime({ offset: true });
const u32 = z.number().int().min(0).max(0xffffffff);

export const XenNotesSchema = z.object({
  guestOs: z.string().max(256).optional(),
  guestVersion: z.string().max(256).optional(),
  xenVersion: z.string().max(256).optional(),
  loader: z.string().max(256).optional(),
  features: z.string().max(4096).optional(),
  supportedFeatures: u32.optional(),
  phys32Entry: z
    .string()
    .regex(/^(0x)?[0-9a-fA-F]{1,16}$/, 'must be a hex string')
    .optional(),
  pvh: z.boolean(),
});
export type XenNotes = z.infer<typeof XenNotesSchema>;

export const KernelBuildCompletedSchema = z.object({
  imageSha256: sha256,
  release: z.string().min(1).max(256),
  arch: z.string().min(1).max(32),
  distro: z.string().max(256).optional(),
  pipeline: z
    .object({ name: z.string().max(256), runId: z.string().max(256), url: z.string().max(2048) })
    .partial()
    .optional(),
  xenNotes: XenNotesSchema.nullable(),
});

export const KernelBuildRevokedSchema = z.object({
  imageSha256: sha256,
  reason: z.string().max(2048),
});

export const HostRegisteredSchema = z.object({
  hostId: id,
  hypervisor: z.object({
    name: z.literal('xen'),
    version: z.string().min(1).max(64),
    build: z.string().max(256).optional(),
  }),
  rsdpOverrideSupported: z.boolean(),
  labels: z
    .record(z.string().min(1).max(128), z.string().max(256))
    .refine((l) => Object.keys(l).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`)
    .optional(),
});

export const GuestObservedSchema = z.object({
  guestId: id,
  hostId: id,
  mode: z.enum(['pvh', 'hvm', 'pv']),
  memoryMiB: z
    .number()
    .int()
    .min(0)
    .max(1 << 30),
  boot: z.object({
    method: z.enum(['direct', 'pvh-grub', 'other']),
    kernelSha256: sha256.optional(),
    bootloaderSha256: sha256.optional(),
  }),
});

export const GuestRemovedSchema = z.object({ guestId: id, hostId: id });

export const HypervisorUpgradePlannedSchema = z.object({
  hostId: id,
  fromVersion: z.string().min(1).max(64),
  toVersion: z.string().min(1).max(64),
  toBuild: z.string().max(256).optional(),
  plannedRebootAt: timestamp,
  waveId: z.string().max(256).optional(),
});
export const HypervisorUpgradeStartedSchema = z.object({ hostId: id });
export const HypervisorUpgradeCompletedSchema = z.object({
  hostId: id,
  version: z.string().min(1).max(64),
  build: z.string().max(256).optional(),
});
export const HypervisorUpgradeCancelledSchema = z.object({ hostId: id, reason: z.string().max(2048).optional() });

export const PlacementAppliedSchema = z.object({ hostId: id, guestId: id, decisionId: id });

/**
 * Added to the contract (allowed: "you may add"): operators declare how a hypervisor version
 * or build places the RSDP, without a release of the service.
 */
export const HypervisorBehaviourDeclaredSchema = z
  .object({
    version: z.string().min(1).max(64).optional(),
    build: z.string().min(1).max(256).optional(),
    behaviour: z.enum(['always-low', 'by-notes', 'always-high']),
    note: z.string().max(2048).optional(),
  })
  .refine((d) => Boolean(d.version) !== Boolean(d.build), { message: 'exactly one of version or build is required' });

/**
 * Added to the contract: operators declare whether kernels with a given GUEST_OS note are
 * known to cope with a high RSDP (they read rsdp_paddr), or withdraw that knowledge, without a
 * release of the service. The defaults (FreeBSD, NetBSD, Mini-OS) are the policy's data.
 */
export const GuestOsDeclaredSchema = z.object({
  guestOs: z.string().min(1).max(256),
  copesWithHighRsdp: z.boolean(),
  note: z.string().max(2048).optional(),
});

export const EventDataSchemas = {
  KernelBuildCompleted: KernelBuildCompletedSchema,
  KernelBuildRevoked: KernelBuildRevokedSchema,
  HostRegistered: HostRegisteredSchema,
  GuestObserved: GuestObservedSchema,
  GuestRemoved: GuestRemovedSchema,
  HypervisorUpgradePlanned: HypervisorUpgradePlannedSchema,
  HypervisorUpgradeStarted: HypervisorUpgradeStartedSchema,
  HypervisorUpgradeCompleted: HypervisorUpgradeCompletedSchema,
  HypervisorUpgradeCancelled: HypervisorUpgradeCancelledSchema,
  PlacementApplied: PlacementAppliedSchema,
  HypervisorBehaviourDeclared: HypervisorBehaviourDeclaredSchema,
  GuestOsDeclared: GuestOsDeclaredSchema,
} as const;

export type EventType = keyof typeof EventDataSchemas;
export const EventTypes = Object.keys(EventDataSchemas) as EventType[];

export type EventDataOf<T extends EventType> = z.infer<(typeof EventDataSchemas)[T]>;

export interface Envelope<T extends EventType = EventType> {
  readonly eventId: string;
  readonly type: T;
  readonly schemaVersion: 1;
  readonly occurredAt: string;
  readonly source: string;
  readonly data: EventDataOf<T>;
}

/** A validated event: the discriminated union of all input events. */
export type FleetEvent = { [T in EventType]: Envelope<T> }[EventType];

export const EnvelopeSchema = z.object({
  eventId: z.string().min(1).max(128),
  type: z.string().min(1).max(128),
  schemaVersion: z.literal(1),
  occurredAt: timestamp,
  source: z.string().min(1).max(256),
  data: z.unknown(),
});

/** Which topic each event type belongs on, and its message key. */
/** `key` reads the event's (validated) data: each reads its own type's key field. */
export const EventRouting: Record<
  EventType,
  { topic: string; key: (data: Readonly<Record<string, unknown>>) => string }
> = {
  KernelBuildCompleted: { topic: 'fleet.kernel-builds.v1', key: (d) => d.imageSha256 as string },
  KernelBuildRevoked: { topic: 'fleet.kernel-builds.v1', key: (d) => d.imageSha256 as string },
  HostRegistered: { topic: 'fleet.guest-inventory.v1', key: (d) => d.hostId as string },
  GuestObserved: { topic: 'fleet.guest-inventory.v1', key: (d) => d.guestId as string },
  GuestRemoved: { topic: 'fleet.guest-inventory.v1', key: (d) => d.guestId as string },
  HypervisorUpgradePlanned: { topic: 'fleet.hypervisor-upgrades.v1', key: (d) => d.hostId as string },
  HypervisorUpgradeStarted: { topic: 'fleet.hypervisor-upgrades.v1', key: (d) => d.hostId as string },
  HypervisorUpgradeCompleted: { topic: 'fleet.hypervisor-upgrades.v1', key: (d) => d.hostId as string },
  HypervisorUpgradeCancelled: { topic: 'fleet.hypervisor-upgrades.v1', key: (d) => d.hostId as string },
  PlacementApplied: { topic: 'fleet.placement-acks.v1', key: (d) => d.hostId as string },
  HypervisorBehaviourDeclared: {
    topic: 'fleet.operator-declarations.v1',
    key: (d) => (d.version ?? d.build) as string,
  },
  GuestOsDeclared: { topic: 'fleet.operator-declarations.v1', key: (d) => d.guestOs as string },
};
