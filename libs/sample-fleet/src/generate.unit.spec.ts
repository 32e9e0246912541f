import { validateEvent } from '@fleetcompat/contract';
import { generateFleet } from './generate';

describe('generated fleet', () => {
  const size = { hosts: 20, guests: 500, kernels: 40, waves: 3, seed: 7 };

  it('is valid under the contract, with unique event ids', () => {
    const events = [...generateFleet(size)];
    const ids = new Set(events.map((e) => e.eventId));
    expect(ids.size).toBe(events.length);
    for (const e of events) expect(validateEvent(JSON.parse(JSON.stringify(e)))).toMatchObject({ ok: true });
    const count = (t: string) => events.filter((e) => e.type === t).length;
    expect([count('KernelBuildCompleted'), count('HostRegistered'), count('GuestObserved')]).toEqual([40, 20, 500]);
    expect(count('HypervisorUpgradePlanned')).toBeGreaterThan(0);
  });

  it('is the same for the same seed and differs for another', () => {
    expect([...generateFleet(size)]).toEqual([...generateFleet(size)]);
    expect([...generateFleet({ ...size, seed: 8 })]).not.toEqual([...generateFleet(size)]);
  });
});
