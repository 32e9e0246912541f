import { FleetEvent } from '@fleetcompat/contract';

/** The stream that holds every HypervisorBehaviourDeclared event. */
export const HYPERVISOR_BEHAVIOUR_STREAM = 'hypervisor-behaviour';

/** The stream that holds every GuestOsDeclared event (the GUEST_OS values known to cope with a high RSDP). */
export const GUEST_OS_STREAM = 'guest-os';

/**
 * The stream an event belongs to, derived from the event: `kernel-<imageSha256>`,
 * `host-<hostId>` (host, upgrade and ack events), `guest-<guestId>` (guest events),
 * `hypervisor-behaviour` and `guest-os` (operator declarations).
 */
export function streamIdOf(event: FleetEvent): string {
  switch (event.type) {
    case 'KernelBuildCompleted':
    case 'KernelBuildRevoked':
      return `kernel-${event.data.imageSha256}`;
    case 'HostRegistered':
    case 'HypervisorUpgradePlanned':
    case 'HypervisorUpgradeStarted':
    case 'HypervisorUpgradeCompleted':
    case 'HypervisorUpgradeCancelled':
    case 'PlacementApplied':
      return `host-${event.data.hostId}`;
    case 'GuestObserved':
    case 'GuestRemoved':
      return `guest-${event.data.guestId}`;
    case 'HypervisorBehaviourDeclared':
      return HYPERVISOR_BEHAVIOUR_STREAM;
    case 'GuestOsDeclared':
      return GUEST_OS_STREAM;
    default: {
      const unknown: never = event;
      throw new Error(`no stream for event type ${(unknown as { type: string }).type}`);
    }
  }
}
