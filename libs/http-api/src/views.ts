import { AckRow, GuestView, HostRow, KernelRow } from '@fleetcompat/projections';

/** JSON views of projection rows for the HTTP API. */

export function kernelView(k: KernelRow | null) {
  if (!k) return null;
  return {
    imageSha256: k.imageSha256,
    release: k.release,
    arch: k.arch,
    distro: k.distro,
    xenNotes: k.xenNotes,
    revoked: k.revoked,
    revokedReason: k.revokedReason,
  };
}

export function guestSummary(g: GuestView, ack?: AckRow | null) {
  const d = g.decision?.message;
  return {
    guestId: g.guestId,
    hostId: g.hostId,
    present: g.present,
    status: g.status,
    mode: g.mode,
    memoryMiB: g.memoryMiB,
    boot: { method: g.bootMethod, kernelSha256: g.kernelSha256, bootloaderSha256: g.bootloaderSha256 },
    requiredPlacement: d ? { rsdp: d.rsdp, action: d.action, reason: d.reason } : null,
    decision: d ?? null,
    ...(ack !== undefined
      ? {
          acknowledged:
            ack && d && ack.decisionId === d.decisionId
              ? { decisionId: ack.decisionId, appliedAt: ack.appliedAt }
              : null,
        }
      : {}),
  };
}

export function hostView(h: HostRow) {
  return {
    hostId: h.hostId,
    registered: h.registered,
    hypervisor: { name: 'xen', version: h.hypervisorVersion, build: h.hypervisorBuild },
    rsdpOverrideSupported: h.rsdpOverrideSupported,
    labels: h.labels,
    plannedUpgrade: h.upgrade,
    decisionsForVersion: h.upgrade?.toVersion ?? h.hypervisorVersion,
  };
}
