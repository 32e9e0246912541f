import type { WaveReadiness } from './answers';
export type { WaveReadiness } from './answers';
import { isoOf, ReadContext, select } from './context';
import { readinessCountsSql, readySql } from './readiness';

/** The hosts of a wave with one planned reboot time and target, counted. */
interface WaveGroupDbRow {
  wave_id: string;
  reboot_at: string | null;
  target: string;
  hosts: number;
  started: number;
  guests: number | null;
  decided: number | null;
  acknowledged: number | null;
  blocked: number | null;
  ready: number;
  hosts_blocked: number;
}

const int = (v: number | null): number => Number(v ?? 0);

/** Every wave (wave id order) with the readiness of its hosts (as GET /v1/hosts/{id} counts it), its targets and planned reboots. */
export async function readWaves({ db, s }: ReadContext): Promise<WaveReadiness[]> {
  const rows = await select<WaveGroupDbRow>(
    db,
    `WITH planned AS (SELECT host_id, registered, wave_id, upgrade FROM ${s}.hosts WHERE wave_id IS NOT NULL),
            r AS (${readinessCountsSql(s, 'planned')})
       SELECT p.wave_id, p.upgrade->>'plannedRebootAt' AS reboot_at, p.upgrade->>'toVersion' AS target,
              count(*)::int AS hosts,
              (count(*) FILTER (WHERE p.upgrade->>'state' = 'started'))::int AS started,
              sum(r.guests)::int AS guests, sum(r.decided)::int AS decided, sum(r.acknowledged)::int AS acknowledged, sum(r.blocked)::int AS blocked,
              (count(*) FILTER (WHERE ${readySql('r')}))::int AS ready,
              (count(*) FILTER (WHERE r.blocked > 0))::int AS hosts_blocked
         FROM planned p JOIN r ON r.host_id = p.host_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  );
  const waves = new Map<string, WaveReadiness>();
  for (const r of rows) {
    let w = waves.get(r.wave_id);
    if (!w) {
      w = {
        waveId: r.wave_id,
        hosts: 0,
        hostsReady: 0,
        hostsBlocked: 0,
        hostsStarted: 0,
        guests: 0,
        decided: 0,
        acknowledged: 0,
        blocked: 0,
        go: false,
        targets: [],
        reboots: [],
        firstRebootAt: null,
        lastRebootAt: null,
      };
      waves.set(r.wave_id, w);
    }
    w.hosts += int(r.hosts);
    w.hostsReady += int(r.ready);
    w.hostsBlocked += int(r.hosts_blocked);
    w.hostsStarted += int(r.started);
    w.guests += int(r.guests);
    w.decided += int(r.decided);
    w.acknowledged += int(r.acknowledged);
    w.blocked += int(r.blocked);
    const target = w.targets.find((t) => t.version === r.target);
    if (target) target.hosts += int(r.hosts);
    else w.targets.push({ version: r.target, hosts: int(r.hosts) });
    const at = r.reboot_at === null ? null : isoOf(r.reboot_at);
    if (at) {
      const reboot = w.reboots.find((x) => x.at === at);
      if (reboot) {
        reboot.hosts += int(r.hosts);
        reboot.hostsReady += int(r.ready);
      } else w.reboots.push({ at, hosts: int(r.hosts), hostsReady: int(r.ready) });
    }
  }
  for (const w of waves.values()) {
    w.go = w.hosts > 0 && w.hostsReady === w.hosts;
    w.reboots.sort((a, b) => a.at.localeCompare(b.at));
    w.targets.sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true }));
    w.firstRebootAt = w.reboots[0]?.at ?? null;
    w.lastRebootAt = w.reboots[w.reboots.length - 1]?.at ?? null;
  }
  return [...waves.values()];
}
