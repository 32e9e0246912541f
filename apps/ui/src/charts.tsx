// Charts (Chart.js, only the parts used: bars and points), each drawn in a canvas that is
// an image with a name for assistive technology; the numbers are also in a table beside it.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  type ChartConfiguration,
  Legend,
  LinearScale,
  PointElement,
  ScatterController,
  Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip, ScatterController, PointElement);
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';
Chart.defaults.color = '#1f2328';
Chart.defaults.animation = false;

export interface ChartProps {
  /** What the chart shows, for screen readers (the table beside it has the numbers). */
  label: string;
  config: ChartConfiguration;
  height?: number;
  testId?: string;
}

/** A Chart.js chart; updated in place when its data changes. */
export function ChartView({ label, config, height = 260, testId }: ChartProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart | null>(null);
  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      ...config,
      options: { responsive: true, maintainAspectRatio: false, ...config.options },
    });
    return () => {
      chart.current?.destroy();
      chart.current = null;
    };
  }, [config.type]);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data = config.data;
    if (config.options) c.options = { responsive: true, maintainAspectRatio: false, ...config.options };
    c.update('none');
  }, [config]);
  return (
    <div class="chart" style={{ height: `${height}px` }}>
      <canvas ref={canvas} role="img" aria-label={label} data-testid={testId}>
        {label}
      </canvas>
    </div>
  );
}

/** Stacked bars: one bar per category, one segment per series. */
export function stackedBars(
  categories: string[],
  series: { label: string; color: string; values: number[] }[],
  options: { horizontal?: boolean; xTitle?: string } = {},
): ChartConfiguration {
  return {
    type: 'bar',
    data: {
      labels: categories,
      datasets: series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color, borderWidth: 0 })),
    },
    options: {
      indexAxis: options.horizontal ? 'y' : 'x',
      plugins: { legend: { position: 'bottom' }, tooltip: { mode: 'index', intersect: false } },
      scales: {
        x: { stacked: true, ...(options.horizontal ? { beginAtZero: true, ticks: { precision: 0 } } : {}) },
        y: { stacked: true, ...(options.horizontal ? {} : { beginAtZero: true, ticks: { precision: 0 } }) },
      },
    },
  };
}

/** Grouped (side by side) bars. */
export function groupedBars(
  categories: string[],
  series: { label: string; color: string; values: number[] }[],
): ChartConfiguration {
  return {
    type: 'bar',
    data: {
      labels: categories,
      datasets: series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color, borderWidth: 0 })),
    },
    options: {
      plugins: { legend: { position: 'bottom' } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    },
  };
}
