import fc from 'fast-check';
import { PlacementDecided } from '@fleetcompat/contract';
import { comparable, inTimeOrder } from './comparable';
import { fleetInAnyOrder } from './fleet-arbitrary';
import { project } from './testing';

/** Enough runs to find a fact taken in stored order (the late registration of issue 11 was found in ~30). */
const RUNS = Number(process.env.FC_RUNS ?? 2000);

describe('facts arrive in any order', () => {
  it('storing a fleet in any order gives the projection and the decisions that storing it in occurredAt order gives', () => {
    fc.assert(
      fc.property(fleetInAnyOrder(), ({ stored }) => {
        // events at the same instant: the one stored last wins, so the reference keeps their stored order
        expect(comparable(project(stored))).toEqual(comparable(project(inTimeOrder(stored))));
      }),
      { numRuns: RUNS },
    );
  });

  it('a decision is published only when it differs from the one before it for that host', () => {
    fc.assert(
      fc.property(fleetInAnyOrder(), ({ stored }) => {
        const ws = project(stored);
        const last = new Map<string, string>();
        const sequence = new Map<string, number>();
        for (const r of ws.records) {
          const key = `${r.guestId}@${r.hostId}`;
          expect(r.sequence).toBeGreaterThan(sequence.get(r.guestId) ?? 0);
          sequence.set(r.guestId, r.sequence);
          if (r.kind === 'withdrawn') {
            last.delete(key);
            continue;
          }
          const m = r.message as PlacementDecided;
          const f = m.facts ?? {};
          // what the contract calls the decision, and the facts a host acts on
          const what = JSON.stringify([
            m.rsdp,
            m.action,
            m.reason,
            m.hypervisorVersion,
            m.kernelSha256,
            m.costs.map((c) => c.code),
            f.kernelKnown,
            f.hypervisorBuild,
            f.bootMethod,
            f.rsdpOverrideSupported,
            f.toolstackBehaviour,
          ]);
          expect(last.get(key)).not.toBe(what);
          last.set(key, what);
        }
      }),
      { numRuns: Math.ceil(RUNS / 4) },
    );
  });
});
