/**
 * Time-series charts of the page, drawn by uPlot on a canvas: small (about 50 kB), made for
 * live series (new data is one setData call, no re-layout of the page), and its legend
 * writes series names as text. Each chart is paired with a table of the same numbers.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  color: string;
  values: number[];
}

export interface ChartOptions {
  kind: 'lines' | 'bars';
  /** How a y value reads (axis and legend). */
  format: (value: number) => string;
  /** Counts: the y axis steps by whole numbers. */
  integer?: boolean;
  height?: number;
}

const INTEGER_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000];

export class TimeChart {
  #plot: uPlot | undefined;
  #shape = '';

  constructor(
    private readonly container: HTMLElement,
    private readonly options: ChartOptions,
  ) {
    new ResizeObserver(() => this.#plot?.setSize(this.#size())).observe(container);
  }

  /** Series over the given minutes (ISO window starts); the chart is rebuilt only when the series themselves change. */
  update(minutes: string[], series: Series[]): void {
    const data: uPlot.AlignedData = [minutes.map((m) => Date.parse(m) / 1000), ...series.map((s) => s.values)];
    const shape = JSON.stringify(series.map((s) => [s.label, s.color]));
    if (this.#plot && shape === this.#shape) {
      this.#plot.setData(data);
      return;
    }
    this.#plot?.destroy();
    this.container.replaceChildren();
    this.#shape = shape;
    this.#plot = new uPlot(this.#optionsFor(series), data, this.container);
  }

  #size(): { width: number; height: number } {
    return { width: Math.max(240, this.container.clientWidth), height: this.options.height ?? 220 };
  }

  #optionsFor(series: Series[]): uPlot.Options {
    const { format, kind, integer } = this.options;
    const bars = uPlot.paths.bars?.({ size: [0.7, 48] });
    return {
      ...this.#size(),
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] } },
      axes: [
        { stroke: '#334155', grid: { stroke: '#e2e8f0' } },
        { stroke: '#334155', grid: { stroke: '#e2e8f0' }, size: 72, values: (_u, splits) => splits.map((v) => format(v)), ...(integer ? { incrs: INTEGER_STEPS } : {}) },
      ],
      series: [
        { label: 'Minute' },
        ...series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            points: { show: false },
            ...(kind === 'bars' && bars ? { paths: bars, fill: `${s.color}cc` } : {}),
            value: (_u, v) => (v === null || v === undefined ? '—' : format(v)),
          }),
        ),
      ],
      legend: { live: true },
    };
  }
}
