import { FactEvent } from './events';
import { onGuestOsDeclared, onHypervisorBehaviourDeclared, onPlacementApplied } from './declarations';
import { onGuestObserved, onGuestRemoved } from './guests';
import {
  onHostRegistered,
  onHypervisorUpgradeCancelled,
  onHypervisorUpgradeCompleted,
  onHypervisorUpgradePlanned,
  onHypervisorUpgradeStarted,
} from './hosts';
import { onKernelBuildCompleted, onKernelBuildRevoked } from './kernels';
import { FactChange, FactsReader } from './state';

/**
 * The facts after one event: state and event in, the changed rows out; pure. Each fact
 * takes its value from the event with the latest occurredAt among those that set it,
 * whatever order they were stored in (ties: the one stored last, as events are applied in
 * the store's order); an event older than the fact in force changes nothing. The projector,
 * the rebuild and the tests apply these changes; nothing else decides facts.
 */
export function evolve(state: FactsReader, event: FactEvent): readonly FactChange[] {
  switch (event.type) {
    case 'KernelBuildCompleted':
      return onKernelBuildCompleted(state, event);
    case 'KernelBuildRevoked':
      return onKernelBuildRevoked(state, event);
    case 'HostRegistered':
      return onHostRegistered(state, event);
    case 'HypervisorUpgradePlanned':
      return onHypervisorUpgradePlanned(state, event);
    case 'HypervisorUpgradeStarted':
      return onHypervisorUpgradeStarted(state, event);
    case 'HypervisorUpgradeCompleted':
      return onHypervisorUpgradeCompleted(state, event);
    case 'HypervisorUpgradeCancelled':
      return onHypervisorUpgradeCancelled(state, event);
    case 'GuestObserved':
      return onGuestObserved(state, event);
    case 'GuestRemoved':
      return onGuestRemoved(state, event);
    case 'PlacementApplied':
      return onPlacementApplied(state, event);
    case 'HypervisorBehaviourDeclared':
      return onHypervisorBehaviourDeclared(state, event);
    case 'GuestOsDeclared':
      return onGuestOsDeclared(state, event);
    default: {
      const never: never = event;
      return never;
    }
  }
}
