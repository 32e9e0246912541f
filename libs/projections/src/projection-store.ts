import { Queryable } from '@fleetcompat/event-store';
import { Topics } from '@fleetcompat/contract';
import { AckRow, BehaviourRuleRow, DecisionRecord, GuestRow, HostRow, KernelRow } from './model';
import { ProjectedEvent } from './evolve';
import { assertSchemaName } from './schema';
import { WorkingSet } from './working-set';

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());

export function kernelFromDb(r: any): KernelRow {
  return {
    imageSha256: r.image_sha256,
    release: r.release,
    arch: r.arch,
    distro: r.distro,
    xenNotes: r.xen_notes,
    pipeline: r.pipeline,
    revoked: r.revoked,
    revokedReason: r.revoked_reason,
    lastEventId: r.last_event_id,
  };
}
export function hostFromDb(r: any): HostRow {
  return {
    hostId: r.host_id,
    registered: r.registered,
    hypervisorVersion: r.hypervisor_version,
    hypervisorBuild: r.hypervisor_build,
    rsdpOverrideSupported: r.rsdp_override_supported,
    labels: r.labels ?? {},
    upgrade: r.upgrade,
    lastEventId: r.last_event_id,
  };
}
export function guestFromDb(r: any): GuestRow {
  return {
    guestId: r.guest_id,
    hostId: r.host_id,
    present: r.present,
    mode: r.mode,
    memoryMiB: r.memory_mib,
    bootMethod: r.boot_method,
    kernelSha256: r.kernel_sha256,
    bootloaderSha256: r.bootloader_sha256,
    observedAt: iso(r.observed_at),
    status: r.status,
    need: r.need,
    sequence: r.sequence,
    decision: r.decision,
    lastEventId: r.last_event_id,
  };
}

/** Which rows a batch of events can reach. */
function reach(events: readonly ProjectedEvent[]) {
  const hostIds = new Set<string>();
  const guestIds = new Set<string>();
  const kernelShas = new Set<string>();
  const fanoutHosts = new Set<string>();
  const fanoutImages = new Set<string>();
  let allGuests = false;
  for (const e of events) {
    const d = e.data;
    switch (e.type) {
      case 'KernelBuildCompleted':
      case 'KernelBuildRevoked':
        kernelShas.add(d.imageSha256);
        fanoutImages.add(d.imageSha256);
        break;
      case 'HostRegistered':
      case 'HypervisorUpgradePlanned':
      case 'HypervisorUpgradeCompleted':
      case 'HypervisorUpgradeCancelled':
        hostIds.add(d.hostId);
        fanoutHosts.add(d.hostId);
        break;
      case 'HypervisorUpgradeStarted':
      case 'PlacementApplied':
        hostIds.add(d.hostId);
        break;
      case 'GuestObserved':
        guestIds.add(d.guestId);
        hostIds.add(d.hostId);
        if (d.boot?.kernelSha256) kernelShas.add(d.boot.kernelSha256);
        if (d.boot?.bootloaderSha256) kernelShas.add(d.boot.bootloaderSha256);
        break;
      case 'GuestRemoved':
        guestIds.add(d.guestId);
        break;
      case 'HypervisorBehaviourDeclared':
        allGuests = true;
        break;
    }
  }
  return { hostIds, guestIds, kernelShas, fanoutHosts, fanoutImages, allGuests };
}

/** Loads and saves the projection rows of one schema. */
export class ProjectionStore {
  readonly schema: string;

  constructor(schema: string) {
    this.schema = assertSchemaName(schema);
  }

  /** Fills a working set with every row the events can reach. */
  async load(q: Queryable, events: readonly ProjectedEvent[]): Promise<WorkingSet> {
    const s = this.schema;
    const ws = new WorkingSet();
    const r = reach(events);

    const guestRows: any[] = r.allGuests
      ? await q.query(`SELECT * FROM ${s}.guests`)
      : await q.query(
          `SELECT * FROM ${s}.guests
            WHERE guest_id = ANY($1::text[]) OR host_id = ANY($2::text[])
               OR kernel_sha256 = ANY($3::text[]) OR bootloader_sha256 = ANY($3::text[])`,
          [[...r.guestIds], [...r.fanoutHosts], [...r.fanoutImages]],
        );
    for (const row of guestRows) {
      const g = guestFromDb(row);
      ws.loadGuest(g);
      r.hostIds.add(g.hostId);
      if (g.kernelSha256) r.kernelShas.add(g.kernelSha256);
      if (g.bootloaderSha256) r.kernelShas.add(g.bootloaderSha256);
    }
    const hostRows: any[] = await q.query(`SELECT * FROM ${s}.hosts WHERE host_id = ANY($1::text[])`, [[...r.hostIds]]);
    for (const row of hostRows) ws.hosts.set(row.host_id, hostFromDb(row));
    const kernelRows: any[] = await q.query(`SELECT * FROM ${s}.kernels WHERE image_sha256 = ANY($1::text[])`, [[...r.kernelShas]]);
    for (const row of kernelRows) ws.kernels.set(row.image_sha256, kernelFromDb(row));
    const ruleRows: any[] = await q.query(`SELECT * FROM ${s}.behaviour_rules ORDER BY key`);
    for (const row of ruleRows) ws.rules.set(row.key, { key: row.key, rule: row.rule, eventId: row.event_id });
    return ws;
  }

