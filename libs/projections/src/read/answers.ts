// The answers of the dashboard's reads (GET /v1/summary, /v1/waves, /v1/hosts, /v1/attention),
// as types with no imports but of other such files: the dashboard (apps/ui) imports them as
// they are, so the page and the API are checked against one definition.
import type { AttentionKind } from './attention-filter';
import type { ReadinessCounts } from './go-no-go';

export interface VersionSummary {
  version: string | null;
  targetVersion: string | null;
  hosts: number;
  guests: number;
  byStatus: Record<string, number>;
}

export interface WaveSummary {
  waveId: string;
  hosts: number;
  guests: number;
  byStatus: Record<string, number>;
}

export interface FleetSummary {
  /** Present guest views. */
  guests: number;
  byStatus: Record<string, number>;
  /** Per running version and planned target (null: none planned). */
  byHypervisorVersion: VersionSummary[];
  byWave: WaveSummary[];
  /** Present guests whose current decision costs the first GiB superpage. */
  lostFirstGiBSuperpage: number;
}

/** An upgrade wave as the dashboard shows it (GET /v1/waves): its hosts' readiness and planned reboots. */
export interface WaveReadiness {
  waveId: string;
  hosts: number;
  hostsReady: number;
  hostsBlocked: number;
  hostsStarted: number;
  guests: number;
  decided: number;
  acknowledged: number;
  blocked: number;
  /** Every host of the wave is ready. */
  go: boolean;
  targets: { version: string; hosts: number }[];
  /** Planned reboot times of the wave's hosts, earliest first. */
  reboots: { at: string; hosts: number; hostsReady: number }[];
  firstRebootAt: string | null;
  lastRebootAt: string | null;
}

/** A host of the dashboard's host list (GET /v1/hosts): its planned upgrade and readiness. */
export interface HostListItem {
  hostId: string;
  registered: boolean;
  hypervisor: { version: string | null; build: string | null };
  rsdpOverrideSupported: boolean;
  labels: Record<string, string>;
  plannedUpgrade: {
    toVersion: string;
    toBuild: string | null;
    plannedRebootAt: string;
    waveId: string | null;
    state: string;
  } | null;
  readiness: ReadinessCounts;
  /** go when ready; otherwise no-go and why, in words. */
  go: boolean;
  noGoReasons: string[];
}

/** A guest that needs attention (GET /v1/attention), with its current decision's reason and remedy. */
export interface AttentionItem {
  guestId: string;
  hostId: string;
  status: string;
  kinds: AttentionKind[];
  action: string;
  reason: string;
  needReason: string | null;
  rsdp: string;
  hypervisorVersion: string;
  explanation: string[];
  remedy: string[];
  flags: string[];
  kernel: { sha256: string | null; release: string | null; distro: string | null };
  waveId: string | null;
  labels: Record<string, string>;
  decisionId: string;
}
