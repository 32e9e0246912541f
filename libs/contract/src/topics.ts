/** The v1 topics of the wire contract. Names are binding for producers and hosts. */
export const Topics = {
  kernelBuilds: 'fleet.kernel-builds.v1',
  guestInventory: 'fleet.guest-inventory.v1',
  hypervisorUpgrades: 'fleet.hypervisor-upgrades.v1',
  placementAcks: 'fleet.placement-acks.v1',
  placementDecisions: 'fleet.placement-decisions.v1',
  deadLetters: 'fleet.dead-letters.v1',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

/** Topics the service consumes. */
export const InputTopics: readonly TopicName[] = [
  Topics.kernelBuilds,
  Topics.guestInventory,
  Topics.hypervisorUpgrades,
  Topics.placementAcks,
];

/** Largest message (bytes of the JSON value) accepted; larger ones are dead-lettered. */
export const MAX_EVENT_BYTES = 256 * 1024;
