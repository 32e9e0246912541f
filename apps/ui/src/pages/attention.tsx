import { useEffect, useState } from 'preact/hooks';
import { api, AttentionPage as Page, q, Wave } from '../api';
import { ErrorBox, GuestLink, HostLink, Loading, Num, Pager, StatusBadge } from '../components';
import { useData } from '../data';
import { KIND_LABEL, labelsText, n, NEED_TEXT, parseLabels, REASON_SHORT, REASON_TEXT } from '../format';
import { href, navigate, Route } from '../router';

const PAGE = 25;
const KINDS = ['blocked', 'override', 'unknown-kernel'] as const;

export function AttentionPage({ route }: { route: Route }) {
  const p = route.params;
  const filter = {
    kind: p.get('kind') ?? '',
    reason: p.get('reason') ?? '',
    wave: p.get('wave') ?? '',
    host: p.get('host') ?? '',
    labels: p.get('labels') ?? '',
  };
  const [form, setForm] = useState(filter);
  const [formError, setFormError] = useState<string | null>(null);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const filterKey = JSON.stringify(filter);
  useEffect(() => {
    setForm(filter);
    setCursors([null]);
  }, [filterKey]);

  const labels = parseLabels(filter.labels) ?? {};
  const cursor = cursors[cursors.length - 1];
  const page = useData<Page>(`${filterKey}|${cursor ?? ''}`, (signal) =>
    api(
      `/v1/attention${q({ kind: filter.kind, reason: filter.reason, waveId: filter.wave, hostId: filter.host, label: Object.entries(labels).map(([k, v]) => `${k}=${v}`), limit: PAGE, cursor })}`,
      { signal },
    ),
  );
  const waves = useData<{ items: Wave[] }>('waves', (signal) => api('/v1/waves', { signal }), { live: false });

  const apply = (e: Event) => {
    e.preventDefault();
    if (form.labels && !parseLabels(form.labels)) {
      setFormError('Labels must be key=value, separated by commas.');
      return;
    }
    setFormError(null);
    navigate(href('attention', null, form));
  };
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const counts = page.data?.counts;
  const reasons = Object.entries(counts?.reasons ?? {}).sort((a, b) => b[1] - a[1]);
  if (filter.reason && !reasons.some(([r]) => r === filter.reason)) reasons.push([filter.reason, 0]);

  return (
    <div data-testid="attention-page">
      <h1>Attention</h1>
      <p class="lead">
        Guests that will not boot as things stand (blocked), that need their host to force the RSDP low (override), or
        whose kernel CI never announced (unknown kernel).
      </p>
      <form class="card filters" onSubmit={apply} aria-label="Filter the guests" data-testid="attention-filters">
        <div class="field">
          <label for="f-kind">Kind</label>
          <select id="f-kind" value={form.kind} onChange={set('kind')}>
            <option value="">all kinds</option>
            {KINDS.map((k) => (
              <option value={k} key={k}>
                {KIND_LABEL[k]}
                {counts ? ` (${n(counts.kinds[k])})` : ''}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-reason">Reason</label>
          <select id="f-reason" value={form.reason} onChange={set('reason')}>
            <option value="">all reasons</option>
            {reasons.map(([r, c]) => (
              <option value={r} key={r}>
                {REASON_SHORT[r] ?? r} ({n(c)})
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-wave">Wave</label>
          <select id="f-wave" value={form.wave} onChange={set('wave')}>
            <option value="">all waves</option>
            {(waves.data?.items ?? []).map((w) => (
              <option value={w.waveId} key={w.waveId}>
                {w.waveId}
              </option>
            ))}
            {form.wave && !(waves.data?.items ?? []).some((w) => w.waveId === form.wave) && (
              <option value={form.wave}>{form.wave}</option>
            )}
          </select>
        </div>
        <div class="field">
          <label for="f-host">Host id</label>
          <input id="f-host" value={form.host} onInput={set('host')} placeholder="host-r1-01" />
        </div>
        <div class="field">
          <label for="f-labels">Host labels</label>
          <input id="f-labels" value={form.labels} onInput={set('labels')} placeholder="rack=r1, pool=general" />
        </div>
        <div class="field actions">
          <button type="submit" data-testid="apply-filters">
            Apply
          </button>
          <a href={href('attention')} class="button secondary">
            Clear
          </a>
        </div>
        {formError && (
          <p class="error" role="alert">
            {formError}
          </p>
        )}
      </form>

      {counts && (
        <div class="chips" data-testid="attention-counts" aria-label="Counts under the wave, host and label filters">
          <span class="chip">
            <Num value={counts.total} testId="count-total" /> need attention
          </span>
          {KINDS.map((k) => (
            <a
              class={`chip kind-${k} ${filter.kind === k ? 'on' : ''}`}
              key={k}
              href={href('attention', null, { ...filter, kind: filter.kind === k ? '' : k })}
            >
              <Num value={counts.kinds[k]} testId={`count-${k}`} /> {KIND_LABEL[k].toLowerCase()}
            </a>
          ))}
        </div>
      )}

      {page.error && <ErrorBox error={page.error} />}
      {!page.data ? (
        <Loading what="the guests" />
      ) : page.data.items.length === 0 ? (
        <p class="card" data-testid="attention-empty">
          No guest needs attention under these filters.
        </p>
      ) : (
        <>
          <ol class="attention-list" data-testid="attention-list">
            {page.data.items.map((g) => (
              <li
                key={`${g.guestId}|${g.hostId}`}
                class="card attention-item"
                data-testid="attention-item"
                data-guest={g.guestId}
                data-host={g.hostId}
              >
                <div class="item-head">
                  <h2 class="h3">
                    <GuestLink guestId={g.guestId} hostId={g.hostId} />
                  </h2>
                  {!g.kinds.some((k) => k === g.status) && <StatusBadge status={g.status} />}
                  {g.kinds.map((k) => (
                    <span class={`badge kind kind-${k}`} key={k}>
                      {KIND_LABEL[k]}
                    </span>
                  ))}
                </div>
                <p class="meta">
                  on <HostLink hostId={g.hostId} />
                  {g.waveId ? (
                    <>
                      {' '}
                      · wave <a href={href('waves', null, { wave: g.waveId })}>{g.waveId}</a>
                    </>
                  ) : null}{' '}
                  · decided for Xen {g.hypervisorVersion} · labels {labelsText(g.labels)}
                </p>
                <p class="reason">
                  <strong>Why:</strong> {REASON_TEXT[g.reason] ?? g.reason}
                </p>
                <p class="reason small">
                  <strong>Kernel:</strong>{' '}
                  {g.kernel.release
                    ? `${g.kernel.release}${g.kernel.distro ? ` (${g.kernel.distro})` : ''}`
                    : g.kernel.sha256
                      ? `not announced (${g.kernel.sha256.slice(0, 12)}…)`
                      : 'none reported'}
                  {g.reason !== 'kernel-not-pvh-capable' && g.needReason && NEED_TEXT[g.needReason]
                    ? ` · ${NEED_TEXT[g.needReason]}`
                    : ''}
                </p>
                {g.remedy.length > 0 && (
                  <div class="remedy">
                    <strong>Remedy</strong> (any one is enough):
                    <ul>
                      {g.remedy.map((r, i) => (
                        <li key={i}>{r}</li>
                      ))}
                    </ul>
                  </div>
                )}
                {!g.kinds.includes('blocked') && (
                  <p class="remedy" data-testid="todo">
                    <strong>What to do:</strong>{' '}
                    {g.kinds.includes('unknown-kernel')
                      ? 'announce this kernel build from its pipeline (fleetcompat kernel publish <image>): its Xen notes then decide; until then a low RSDP is assumed. '
                      : ''}
                    {g.kinds.includes('override')
                      ? 'keep the RSDP override on this host: it forces the RSDP low when it applies the decision. A kernel that sets XENFEAT_linux_rsdp_unrestricted (Linux 4.17 or later) would need none.'
                      : ''}
                  </p>
                )}
                {g.kinds.includes('blocked') && (
                  <div class="fixes" data-testid="fixes">
                    <strong>Announced kernels that would unblock it:</strong>{' '}
                    {g.fixes.length ? (
                      <ul>
                        {g.fixes.map((f) => (
                          <li key={f.imageSha256}>
                            {f.release} ({f.distro}) <code class="small">{f.imageSha256.slice(0, 12)}</code>
                          </li>
                        ))}
                      </ul>
                    ) : (
                      <span>none announced for its distro line{g.kernel.distro ? ` (${g.kernel.distro})` : ''}.</span>
                    )}
                  </div>
                )}
                <details>
                  <summary>How it was decided</summary>
                  <ol>
                    {g.explanation.map((s, i) => (
                      <li key={i}>{s}</li>
                    ))}
                  </ol>
                </details>
              </li>
            ))}
          </ol>
          <Pager
            label="attention pages"
            page={cursors.length}
            hasPrev={cursors.length > 1}
            hasNext={Boolean(page.data.nextCursor)}
            onPrev={() => setCursors(cursors.slice(0, -1))}
            onNext={() => setCursors([...cursors, page.data!.nextCursor])}
          />
        </>
      )}
    </div>
  );
}
