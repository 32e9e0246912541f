import { api, Guest, HistoryItem, q } from '../api';
import { ErrorBox, HostLink, Loading, Section, StatusBadge } from '../components';
import { useData } from '../data';
import { href } from '../router';
import { NEED_TEXT, REASON_TEXT, shortSha, STATUS_HELP, when } from '../format';

const FACT_LABEL: Record<string, string> = {
  guest: 'guest observed',
  host: 'host registration',
  running: 'running version',
  upgrade: 'upgrade plan',
  kernel: 'kernel build',
  bootloader: 'bootloader build',
  behaviour: 'hypervisor behaviour',
  guestOs: 'GUEST_OS declaration',
};

export function GuestPage({ guestId, hostId }: { guestId: string; hostId: string | null }) {
  const guest = useData<Guest>(`guest|${guestId}|${hostId ?? ''}`, (signal) =>
    api(`/v1/guests/${encodeURIComponent(guestId)}${q({ hostId })}`, { signal }),
  );
  const history = useData<{ items: HistoryItem[] }>(`history|${guestId}`, (signal) =>
    api(`/v1/guests/${encodeURIComponent(guestId)}/history`, { signal }),
  );
  if (!guest.data) return guest.error ? <ErrorBox error={guest.error} /> : <Loading what="the guest" />;
  const g = guest.data;
  const d = g.decision;
  const facts = (d?.facts ?? {}) as {
    need?: string;
    needReason?: string;
    toolstackBehaviour?: string;
    toolstackPlacement?: string;
  };
  const items = (history.data?.items ?? []).filter((h) => !hostId || h.hostId === hostId);
  return (
    <div data-testid="guest-page">
      <h1>
        Guest <span class="mono">{g.guestId}</span> <StatusBadge status={g.status} />
      </h1>
      <p class="lead">
        On <HostLink hostId={g.hostId} /> · {STATUS_HELP[g.status] ?? g.status}
        {g.reportedBy.length > 1 && (
          <>
            {' '}
            · reported by several hosts:{' '}
            {g.reportedBy.map((h, i) => (
              <span key={h}>
                {i ? ', ' : ''}
                <a href={href('guest', g.guestId, { host: h })}>{h}</a>
              </span>
            ))}
          </>
        )}
      </p>
      <div class="grid">
        <Section title="Current decision" id="decision">
          {d ? (
            <>
              <dl class="facts" data-testid="decision">
                <dt>RSDP</dt>
                <dd data-testid="decision-rsdp">{d.rsdp}</dd>
                <dt>action</dt>
                <dd data-testid="decision-action">{d.action}</dd>
                <dt>reason</dt>
                <dd data-testid="decision-reason" data-value={d.reason}>
                  {REASON_TEXT[d.reason] ?? d.reason} <code class="small">{d.reason}</code>
                </dd>
                <dt>for Xen</dt>
                <dd>{d.hypervisorVersion}</dd>
                <dt>decision</dt>
                <dd>
                  <code class="small">{d.decisionId}</code> (sequence {d.sequence}), {when(d.decidedAt)}
                </dd>
                <dt>acknowledged</dt>
                <dd data-testid="decision-acknowledged">
                  {g.acknowledged ? `yes, applied ${when(g.acknowledged.appliedAt)}` : 'not yet'}
                </dd>
                <dt>costs</dt>
                <dd>{d.costs.length ? d.costs.map((c) => c.detail).join('; ') : 'none'}</dd>
              </dl>
              {g.explanation.remedy.length > 0 && (
                <div class="remedy" data-testid="remedy">
                  <strong>Remedy</strong> (any one is enough):
                  <ul>
                    {g.explanation.remedy.map((r, i) => (
                      <li key={i}>{r}</li>
                    ))}
                  </ul>
                </div>
              )}
            </>
          ) : (
            <p>No decision yet.</p>
          )}
          <h3>Explanation</h3>
          <ol data-testid="explanation">
            {g.explanation.steps.map((s, i) => (
              <li key={i}>{s}</li>
            ))}
          </ol>
          {g.explanation.flags.length > 0 && <p class="notice">Flags: {g.explanation.flags.join(', ')}</p>}
        </Section>
        <Section title="Facts" id="facts">
          <dl class="facts">
            <dt>mode</dt>
            <dd>{g.mode ?? '–'}</dd>
            <dt>memory</dt>
            <dd>{g.memoryMiB ?? '–'} MiB</dd>
            <dt>boot</dt>
            <dd>{g.boot.method ?? '–'}</dd>
            <dt>kernel</dt>
            <dd>
              {g.kernel?.release ?? (g.boot.kernelSha256 ? 'not announced' : 'none reported')}{' '}
              {g.kernel?.distro ? `(${g.kernel.distro})` : ''}{' '}
              <code class="small">{shortSha(g.boot.kernelSha256)}</code>
              {g.kernel?.revoked ? ' (revoked)' : ''}
            </dd>
            {g.boot.bootloaderSha256 && (
              <>
                <dt>bootloader</dt>
                <dd>
                  {g.bootloader?.release ?? 'not announced'}{' '}
                  <code class="small">{shortSha(g.boot.bootloaderSha256)}</code>
                </dd>
              </>
            )}
            <dt>needs</dt>
            <dd>{facts.need ? `${facts.need} RSDP: ${NEED_TEXT[facts.needReason ?? ''] ?? facts.needReason}` : '–'}</dd>
            <dt>toolstack</dt>
            <dd>
              {facts.toolstackBehaviour
                ? `${facts.toolstackBehaviour}, would place ${facts.toolstackPlacement ?? '–'}`
                : '–'}
            </dd>
            <dt>host override</dt>
            <dd>
              {g.host ? (g.host.rsdpOverrideSupported ? 'can force low placement' : 'cannot force low placement') : '–'}
            </dd>
            <dt>host upgrade</dt>
            <dd>
              {g.host?.plannedUpgrade
                ? `to ${g.host.plannedUpgrade.toVersion}, wave ${g.host.plannedUpgrade.waveId ?? '–'}, reboot ${when(g.host.plannedUpgrade.plannedRebootAt)}`
                : 'none planned'}
            </dd>
          </dl>
        </Section>
      </div>
      <Section title="History" id="history">
        {history.error && <ErrorBox error={history.error} />}
        {!history.data ? (
          <Loading what="the history" />
        ) : (
          <ol class="timeline" data-testid="history">
            {items
              .slice()
              .reverse()
              .map((h, i) => (
                <li
                  key={h.decisionId}
                  class={`tl-item ${h.kind}`}
                  data-testid="history-item"
                  data-sequence={h.sequence}
                >
                  <div class="tl-time">{when(h.decidedAt)}</div>
                  <div class="tl-body">
                    <div>
                      <strong>
                        #{h.sequence}{' '}
                        {h.kind === 'withdrawn' ? 'withdrawn' : `${h.message.action} · RSDP ${h.message.rsdp}`}
                      </strong>{' '}
                      {h.rule && <StatusBadge status={h.rule.status} />} for Xen {h.message.hypervisorVersion ?? '–'} on{' '}
                      {h.hostId}
                    </div>
                    {h.rule && <div>{REASON_TEXT[h.rule.reason] ?? h.rule.reason}</div>}
                    <div class="small">
                      after <strong>{h.causedBy?.type}</strong> <code>{h.causedBy?.eventId}</code> (
                      {when(h.causedBy?.occurredAt)})
                    </div>
                    {h.restedOn.length > 0 && (
                      <details open={i === 0}>
                        <summary>Rested on {h.restedOn.length} events</summary>
                        <ul class="small">
                          {h.restedOn.map((e) => (
                            <li key={`${e.fact}|${e.eventId}`}>
                              {FACT_LABEL[e.fact ?? ''] ?? e.fact}: {e.type} <code>{e.eventId}</code> (
                              {when(e.occurredAt)})
                            </li>
                          ))}
                        </ul>
                      </details>
                    )}
                  </div>
                </li>
              ))}
          </ol>
        )}
      </Section>
    </div>
  );
}
