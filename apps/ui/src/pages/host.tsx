import { useState } from 'preact/hooks';
import { api, Host, Me, Placements, q, TimelineItem } from '../api';
import { ErrorBox, GoBadge, GuestLink, Loading, Num, Pager, Section, StatusBadge } from '../components';
import { useData } from '../data';
import { labelsText, n, REASON_SHORT, when } from '../format';
import { href } from '../router';
import { noGoReasons } from '../../../../libs/projections/src/read/go-no-go';

const GUESTS_PAGE = 50;
const TIMELINE_PAGE = 50;

function eventText(e: TimelineItem): string {
  // The event's data as the contract defines it for these types (each reads its own fields).
  const d = (e.data ?? {}) as {
    hypervisor?: { version?: string };
    rsdpOverrideSupported?: boolean;
    fromVersion?: string;
    toVersion?: string;
    waveId?: string;
    plannedRebootAt?: string;
    version?: string;
    reason?: string;
    decisionId?: string;
    guestId?: string;
  };
  switch (e.type) {
    case 'HostRegistered':
      return `registered: Xen ${d.hypervisor?.version ?? '?'}${d.rsdpOverrideSupported ? ', can force low placement' : ', cannot force low placement'}`;
    case 'HypervisorUpgradePlanned':
      return `upgrade planned: ${d.fromVersion} → ${d.toVersion}${d.waveId ? `, wave ${d.waveId}` : ''}, reboot ${when(d.plannedRebootAt)}`;
    case 'HypervisorUpgradeStarted':
      return `upgrade started${d.toVersion ? ` to ${d.toVersion}` : ''}`;
    case 'HypervisorUpgradeCompleted':
      return `upgrade completed: now Xen ${d.version ?? d.toVersion ?? '?'}`;
    case 'HypervisorUpgradeCancelled':
      return `upgrade cancelled${d.reason ? `: ${d.reason}` : ''}`;
    case 'PlacementApplied':
      return `applied ${d.decisionId} to ${d.guestId}`;
    default:
      return e.type;
  }
}

