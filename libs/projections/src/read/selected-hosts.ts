import { ReadContext, select } from './context';
import { HOST_SELECTION_SQL, HostSelection, selectionParams } from './host-selection';

/** A host of a selection, with what the policy and the what-if answer need of it. */
export interface SelectedHost {
  readonly hostId: string;
  readonly registered: boolean;
  readonly hypervisorVersion: string | null;
  readonly hypervisorBuild: string | null;
  readonly rsdpOverrideSupported: boolean;
  readonly labels: Record<string, string>;
  readonly waveId: string | null;
}

interface SelectedHostDbRow {
  host_id: string;
  registered: boolean;
  hypervisor_version: string | null;
  hypervisor_build: string | null;
  rsdp_override_supported: boolean;
  labels: Record<string, string> | null;
  wave_id: string | null;
}

/** The hosts selected (registered or not), in host id order. */
export async function readSelectedHosts({ db, s }: ReadContext, sel: HostSelection): Promise<SelectedHost[]> {
  const rows = await select<SelectedHostDbRow>(
    db,
    `SELECT host_id, registered, hypervisor_version, hypervisor_build, rsdp_override_supported, labels, wave_id
       FROM ${s}.hosts WHERE ${HOST_SELECTION_SQL} ORDER BY host_id`,
    selectionParams(sel),
  );
  return rows.map((h) => ({
    hostId: h.host_id,
    registered: h.registered,
    hypervisorVersion: h.hypervisor_version,
    hypervisorBuild: h.hypervisor_build,
    rsdpOverrideSupported: h.rsdp_override_supported,
    labels: h.labels ?? {},
    waveId: h.wave_id,
  }));
}
