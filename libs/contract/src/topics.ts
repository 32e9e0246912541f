/** The v1 topics of the wire contract. Names are binding for producers and hosts. */
export const Topics = {
  kernelBuilds: 'fleet.kernel-builds.v1',
  guestInventory: 'fleet.guest-inventory.v1',
  hypervisorUpgrades: 'fleet.hypervisor-upgrades.v1',
  placementAcks: 'fleet.placement-acks.v1',
  /** Added to the contract: the operators' own topic (HypervisorBehaviourDeclared, GuestOsDeclared), writable by them alone. */
  operatorDeclarations: 'fleet.operator-declarations.v1',
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
  Topics.operatorDeclarations,
];

/** Largest message (bytes of the JSON value) accepted; larger ones are dead-lettered. */
export const MAX_EVENT_BYTES = 256 * 1024;