  /** Saves what the batch changed; with `outbox`, also queues the decisions for publishing. */
  async save(q: Queryable, ws: WorkingSet, options: { outbox: boolean }): Promise<void> {
    const s = this.schema;
    const kernels = [...ws.dirtyKernels].map((k) => ws.kernels.get(k)!);
    if (kernels.length) {
      await q.query(
        `INSERT INTO ${s}.kernels (image_sha256, release, arch, distro, xen_notes, pipeline, revoked, revoked_reason, last_event_id)
         SELECT x.image_sha256, x.release, x.arch, x.distro, x.xen_notes, x.pipeline, x.revoked, x.revoked_reason, x.last_event_id
           FROM jsonb_to_recordset($1::jsonb) AS x(image_sha256 text, release text, arch text, distro text, xen_notes jsonb,
                pipeline jsonb, revoked boolean, revoked_reason text, last_event_id text)
         ON CONFLICT (image_sha256) DO UPDATE SET release = EXCLUDED.release, arch = EXCLUDED.arch, distro = EXCLUDED.distro,
           xen_notes = EXCLUDED.xen_notes, pipeline = EXCLUDED.pipeline, revoked = EXCLUDED.revoked,
           revoked_reason = EXCLUDED.revoked_reason, last_event_id = EXCLUDED.last_event_id`,
        [
          JSON.stringify(
            kernels.map((k: KernelRow) => ({
              image_sha256: k.imageSha256,
              release: k.release,
              arch: k.arch,
              distro: k.distro,
              xen_notes: k.xenNotes,
              pipeline: k.pipeline,
              revoked: k.revoked,
              revoked_reason: k.revokedReason,
              last_event_id: k.lastEventId,
            })),
          ),
        ],
      );
    }
    const hosts = [...ws.dirtyHosts].map((h) => ws.hosts.get(h)!);
    if (hosts.length) {
      await q.query(
        `INSERT INTO ${s}.hosts (host_id, registered, hypervisor_version, hypervisor_build, rsdp_override_supported, labels, upgrade, last_event_id)
         SELECT x.host_id, x.registered, x.hypervisor_version, x.hypervisor_build, x.rsdp_override_supported, x.labels, x.upgrade, x.last_event_id
           FROM jsonb_to_recordset($1::jsonb) AS x(host_id text, registered boolean, hypervisor_version text, hypervisor_build text,
                rsdp_override_supported boolean, labels jsonb, upgrade jsonb, last_event_id text)
         ON CONFLICT (host_id) DO UPDATE SET registered = EXCLUDED.registered, hypervisor_version = EXCLUDED.hypervisor_version,
           hypervisor_build = EXCLUDED.hypervisor_build, rsdp_override_supported = EXCLUDED.rsdp_override_supported,
           labels = EXCLUDED.labels, upgrade = EXCLUDED.upgrade, last_event_id = EXCLUDED.last_event_id`,
        [
          JSON.stringify(
            hosts.map((h: HostRow) => ({
              host_id: h.hostId,
              registered: h.registered,
              hypervisor_version: h.hypervisorVersion,
              hypervisor_build: h.hypervisorBuild,
              rsdp_override_supported: h.rsdpOverrideSupported,
              labels: h.labels,
              upgrade: h.upgrade,
              last_event_id: h.lastEventId,
            })),
          ),
        ],
      );
    }
    const guests = [...ws.dirtyGuests].map((g) => ws.guests.get(g)!);
    for (let i = 0; i < guests.length; i += 5000) {
      const chunk = guests.slice(i, i + 5000);
      await q.query(
        `INSERT INTO ${s}.guests (guest_id, host_id, present, mode, memory_mib, boot_method, kernel_sha256, bootloader_sha256,
                                  observed_at, status, need, sequence, decision, last_event_id)
         SELECT x.guest_id, x.host_id, x.present, x.mode, x.memory_mib, x.boot_method, x.kernel_sha256, x.bootloader_sha256,
                x.observed_at, x.status, x.need, x.sequence, x.decision, x.last_event_id
           FROM jsonb_to_recordset($1::jsonb) AS x(guest_id text, host_id text, present boolean, mode text, memory_mib integer,
                boot_method text, kernel_sha256 text, bootloader_sha256 text, observed_at timestamptz, status text, need text,
                sequence integer, decision jsonb, last_event_id text)
         ON CONFLICT (guest_id) DO UPDATE SET host_id = EXCLUDED.host_id, present = EXCLUDED.present, mode = EXCLUDED.mode,
           memory_mib = EXCLUDED.memory_mib, boot_method = EXCLUDED.boot_method, kernel_sha256 = EXCLUDED.kernel_sha256,
           bootloader_sha256 = EXCLUDED.bootloader_sha256, observed_at = EXCLUDED.observed_at, status = EXCLUDED.status,
           need = EXCLUDED.need, sequence = EXCLUDED.sequence, decision = EXCLUDED.decision, last_event_id = EXCLUDED.last_event_id`,
        [
          JSON.stringify(
            chunk.map((g: GuestRow) => ({
              guest_id: g.guestId,
              host_id: g.hostId,
              present: g.present,
              mode: g.mode,
              memory_mib: g.memoryMiB,
              boot_method: g.bootMethod,
              kernel_sha256: g.kernelSha256,
              bootloader_sha256: g.bootloaderSha256,
              observed_at: g.observedAt,
              status: g.status,
              need: g.need,
              sequence: g.sequence,
              decision: g.decision,
              last_event_id: g.lastEventId,
            })),
          ),
        ],
      );
    }
    const acks = [...ws.dirtyAcks].map((k) => ws.acks.get(k)!);
    if (acks.length) {
      await q.query(
        `INSERT INTO ${s}.acks (host_id, guest_id, decision_id, applied_at, event_id)
         SELECT x.host_id, x.guest_id, x.decision_id, x.applied_at, x.event_id
           FROM jsonb_to_recordset($1::jsonb) AS x(host_id text, guest_id text, decision_id text, applied_at timestamptz, event_id text)
         ON CONFLICT (host_id, guest_id) DO UPDATE SET decision_id = EXCLUDED.decision_id, applied_at = EXCLUDED.applied_at,
           event_id = EXCLUDED.event_id`,
        [JSON.stringify(acks.map((a: AckRow) => ({ host_id: a.hostId, guest_id: a.guestId, decision_id: a.decisionId, applied_at: a.appliedAt, event_id: a.eventId })))],
      );
    }
    const rules = [...ws.dirtyRules].map((k) => ws.rules.get(k)!);
    if (rules.length) {
      await q.query(
        `INSERT INTO ${s}.behaviour_rules (key, rule, event_id)
         SELECT x.key, x.rule, x.event_id FROM jsonb_to_recordset($1::jsonb) AS x(key text, rule jsonb, event_id text)
         ON CONFLICT (key) DO UPDATE SET rule = EXCLUDED.rule, event_id = EXCLUDED.event_id`,
        [JSON.stringify(rules.map((r: BehaviourRuleRow) => ({ key: r.key, rule: r.rule, event_id: r.eventId })))],
      );
    }
    for (let i = 0; i < ws.records.length; i += 5000) {
      const chunk = ws.records.slice(i, i + 5000);
      await q.query(
        `INSERT INTO ${s}.decisions (decision_id, guest_id, host_id, sequence, kind, message, caused_by, detail, decided_at)
         SELECT x.decision_id, x.guest_id, x.host_id, x.sequence, x.kind, x.message, x.caused_by, x.detail, x.decided_at
           FROM jsonb_to_recordset($1::jsonb) AS x(decision_id text, guest_id text, host_id text, sequence integer, kind text,
                message jsonb, caused_by jsonb, detail jsonb, decided_at timestamptz)`,
        [
          JSON.stringify(
            chunk.map((d: DecisionRecord) => ({
              decision_id: d.decisionId,
              guest_id: d.guestId,
              host_id: d.hostId,
              sequence: d.sequence,
              kind: d.kind,
              message: d.message,
              caused_by: d.causedBy,
              detail: d.detail,
              decided_at: d.decidedAt,
            })),
          ),
        ],
      );
      if (options.outbox) {
        // WITH ORDINALITY keeps the batch's order in the outbox's ids.
        await q.query(
          `INSERT INTO outbox (topic, key, value, headers)
           SELECT $2, x.value->>'hostId', x.value, jsonb_build_object('type', x.value->>'type', 'guestId', x.value->>'guestId')
             FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS x(value, n) ORDER BY x.n`,
          [JSON.stringify(chunk.map((d) => d.message)), Topics.placementDecisions],
        );
      }
    }
  }
}
