import { FleetEvent } from '@fleetcompat/contract';

/** The stream that holds every HypervisorBehaviourDeclared event. */
export const HYPERVISOR_BEHAVIOUR_STREAM = 'hypervisor-behaviour';

/** The stream that holds every GuestOsDeclared event (the GUEST_OS values known to cope with a high RSDP). */
export const GUEST_OS_STREAM = 'guest-os';

/** The stream of a kernel (or bootloader) image's events. */
export const kernelStreamId = (imageSha256: string): string => `kernel-${imageSha256}`;

/** The stream of a host's events: registration, upgrades, acknowledgements (PlacementApplied). */
export const hostStreamId = (hostId: string): string => `host-${hostId}`;

/** The stream of a guest's events (GuestObserved, GuestRemoved), whichever host reports it. */
export const guestStreamId = (guestId: string): string => `guest-${guestId}`;

/**
 * The stream an event belongs to, derived from the event: `kernel-<imageSha256>`,
 * `host-<hostId>` (host, upgrade and ack events), `guest-<guestId>` (guest events),
 * `hypervisor-behaviour` and `guest-os` (operator declarations).
 */
export function streamIdOf(event: FleetEvent): string {
  switch (event.type) {
    case 'KernelBuildCompleted':
    case 'KernelBuildRevoked':
      return kernelStreamId(event.data.imageSha256);
    case 'HostRegistered':
    case 'HypervisorUpgradePlanned':
    case 'HypervisorUpgradeStarted':
    case 'HypervisorUpgradeCompleted':
    case 'HypervisorUpgradeCancelled':
    case 'PlacementApplied':
      return hostStreamId(event.data.hostId);
    case 'GuestObserved':
    case 'GuestRemoved':
      return guestStreamId(event.data.guestId);
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
