import type { FleetSummary, VersionSummary, WaveSummary } from './answers';
export type { FleetSummary, VersionSummary, WaveSummary } from './answers';
import { ReadContext, select } from './context';

/** The counts of GET /v1/summary: present guests by status, per hypervisor version (and target) and per wave. */
export async function readSummary({ db, s }: ReadContext): Promise<FleetSummary> {
  const [byStatus, byVersion, byWave, lost, versionHosts, waveHosts] = await Promise.all([
    select<{ status: string; n: number }>(
      db,
      `SELECT status, count(*)::int AS n FROM ${s}.guests WHERE present GROUP BY status ORDER BY status`,
    ),
    select<{ version: string | null; target: string | null; status: string | null; n: number }>(
      db,
      `SELECT h.hypervisor_version AS version, h.upgrade->>'toVersion' AS target, g.status, count(g.guest_id)::int AS n
         FROM ${s}.hosts h LEFT JOIN ${s}.guests g ON g.host_id = h.host_id AND g.present
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    ),
    select<{ wave_id: string; status: string | null; n: number }>(
      db,
      `SELECT h.wave_id, g.status, count(g.guest_id)::int AS n
         FROM ${s}.hosts h LEFT JOIN ${s}.guests g ON g.host_id = h.host_id AND g.present
        WHERE h.wave_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`,
    ),
    select<{ n: number }>(
      db,
      // kept with the view by the projector (GUESTS.superpageLost), not parsed from each decision
      `SELECT count(*)::int AS n FROM ${s}.guests WHERE present AND superpage_lost`,
    ),
    select<{ version: string | null; target: string | null; hosts: number }>(
      db,
      `SELECT hypervisor_version AS version, upgrade->>'toVersion' AS target, count(*)::int AS hosts FROM ${s}.hosts GROUP BY 1, 2`,
    ),
    select<{ wave_id: string; hosts: number }>(
      db,
      `SELECT wave_id, count(*)::int AS hosts FROM ${s}.hosts WHERE wave_id IS NOT NULL GROUP BY 1`,
    ),
  ]);
  const versionKey = (r: { version: string | null; target: string | null }) => JSON.stringify([r.version, r.target]);
  const hostsPerVersion = new Map(versionHosts.map((r) => [versionKey(r), r.hosts]));
  const hostsPerWave = new Map(waveHosts.map((r) => [r.wave_id, r.hosts]));
  const statusMap: Record<string, number> = {};
  let total = 0;
  for (const r of byStatus) {
    statusMap[r.status] = r.n;
    total += r.n;
  }
  const versions = new Map<string, VersionSummary>();
  for (const r of byVersion) {
    const key = versionKey(r);
    const v = versions.get(key) ?? {
      version: r.version,
      targetVersion: r.target,
      hosts: hostsPerVersion.get(key) ?? 0,
      guests: 0,
      byStatus: {},
    };
    if (r.status) {
      v.guests += r.n;
      v.byStatus[r.status] = r.n;
    }
    versions.set(key, v);
  }
  const waves = new Map<string, WaveSummary>();
  for (const r of byWave) {
    const w = waves.get(r.wave_id) ?? {
      waveId: r.wave_id,
      hosts: hostsPerWave.get(r.wave_id) ?? 0,
      guests: 0,
      byStatus: {},
    };
    if (r.status) {
      w.guests += r.n;
      w.byStatus[r.status] = r.n;
    }
    waves.set(r.wave_id, w);
  }
  return {
    guests: total,
    byStatus: statusMap,
    byHypervisorVersion: [...versions.values()],
    byWave: [...waves.values()],
    lostFirstGiBSuperpage: lost[0].n,
  };
}