export function HostPage({ hostId, me }: { hostId: string; me: Me }) {
  const planner = me.may.hosts === 'all';
  const host = useData<Host>(`host|${hostId}`, (signal) => api(`/v1/hosts/${encodeURIComponent(hostId)}`, { signal }));
  const placements = useData<Placements>(`placements|${hostId}`, (signal) =>
    api(`/v1/hosts/${encodeURIComponent(hostId)}/placements`, { signal }),
  );
  const [guestPage, setGuestPage] = useState(0);
  const [afters, setAfters] = useState<(number | null)[]>([null]);
  const after = afters[afters.length - 1];
  const timeline = useData<{ items: TimelineItem[]; nextAfter: number | null }>(
    me.may.hostTimeline ? `timeline|${hostId}|${after ?? ''}` : null,
    (signal) =>
      api(`/v1/hosts/${encodeURIComponent(hostId)}/timeline${q({ after: after ?? undefined, limit: TIMELINE_PAGE })}`, {
        signal,
      }),
  );

  if (!host.data) return host.error ? <ErrorBox error={host.error} /> : <Loading what="the host" />;
  const h = host.data;
  const r = h.readiness;
  const rows = placements.data?.placements ?? [];
  const shown = rows.slice(guestPage * GUESTS_PAGE, (guestPage + 1) * GUESTS_PAGE);
  const why = r.ready ? [] : noGoReasons(r, h.registered);
  return (
    <div data-testid="host-page">
      <h1>
        Host <span class="mono">{h.hostId}</span> <GoBadge go={r.ready} testId="host-go" />
      </h1>
      <div class="grid">
        <Section title="Upgrade and readiness" id="readiness">
          <dl class="facts">
            <dt>Xen</dt>
            <dd data-testid="host-version">
              {h.hypervisor.version ?? 'not registered'}
              {h.hypervisor.build ? ` (build ${h.hypervisor.build})` : ''}
            </dd>
            <dt>upgrade</dt>
            <dd data-testid="host-upgrade">
              {h.plannedUpgrade
                ? `to ${h.plannedUpgrade.toVersion}${h.plannedUpgrade.toBuild ? ` (${h.plannedUpgrade.toBuild})` : ''}, ${h.plannedUpgrade.state}`
                : 'none planned'}
            </dd>
            {h.plannedUpgrade && (
              <>
                <dt>wave</dt>
                <dd>
                  {h.plannedUpgrade.waveId ? (
                    planner ? (
                      <a href={href('waves', null, { wave: h.plannedUpgrade.waveId })}>{h.plannedUpgrade.waveId}</a>
                    ) : (
                      h.plannedUpgrade.waveId
                    )
                  ) : (
                    '–'
                  )}
                </dd>
                <dt>planned reboot</dt>
                <dd>{when(h.plannedUpgrade.plannedRebootAt)}</dd>
              </>
            )}
            <dt>decisions for</dt>
            <dd>Xen {h.decisionsForVersion ?? '–'}</dd>
            <dt>RSDP override</dt>
            <dd>{h.rsdpOverrideSupported ? 'the toolstack can force low placement' : 'cannot force low placement'}</dd>
            <dt>labels</dt>
            <dd>{labelsText(h.labels)}</dd>
          </dl>
          <div class="stats small-stats">
            <div class="stat">
              <div class="stat-value">
                <Num value={r.guests} testId="readiness-guests" />
              </div>
              <div class="stat-label">guests</div>
            </div>
            <div class="stat">
              <div class="stat-value">
                <Num value={r.decided} testId="readiness-decided" />
              </div>
              <div class="stat-label">decided</div>
            </div>
            <div class="stat">
              <div class="stat-value">
                <Num value={r.acknowledged} testId="readiness-acknowledged" />
              </div>
              <div class="stat-label">acknowledged</div>
            </div>
            <div class={`stat ${r.blocked ? 'bad' : ''}`}>
              <div class="stat-value">
                <Num value={r.blocked} testId="readiness-blocked" />
              </div>
              <div class="stat-label">blocked</div>
            </div>
          </div>
          <p data-testid="readiness-verdict">
            {r.ready
              ? 'Go: every guest is decided and acknowledged, none is blocked; the host may reboot.'
              : `No-go: ${why.join('; ')}.`}
          </p>
        </Section>

        {me.may.hostTimeline && (
          <Section title="Timeline" id="timeline">
            {timeline.error && <ErrorBox error={timeline.error} />}
            {!timeline.data ? (
              <Loading what="the timeline" />
            ) : (
              <>
                <ol class="timeline" data-testid="host-timeline">
                  {timeline.data.items.map((e) => (
                    <li key={e.eventId} class={`tl-item ${e.type}`} data-testid="timeline-item">
                      <div class="tl-time">{when(e.occurredAt)}</div>
                      <div class="tl-body">
                        <strong>{e.type}</strong>
                        <div>{eventText(e)}</div>
                        <div class="small muted">
                          {e.source} · <code>{e.eventId}</code>
                        </div>
                      </div>
                    </li>
                  ))}
                </ol>
                {(afters.length > 1 || timeline.data.nextAfter !== null) && (
                  <Pager
                    label="timeline pages"
                    page={afters.length}
                    hasPrev={afters.length > 1}
                    hasNext={timeline.data.nextAfter !== null}
                    onPrev={() => setAfters(afters.slice(0, -1))}
                    onNext={() => setAfters([...afters, timeline.data!.nextAfter])}
                  />
                )}
              </>
            )}
          </Section>
        )}
      </div>

      <Section title={`Guests (${n(rows.length)})`} id="guests">
        {placements.error && <ErrorBox error={placements.error} />}
        {!placements.data ? (
          <Loading what="the guests" />
        ) : (
          <>
            <table data-testid="host-guests">
              <thead>
                <tr>
                  <th scope="col">guest</th>
                  <th scope="col">status</th>
                  <th scope="col">RSDP</th>
                  <th scope="col">action</th>
                  <th scope="col">reason</th>
                  <th scope="col">acknowledged</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((p) => (
                  <tr key={p.guestId} data-testid="placement-row" data-guest={p.guestId} data-status={p.status}>
                    <th scope="row">
                      <GuestLink guestId={p.guestId} hostId={hostId} linked={me.may.guests} />
                    </th>
                    <td>
                      <StatusBadge status={p.status} />
                    </td>
                    <td>{p.decision?.rsdp ?? '–'}</td>
                    <td>{p.decision?.action ?? '–'}</td>
                    <td>{p.decision ? (REASON_SHORT[p.decision.reason] ?? p.decision.reason) : '–'}</td>
                    <td>{p.decision ? (p.acknowledged ? 'yes' : 'no') : '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {rows.length > GUESTS_PAGE && (
              <Pager
                label="guest pages"
                page={guestPage + 1}
                hasPrev={guestPage > 0}
                hasNext={(guestPage + 1) * GUESTS_PAGE < rows.length}
                onPrev={() => setGuestPage(guestPage - 1)}
                onNext={() => setGuestPage(guestPage + 1)}
              />
            )}
          </>
        )}
      </Section>
    </div>
  );
}
