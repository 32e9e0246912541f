import { useMemo, useState } from 'preact/hooks';
import type { ChartConfiguration } from 'chart.js';
import { api, HostListItem, q, Wave } from '../api';
import { ChartView } from '../charts';
import { ErrorBox, GoBadge, HostLink, Loading, Num, Pager, Section } from '../components';
import { useData } from '../data';
import { labelsText, n, when } from '../format';
import { href, navigate, Route } from '../router';

const PAGE = 25;

/** A point of the timeline: a wave's reboot time, with its hosts. */
interface RebootPoint {
  x: number;
  y: string;
  hosts: number;
  hostsReady: number;
}

function timeline(waves: Wave[]): ChartConfiguration {
  const points = (ready: boolean): RebootPoint[] =>
    waves.flatMap((w) =>
      w.reboots
        .filter((r) => (r.hostsReady === r.hosts) === ready)
        .map((r) => ({ x: Date.parse(r.at), y: w.waveId, hosts: r.hosts, hostsReady: r.hostsReady })),
    );
  const times = waves.flatMap((w) => w.reboots.map((r) => Date.parse(r.at)));
  const HOUR = 3600_000;
  const first = Math.min(...times);
  const last = Math.max(...times);
  // whole hours, days or weeks per tick, at most 8 ticks, the points away from the edges
  const step =
    [1, 2, 3, 6, 12, 24, 48, 168, 336, 720].map((h) => h * HOUR).find((s) => (last - first + 2 * s) / s <= 8) ??
    720 * HOUR;
  const min = Math.floor(first / step) * step - step;
  const max = Math.ceil(last / step) * step + step;
  const radius = (ctx: { raw?: unknown }) =>
    Math.min(22, 5 + 2.2 * Math.sqrt((ctx.raw as RebootPoint | undefined)?.hosts ?? 1));
  return {
    type: 'scatter',
    data: {
      datasets: [
        {
          label: 'all hosts go',
          data: points(true) as unknown as { x: number; y: number }[],
          backgroundColor: '#1a7f37',
          pointRadius: radius,
          pointHoverRadius: radius,
        },
        {
          label: 'some hosts no-go',
          data: points(false) as unknown as { x: number; y: number }[],
          backgroundColor: '#cf222e',
          pointRadius: radius,
          pointHoverRadius: radius,
        },
      ],
    },
    options: {
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (ctx: { raw: unknown }) => {
              const p = ctx.raw as RebootPoint;
              return `${p.y} at ${when(new Date(p.x).toISOString())}: ${p.hosts} hosts, ${p.hostsReady} go`;
            },
          },
        },
      },
      scales: {
        x: {
          type: 'linear',
          min,
          max,
          ticks: {
            stepSize: step,
            callback: (v: string | number) => when(new Date(Number(v)).toISOString()).replace(' UTC', ''),
          },
          title: { display: true, text: 'planned reboot (UTC)' },
        },
        y: { type: 'category', labels: waves.map((w) => w.waveId), offset: true },
      },
    },
  };
}

