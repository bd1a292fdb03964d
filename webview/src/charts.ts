// Line charts for time series: small multiples that share one x scale (the snapshot time), so
// resources, stacks and edge latency line up. Redrawn whole on each update (a few paths).
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { el, svg } from './dom.ts';

export interface Series {
  readonly name: string;
  readonly values: readonly (number | null)[];
}

export interface ChartSpec {
  /** data-chart attribute: a stable name */
  readonly id: string;
  readonly title: string;
  readonly series: readonly Series[];
  readonly format: (v: number) => string;
  /** a note after the title (e.g. the limit) */
  readonly note?: string;
}

export const CHART_H = 110;
const PAD = { left: 64, right: 12, top: 8, bottom: 18 };
const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** The shared time axis: snapshot times (ns) to x pixels. */
export interface TimeAxis {
  readonly tNs: readonly number[];
  readonly width: number;
  x(tNs: number): number;
}

export function timeAxis(tNs: readonly number[], width: number): TimeAxis {
  const lo = tNs[0] ?? 0;
  const hi = Math.max(lo + 1, tNs[tNs.length - 1] ?? 1);
  const s = scaleLinear().domain([lo, hi]).range([PAD.left, Math.max(PAD.left + 10, width - PAD.right)]);
  return { tNs, width, x: (t) => s(t) };
}

const seconds = (ns: number): string => `${(ns / 1e9).toFixed(ns < 1e10 ? 2 : 1)} s`;

/** One chart: a titled SVG with a line per series, min/max labels and a legend. */
export function drawChart(host: HTMLElement, spec: ChartSpec, axis: TimeAxis): void {
  host.replaceChildren();
  host.className = 'chart';
  host.dataset['chart'] = spec.id;
  const head = el('div', 'chart-head');
  head.append(el('h3', '', spec.title));
  if (spec.note) head.append(el('span', 'chart-note', spec.note));
  const legend = el('span', 'chart-legend');
  const plot = svg('svg', 'chart-svg');
  plot.setAttribute('width', String(axis.width));
  plot.setAttribute('height', String(CHART_H));
  let max = 0;
  for (const s of spec.series) for (const v of s.values) if (v !== null && v > max) max = v;
  const y = scaleLinear()
    .domain([0, max > 0 ? max : 1])
    .range([CHART_H - PAD.bottom, PAD.top])
    .nice();
  const frame = svg('rect', 'chart-frame');
  frame.setAttribute('x', String(PAD.left));
  frame.setAttribute('y', String(PAD.top));
  frame.setAttribute('width', String(Math.max(0, axis.width - PAD.left - PAD.right)));
  frame.setAttribute('height', String(CHART_H - PAD.top - PAD.bottom));
  plot.append(frame);
  const label = (x: number, yy: number, text: string, anchor: string): void => {
    const t = svg('text', 'chart-tick');
    t.setAttribute('x', String(x));
    t.setAttribute('y', String(yy));
    t.setAttribute('text-anchor', anchor);
    t.textContent = text;
    plot.append(t);
  };
  label(PAD.left - 6, PAD.top + 8, spec.format(y.domain()[1]!), 'end');
  label(PAD.left - 6, CHART_H - PAD.bottom, spec.format(0), 'end');
  if (axis.tNs.length > 0) {
    label(PAD.left, CHART_H - 4, seconds(axis.tNs[0]!), 'start');
    label(axis.width - PAD.right, CHART_H - 4, seconds(axis.tNs[axis.tNs.length - 1]!), 'end');
  }
  spec.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const gen = line<number | null>()
      .defined((v) => v !== null)
      .x((_, j) => axis.x(axis.tNs[j] ?? 0))
      .y((v) => y(v ?? 0));
    const p = svg('path', 'chart-line');
    p.setAttribute('d', gen([...s.values]) ?? '');
    p.setAttribute('stroke', colour);
    p.dataset['series'] = s.name;
    plot.append(p);
    // a lone point (one snapshot, or an edge seen once) draws no line: mark it
    s.values.forEach((v, j) => {
      const prev = s.values[j - 1] ?? null;
      const next = s.values[j + 1] ?? null;
      if (v === null || prev !== null || next !== null) return;
      const c = svg('circle', 'chart-dot');
      c.setAttribute('cx', String(axis.x(axis.tNs[j] ?? 0)));
      c.setAttribute('cy', String(y(v)));
      c.setAttribute('r', '2.5');
      c.setAttribute('fill', colour);
      plot.append(c);
    });
    const last = [...s.values].reverse().find((v) => v !== null);
    const item = el('span', 'legend-item');
    const sw = el('span', 'swatch');
    sw.style.background = colour;
    item.append(sw, el('span', '', `${s.name}${last !== undefined && last !== null ? ` ${spec.format(last)}` : ''}`));
    legend.append(item);
  });
  head.append(legend);
  host.append(head, plot);
}
