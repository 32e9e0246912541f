import { FleetEvent } from '@fleetcompat/contract';
import { streamIdOf } from './stream-id';

const sha = 'a'.repeat(64);
const base = { eventId: 'e', schemaVersion: 1 as const, occurredAt: '2026-11-24T10:00:00Z', source: 't' };

describe('streamIdOf', () => {
  it.each<[FleetEvent, string]>([
    [
      {
        ...base,
        type: 'KernelBuildCompleted',
        data: { imageSha256: sha, release: 'r', arch: 'x86_64', xenNotes: null },
      },
      `kernel-${sha}`,
    ],
    [{ ...base, type: 'KernelBuildRevoked', data: { imageSha256: sha, reason: 'x' } }, `kernel-${sha}`],
    [
      {
        ...base,
        type: 'HostRegistered',
        data: { hostId: 'h1', hypervisor: { name: 'xen', version: '4.10.4' }, rsdpOverrideSupported: false },
      },
      'host-h1',
    ],
    [
      {
        ...base,
        type: 'HypervisorUpgradePlanned',
        data: { hostId: 'h1', fromVersion: '4.10', toVersion: '4.17', plannedRebootAt: '2026-12-01T00:00:00Z' },
      },
      'host-h1',
    ],
    [{ ...base, type: 'HypervisorUpgradeStarted', data: { hostId: 'h1' } }, 'host-h1'],
    [{ ...base, type: 'HypervisorUpgradeCompleted', data: { hostId: 'h1', version: '4.17' } }, 'host-h1'],
    [{ ...base, type: 'HypervisorUpgradeCancelled', data: { hostId: 'h1' } }, 'host-h1'],
    [{ ...base, type: 'PlacementApplied', data: { hostId: 'h1', guestId: 'g1', decisionId: 'd' } }, 'host-h1'],
    [
      {
        ...base,
        type: 'GuestObserved',
        data: { guestId: 'g1', hostId: 'h1', mode: 'pvh', memoryMiB: 1, boot: { method: 'direct' } },
      },
      'guest-g1',
    ],
    [{ ...base, type: 'GuestRemoved', data: { guestId: 'g1', hostId: 'h1' } }, 'guest-g1'],
    [
      { ...base, type: 'HypervisorBehaviourDeclared', data: { version: '4.17', behaviour: 'always-high' } },
      'hypervisor-behaviour',
    ],
  ])('%#: $type', (event, stream) => {
    expect(streamIdOf(event)).toBe(stream);
  });
});