export function WavesPage({ route }: { route: Route }) {
  const waves = useData<{ items: Wave[] }>('waves', (signal) => api('/v1/waves', { signal }));
  const list = waves.data?.items ?? [];
  const selected = route.params.get('wave') ?? list[0]?.waveId ?? null;
  const readiness = route.params.get('readiness') ?? '';
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const key = selected ? `${selected}|${readiness}|${cursors[cursors.length - 1] ?? ''}` : null;
  const hosts = useData<{ items: HostListItem[]; nextCursor: string | null; total: number }>(key, (signal) =>
    api(`/v1/hosts${q({ waveId: selected, readiness, limit: PAGE, cursor: cursors[cursors.length - 1] })}`, { signal }),
  );
  const chart = useMemo(() => (list.some((w) => w.reboots.length) ? timeline(list) : null), [waves.data]);
  const choose = (wave: string, ready = readiness) => {
    setCursors([null]);
    navigate(href('waves', null, { wave, readiness: ready }), true);
  };

  if (!waves.data) return waves.error ? <ErrorBox error={waves.error} /> : <Loading what="the waves" />;
  if (!list.length)
    return (
      <div>
        <h1>Waves</h1>
        <p>No upgrade is planned: no host has a wave.</p>
      </div>
    );
  const current = list.find((w) => w.waveId === selected);
  return (
    <div data-testid="waves-page">
      <h1>Waves</h1>
      {waves.error && <ErrorBox error={waves.error} />}
      <div class="wave-cards">
        {list.map((w) => (
          <section
            class={`card wave ${w.waveId === selected ? 'selected' : ''}`}
            key={w.waveId}
            data-testid="wave-card"
            data-wave={w.waveId}
            aria-labelledby={`wave-${w.waveId}`}
          >
            <div class="card-head">
              <h2 id={`wave-${w.waveId}`}>{w.waveId}</h2>
              <GoBadge go={w.go} testId="wave-go" />
            </div>
            <dl class="facts">
              <dt>hosts go</dt>
              <dd>
                <Num value={w.hostsReady} testId="wave-hosts-ready" /> of <Num value={w.hosts} testId="wave-hosts" />
              </dd>
              <dt>guests</dt>
              <dd>
                <Num value={w.guests} testId="wave-guests" />
              </dd>
              <dt>decided</dt>
              <dd>
                <Num value={w.decided} testId="wave-decided" />
              </dd>
              <dt>acknowledged</dt>
              <dd>
                <Num value={w.acknowledged} testId="wave-acknowledged" />
              </dd>
              <dt>blocked</dt>
              <dd class={w.blocked ? 'bad-text' : ''}>
                <Num value={w.blocked} testId="wave-blocked" />
              </dd>
              <dt>target</dt>
              <dd>{w.targets.map((t) => `${t.version} (${n(t.hosts)})`).join(', ')}</dd>
              <dt>reboots</dt>
              <dd>
                {w.firstRebootAt === w.lastRebootAt
                  ? when(w.firstRebootAt)
                  : `${when(w.firstRebootAt)} to ${when(w.lastRebootAt)}`}
              </dd>
            </dl>
            <button
              type="button"
              onClick={() => choose(w.waveId)}
              aria-pressed={w.waveId === selected}
              data-testid="wave-select"
            >
              Show its hosts
            </button>
          </section>
        ))}
      </div>

      {chart && (
        <Section title="Planned reboots" id="reboots">
          <ChartView
            label={`Planned reboot times of the waves: ${list.map((w) => `${w.waveId} ${when(w.firstRebootAt)}`).join('; ')}`}
            config={chart}
            height={Math.max(160, 70 + 45 * list.length)}
            testId="chart-reboots"
          />
          <table data-testid="table-reboots">
            <caption class="visually-hidden">Planned reboot times</caption>
            <thead>
              <tr>
                <th scope="col">wave</th>
                <th scope="col">planned reboot</th>
                <th scope="col" class="num">
                  hosts
                </th>
                <th scope="col" class="num">
                  go
                </th>
              </tr>
            </thead>
            <tbody>
              {list.flatMap((w) =>
                w.reboots.map((r) => (
                  <tr key={`${w.waveId}|${r.at}`}>
                    <th scope="row">{w.waveId}</th>
                    <td>{when(r.at)}</td>
                    <td class="num">{n(r.hosts)}</td>
                    <td class="num">{n(r.hostsReady)}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </Section>
      )}

      {current && (
        <Section
          title={`Hosts of ${current.waveId}`}
          id="wave-hosts"
          actions={
            <label class="inline">
              Show{' '}
              <select
                value={readiness}
                onChange={(e) => choose(current.waveId, (e.target as HTMLSelectElement).value)}
                data-testid="readiness-filter"
              >
                <option value="">all hosts</option>
                <option value="no-go">no-go hosts</option>
                <option value="go">go hosts</option>
              </select>
            </label>
          }
        >
          {hosts.error && <ErrorBox error={hosts.error} />}
          {!hosts.data ? (
            <Loading what="the hosts" />
          ) : (
            <>
              <p class="muted">
                <Num value={hosts.data.total} testId="hosts-total" /> hosts{readiness ? ` (${readiness})` : ''}.
              </p>
              <table data-testid="table-wave-hosts">
                <thead>
                  <tr>
                    <th scope="col">host</th>
                    <th scope="col">now → target</th>
                    <th scope="col">planned reboot</th>
                    <th scope="col" class="num">
                      guests
                    </th>
                    <th scope="col" class="num">
                      decided
                    </th>
                    <th scope="col" class="num">
                      acknowledged
                    </th>
                    <th scope="col" class="num">
                      blocked
                    </th>
                    <th scope="col">go / no-go</th>
                  </tr>
                </thead>
                <tbody>
                  {hosts.data.items.map((h) => (
                    <tr key={h.hostId} data-testid="host-row" data-host={h.hostId}>
                      <th scope="row">
                        <HostLink hostId={h.hostId} />
                        <div class="muted small">{labelsText(h.labels)}</div>
                      </th>
                      <td>
                        {h.hypervisor.version ?? '–'} → {h.plannedUpgrade?.toVersion ?? '–'}
                        {h.plannedUpgrade?.state === 'started' ? ' (started)' : ''}
                      </td>
                      <td>{when(h.plannedUpgrade?.plannedRebootAt)}</td>
                      <td class="num">
                        <Num value={h.readiness.guests} testId="host-guests" />
                      </td>
                      <td class="num">
                        <Num value={h.readiness.decided} testId="host-decided" />
                      </td>
                      <td class="num">
                        <Num value={h.readiness.acknowledged} testId="host-acknowledged" />
                      </td>
                      <td class="num">
                        <Num value={h.readiness.blocked} testId="host-blocked" />
                      </td>
                      <td>
                        <GoBadge go={h.go} testId="host-go" />
                        {h.noGoReasons.length > 0 && <div class="small">{h.noGoReasons.join('; ')}</div>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <Pager
                label="hosts pages"
                page={cursors.length}
                hasPrev={cursors.length > 1}
                hasNext={Boolean(hosts.data.nextCursor)}
                onPrev={() => setCursors(cursors.slice(0, -1))}
                onNext={() => setCursors([...cursors, hosts.data!.nextCursor])}
              />
            </>
          )}
        </Section>
      )}
    </div>
  );
}
