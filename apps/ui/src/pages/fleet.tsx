import { useEffect, useMemo } from 'preact/hooks';
import type { ChartConfiguration } from 'chart.js';
import { api, Summary } from '../api';
import { ChartView, stackedBars } from '../charts';
import { ErrorBox, Loading, Num, Section, Stat } from '../components';
import { useData } from '../data';
import { n, STATUS_COLOR, STATUS_HELP, STATUS_LABEL, STATUSES } from '../format';
import { href } from '../router';

let rendered = false;

/** Statuses present in any of the counts, in the usual order. */
function statusesIn(...counts: Record<string, number>[]): string[] {
  const seen = new Set(counts.flatMap((c) => Object.keys(c)));
  return [
    ...STATUSES.filter((s) => seen.has(s)),
    ...[...seen].filter((s) => !(STATUSES as readonly string[]).includes(s)).sort(),
  ];
}

export function FleetPage() {
  const { data, error, loading } = useData<Summary>('summary', (signal) => api<Summary>('/v1/summary', { signal }));

  useEffect(() => {
    if (data && !rendered) {
      rendered = true;
      performance.mark('fc:fleet-rendered');
      document.documentElement.dataset.fleetRendered = '1';
    }
  }, [data]);

  const charts = useMemo(() => {
    if (!data) return null;
    const statuses = statusesIn(
      data.byStatus,
      ...data.byHypervisorVersion.map((v) => v.byStatus),
      ...data.byWave.map((w) => w.byStatus),
    );
    const byStatus: ChartConfiguration = {
      type: 'bar',
      data: {
        labels: statuses.map((s) => STATUS_LABEL[s] ?? s),
        datasets: [
          {
            label: 'guests',
            data: statuses.map((s) => data.byStatus[s] ?? 0),
            backgroundColor: statuses.map((s) => STATUS_COLOR[s] ?? '#57606a'),
            borderWidth: 0,
          },
        ],
      },
      options: {
        indexAxis: 'y',
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    };
    const series = (rows: { byStatus: Record<string, number> }[]) =>
      statuses.map((s) => ({
        label: STATUS_LABEL[s] ?? s,
        color: STATUS_COLOR[s] ?? '#57606a',
        values: rows.map((r) => r.byStatus[s] ?? 0),
      }));
    const versionLabel = (v: Summary['byHypervisorVersion'][number]) =>
      `${v.version ?? 'unregistered'}${v.targetVersion ? ` → ${v.targetVersion}` : ' (no upgrade)'}`;
    return {
      statuses,
      byStatus,
      byVersion: stackedBars(data.byHypervisorVersion.map(versionLabel), series(data.byHypervisorVersion)),
      byWave: stackedBars(
        data.byWave.map((w) => w.waveId),
        series(data.byWave),
      ),
      versionLabel,
    };
  }, [data]);

  if (!data) return error ? <ErrorBox error={error} /> : <Loading what="the fleet" />;
  const c = charts!;
  const s = data.byStatus;
  return (
    <div data-testid="fleet-page">
      <h1>Fleet</h1>
      {loading && <Loading what="the fleet" />}
      {error && <ErrorBox error={error} />}
      <div class="stats" data-testid="fleet-stats">
        <Stat label="guests" value={data.guests} testId="total-guests" />
        <Stat label="blocked" value={s.blocked ?? 0} testId="stat-blocked" tone="bad" help={STATUS_HELP.blocked} />
        <Stat label="need a low RSDP" value={s['needs-low-rsdp'] ?? 0} testId="stat-needs-low-rsdp" tone="warn" />
        <Stat label="unknown kernel" value={s['unknown-kernel'] ?? 0} testId="stat-unknown-kernel" tone="unknown" />
        <Stat
          label="first-GiB superpages lost"
          value={data.lostFirstGiBSuperpage}
          testId="lost-superpages"
          help="guests of 1 GiB or more whose RSDP is placed below 1 MiB: their first GiB cannot be mapped with one 1 GiB superpage"
        />
      </div>

      <div class="grid">
        <Section title="Guests by status" id="by-status">
          <ChartView
            label={`Guests by status: ${c.statuses.map((st) => `${STATUS_LABEL[st] ?? st} ${n(s[st] ?? 0)}`).join(', ')}`}
            config={c.byStatus}
            height={220}
            testId="chart-by-status"
          />
          <table data-testid="table-by-status">
            <caption class="visually-hidden">Guests by status</caption>
            <thead>
              <tr>
                <th scope="col">status</th>
                <th scope="col" class="num">
                  guests
                </th>
              </tr>
            </thead>
            <tbody>
              {c.statuses.map((st) => (
                <tr key={st}>
                  <th scope="row">
                    <span class={`swatch status-${st}`} aria-hidden="true" />
                    {STATUS_LABEL[st] ?? st}
                  </th>
                  <td class="num">
                    <Num value={s[st] ?? 0} testId={`status-${st}`} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>

        <Section title="By hypervisor version and target" id="by-version">
          <ChartView
            label="Guests by hypervisor version and upgrade target, stacked by status"
            config={c.byVersion}
            testId="chart-by-version"
          />
          <table data-testid="table-by-version">
            <caption class="visually-hidden">Guests by hypervisor version and target</caption>
            <thead>
              <tr>
                <th scope="col">version → target</th>
                <th scope="col" class="num">
                  hosts
                </th>
                <th scope="col" class="num">
                  guests
                </th>
                <th scope="col" class="num">
                  blocked
                </th>
              </tr>
            </thead>
            <tbody>
              {data.byHypervisorVersion.map((v) => (
                <tr
                  key={`${v.version}|${v.targetVersion}`}
                  data-testid="version-row"
                  data-version={v.version ?? ''}
                  data-target={v.targetVersion ?? ''}
                >
                  <th scope="row">{c.versionLabel(v)}</th>
                  <td class="num">
                    <Num value={v.hosts} testId="version-hosts" />
                  </td>
                  <td class="num">
                    <Num value={v.guests} testId="version-guests" />
                  </td>
                  <td class="num">
                    <Num value={v.byStatus.blocked ?? 0} testId="version-blocked" />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>

        <Section title="By upgrade wave" id="by-wave">
          {data.byWave.length ? (
            <>
              <ChartView label="Guests by upgrade wave, stacked by status" config={c.byWave} testId="chart-by-wave" />
              <table data-testid="table-by-wave">
                <caption class="visually-hidden">Guests by upgrade wave</caption>
                <thead>
                  <tr>
                    <th scope="col">wave</th>
                    <th scope="col" class="num">
                      hosts
                    </th>
                    <th scope="col" class="num">
                      guests
                    </th>
                    <th scope="col" class="num">
                      blocked
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.byWave.map((w) => (
                    <tr key={w.waveId} data-testid="wave-row" data-wave={w.waveId}>
                      <th scope="row">
                        <a href={href('waves', null, { wave: w.waveId })}>{w.waveId}</a>
                      </th>
                      <td class="num">
                        <Num value={w.hosts} testId="wave-hosts" />
                      </td>
                      <td class="num">
                        <Num value={w.guests} testId="wave-guests" />
                      </td>
                      <td class="num">
                        <Num value={w.byStatus.blocked ?? 0} testId="wave-blocked" />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : (
            <p>No upgrade is planned.</p>
          )}
        </Section>
      </div>
    </div>
  );
}
