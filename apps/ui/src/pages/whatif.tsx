import { useMemo, useState } from 'preact/hooks';
import { api, ApiError, PlanResult, Summary, Totals, Wave, WhatIfResult } from '../api';
import { ChartView, groupedBars } from '../charts';
import { ErrorBox, GuestLink, HostLink, Loading, Num, Section } from '../components';
import { useData } from '../data';
import { n, OUTCOME_LABEL, parseLabels, REASON_SHORT, when } from '../format';

const LISTED = 200;

interface Selector {
  ids?: string[];
  labels?: Record<string, string>;
  waveId?: string;
}

const ROWS: { key: keyof Totals; label: string }[] = [
  { key: 'fine', label: 'Fine' },
  { key: 'overrideLow', label: 'Override to low' },
  { key: 'blocked', label: 'Blocked' },
  { key: 'notApplicable', label: 'Not applicable' },
  { key: 'unknownKernel', label: 'Unknown kernel' },
  { key: 'lostFirstGiBSuperpage', label: 'First-GiB superpage lost' },
  { key: 'guests', label: 'Guests' },
  { key: 'hosts', label: 'Hosts' },
];

export function WhatIfPage() {
  const waves = useData<{ items: Wave[] }>('waves', (signal) => api('/v1/waves', { signal }), { live: false });
  const summary = useData<Summary>('summary', (signal) => api('/v1/summary', { signal }), { live: false });
  const [wave, setWave] = useState('');
  const [labels, setLabels] = useState('');
  const [ids, setIds] = useState('');
  const [version, setVersion] = useState('');
  const [build, setBuild] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<{ request: unknown; whatIf: WhatIfResult; at: Date } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [selector, setSelector] = useState<Selector | null>(null);
  // the current plan of the same hosts: live (a projector batch moves it), and cheap
  const plan = useData<PlanResult>(selector ? `plan|${JSON.stringify(selector)}` : null, (signal) =>
    api('/v1/plan', { method: 'POST', body: { hosts: selector }, signal }),
  );

  const versions = useMemo(() => {
    const set = new Set<string>();
    for (const v of summary.data?.byHypervisorVersion ?? []) {
      if (v.version) set.add(v.version);
      if (v.targetVersion) set.add(v.targetVersion);
    }
    return [...set].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  }, [summary.data]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const sel: Selector = {};
    if (wave) sel.waveId = wave;
    if (labels.trim()) {
      const parsed = parseLabels(labels);
      if (!parsed) return setFormError('Labels must be key=value, separated by commas.');
      if (Object.keys(parsed).length) sel.labels = parsed;
    }
    const idList = ids.split(/[\s,]+/).filter(Boolean);
    if (idList.length) sel.ids = idList;
    if (!sel.waveId && !sel.labels && !sel.ids)
      return setFormError('Choose the hosts: a wave, labels or host ids (all that are given must match).');
    if (!version.trim()) return setFormError('Give the target version, such as 4.17.3.');
    setFormError(null);
    const request = {
      hosts: sel,
      target: { version: version.trim(), ...(build.trim() ? { build: build.trim() } : {}) },
      guests: 'attention',
      maxGuests: LISTED,
    };
    setRunning(true);
    setError(null);
    try {
      const whatIf = await api<WhatIfResult>('/v1/what-if', { method: 'POST', body: request });
      setResult({ request, whatIf, at: new Date() });
      setSelector(sel);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setRunning(false);
    }
  };

  const chart = useMemo(() => {
    if (!result) return null;
    const keys = ROWS.slice(0, 6);
    const series = [
      {
        label: `what-if: Xen ${result.whatIf.target.version}`,
        color: '#0550ae',
        values: keys.map((k) => result.whatIf.totals[k.key] as number),
      },
    ];
    if (plan.data)
      series.unshift({
        label: 'current plan',
        color: '#8c959f',
        values: keys.map((k) => (plan.data!.totals[k.key] as number) ?? 0),
      });
    return groupedBars(
      keys.map((k) => k.label),
      series,
    );
  }, [result, plan.data]);

  const listed = result ? result.whatIf.hosts.flatMap((h) => h.guests.map((g) => ({ ...g, hostId: h.hostId }))) : [];
  return (
    <div data-testid="whatif-page">
      <h1>What-if</h1>
      <p class="lead">
        What a hypervisor upgrade would do to the guests of some hosts, before it is planned (nothing is changed),
        beside what is decided now.
      </p>
      <form class="card filters" onSubmit={(e) => void submit(e)} aria-label="What-if" data-testid="whatif-form">
        <div class="field">
          <label for="w-wave">Wave</label>
          <select id="w-wave" value={wave} onChange={(e) => setWave((e.target as HTMLSelectElement).value)}>
            <option value="">any wave</option>
            {(waves.data?.items ?? []).map((w) => (
              <option value={w.waveId} key={w.waveId}>
                {w.waveId} ({n(w.hosts)} hosts)
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="w-labels">Host labels</label>
          <input
            id="w-labels"
            value={labels}
            onInput={(e) => setLabels((e.target as HTMLInputElement).value)}
            placeholder="rack=r1, pool=general"
          />
        </div>
        <div class="field wide">
          <label for="w-ids">Host ids</label>
          <textarea
            id="w-ids"
            rows={2}
            value={ids}
            onInput={(e) => setIds((e.target as HTMLTextAreaElement).value)}
            placeholder="host-r1-01 host-r1-02"
          />
        </div>
        <div class="field">
          <label for="w-version">Target Xen version</label>
          <input
            id="w-version"
            list="w-versions"
            value={version}
            onInput={(e) => setVersion((e.target as HTMLInputElement).value)}
            placeholder="e.g. 4.17.3"
            required
          />
          <datalist id="w-versions">
            {versions.map((v) => (
              <option value={v} key={v} />
            ))}
          </datalist>
        </div>
        <div class="field">
          <label for="w-build">Build (optional)</label>
          <input id="w-build" value={build} onInput={(e) => setBuild((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field actions">
          <button type="submit" disabled={running} data-testid="whatif-run">
            {running ? 'Running…' : 'Run what-if'}
          </button>
        </div>
        {formError && (
          <p class="error" role="alert">
            {formError}
          </p>
        )}
        <p class="hint wide">
          All choices that are given must match (a wave and labels: the hosts of the wave with those labels). What-if
          calls are rate limited per token.
        </p>
      </form>
      {error && <ErrorBox error={error} />}
      {result && (
        <div data-testid="whatif-result">
          <div class="grid">
            <Section
              title={`Outcome for Xen ${result.whatIf.target.version}${result.whatIf.target.build ? ` (${result.whatIf.target.build})` : ''}`}
              id="outcome"
            >
              <p class="muted small">
                Computed {when(result.at.toISOString())}; the current plan follows the projections live.
              </p>
              {chart && (
                <ChartView
                  label="Guests by outcome: the current plan beside the what-if"
                  config={chart}
                  testId="chart-whatif"
                />
              )}
              <table data-testid="whatif-totals">
                <thead>
                  <tr>
                    <th scope="col">guests</th>
                    <th scope="col" class="num">
                      current plan
                    </th>
                    <th scope="col" class="num">
                      what-if
                    </th>
                    <th scope="col" class="num">
                      change
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {ROWS.map((r) => {
                    const w = result.whatIf.totals[r.key] as number;
                    const c = plan.data ? (plan.data.totals[r.key] as number) : undefined;
                    return (
                      <tr key={r.key}>
                        <th scope="row">{r.label}</th>
                        <td class="num">{c === undefined ? '…' : <Num value={c} testId={`current-${r.key}`} />}</td>
                        <td class="num">
                          <Num value={w} testId={`whatif-${r.key}`} />
                        </td>
                        <td class="num">{c === undefined ? '' : w - c > 0 ? `+${n(w - c)}` : n(w - c)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {plan.data && (
                <p class="small">
                  Now decided for:{' '}
                  {plan.data.decidedFor.map((v) => `Xen ${v.version ?? '?'} (${n(v.hosts)} hosts)`).join(', ') || '–'}
                  {plan.data.totals.undecided ? `; ${n(plan.data.totals.undecided)} guests not decided yet` : ''}.
                </p>
              )}
              {plan.error && <ErrorBox error={plan.error} />}
              {result.whatIf.unknownHostIds.length > 0 && (
                <p class="notice">No such hosts: {result.whatIf.unknownHostIds.join(', ')}</p>
              )}
              {result.whatIf.unregisteredHostIds.length > 0 && (
                <p class="notice">Not registered yet: {result.whatIf.unregisteredHostIds.join(', ')}</p>
              )}
              {result.whatIf.flags.length > 0 && <p class="notice">Flags: {result.whatIf.flags.join(', ')}</p>}
            </Section>
            <Section title="By reason" id="by-reason">
              <table data-testid="whatif-reasons">
                <thead>
                  <tr>
                    <th scope="col">reason</th>
                    <th scope="col" class="num">
                      current plan
                    </th>
                    <th scope="col" class="num">
                      what-if
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {[
                    ...new Set([
                      ...Object.keys(result.whatIf.totals.byReason),
                      ...Object.keys(plan.data?.totals.byReason ?? {}),
                    ]),
                  ]
                    .sort()
                    .map((r) => (
                      <tr key={r}>
                        <th scope="row">{REASON_SHORT[r] ?? r}</th>
                        <td class="num">{plan.data ? n(plan.data.totals.byReason[r] ?? 0) : '…'}</td>
                        <td class="num">
                          <Num value={result.whatIf.totals.byReason[r] ?? 0} testId={`whatif-reason-${r}`} />
                        </td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </Section>
          </div>
          <Section title="Guests that would need attention" id="whatif-guests">
            {listed.length === 0 ? (
              <p>None: every guest would be fine or not applicable, at no cost.</p>
            ) : (
              <>
                {result.whatIf.truncated && (
                  <p class="notice">
                    The first {n(result.whatIf.guestsListed)} are listed; the totals count every guest.
                  </p>
                )}
                <table data-testid="whatif-list">
                  <thead>
                    <tr>
                      <th scope="col">guest</th>
                      <th scope="col">host</th>
                      <th scope="col">outcome</th>
                      <th scope="col">reason</th>
                      <th scope="col">kernels that would unblock it</th>
                    </tr>
                  </thead>
                  <tbody>
                    {listed.map((g) => (
                      <tr
                        key={`${g.guestId}|${g.hostId}`}
                        data-testid="whatif-row"
                        data-guest={g.guestId}
                        data-outcome={g.outcome}
                      >
                        <th scope="row">
                          <GuestLink guestId={g.guestId} hostId={g.hostId} />
                        </th>
                        <td>
                          <HostLink hostId={g.hostId} />
                        </td>
                        <td>
                          <span class={`badge outcome-${g.outcome}`}>{OUTCOME_LABEL[g.outcome] ?? g.outcome}</span>
                          {g.lostFirstGiBSuperpage ? <div class="small">loses the first-GiB superpage</div> : null}
                        </td>
                        <td>{REASON_SHORT[g.reason] ?? g.reason}</td>
                        <td>
                          {g.fixes?.length
                            ? g.fixes.map((f) => `${f.release} (${f.distro})`).join(', ')
                            : g.outcome === 'blocked'
                              ? 'none announced'
                              : ''}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </Section>
        </div>
      )}
      {!result && !error && (summary.loading || waves.loading) && <Loading what="the form" />}
    </div>
  );
}
