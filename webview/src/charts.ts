// Line charts for time series: small multiples that share one x scale (the snapshot time), so
// resources, stacks and edge latency line up. A chart drawn again keeps its elements and only
// changes its figures.
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { el, setAttr, svg } from './dom.ts';

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

/** The elements of one drawn chart, kept so a live update only changes what changed. */
interface ChartEls {
  /** what the elements were built for: the chart and its series */
  readonly key: string;
  readonly note: HTMLElement;
  readonly plot: SVGSVGElement;
  readonly frame: SVGRectElement;
  /** y max, y zero, first time, last time */
  readonly ticks: readonly [SVGTextElement, SVGTextElement, SVGTextElement, SVGTextElement];
  readonly lines: readonly SVGPathElement[];
  readonly dots: readonly SVGGElement[];
  readonly legend: readonly HTMLSpanElement[];
  dotsKey: string[];
}

const drawn = new WeakMap<HTMLElement, ChartEls>();

function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

/** The DOM of a chart for `spec`'s series, without figures. */
function build(host: HTMLElement, spec: ChartSpec, key: string): ChartEls {
  host.className = 'chart';
  host.dataset['chart'] = spec.id;
  const head = el('div', 'chart-head');
  const note = el('span', 'chart-note');
  head.append(el('h3', '', spec.title), note);
  const legendBox = el('span', 'chart-legend');
  const plot = svg('svg', 'chart-svg');
  const frame = svg('rect', 'chart-frame');
  plot.append(frame);
  const tick = (anchor: string): SVGTextElement => {
    const t = svg('text', 'chart-tick');
    t.setAttribute('text-anchor', anchor);
    plot.append(t);
    return t;
  };
  const ticks = [tick('end'), tick('end'), tick('start'), tick('end')] as const;
  const lines: SVGPathElement[] = [];
  const dots: SVGGElement[] = [];
  const legend: HTMLSpanElement[] = [];
  spec.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const p = svg('path', 'chart-line');
    p.setAttribute('stroke', colour);
    p.dataset['series'] = s.name;
    const g = svg('g');
    g.setAttribute('fill', colour);
    plot.append(p, g);
    lines.push(p);
    dots.push(g);
    const item = el('span', 'legend-item');
    const sw = el('span', 'swatch');
    sw.style.background = colour;
    const text = el('span');
    item.append(sw, text);
    legendBox.append(item);
    legend.push(text);
  });
  head.append(legendBox);
  host.replaceChildren(head, plot);
  return { key, note, plot, frame, ticks, lines, dots, legend, dotsKey: [] };
}

/**
 * One chart: a titled SVG with a line per series, min/max labels and a legend. Drawn into `host`;
 * drawn again into the same host, it keeps its elements and only changes the figures (a live
 * update then costs no new elements, so no style and layout of new ones).
 */
export function drawChart(host: HTMLElement, spec: ChartSpec, axis: TimeAxis): void {
  const key = `${spec.id}\n${spec.title}\n${spec.series.map((s) => s.name).join('\n')}`;
  let c = drawn.get(host);
  if (!c || c.key !== key) drawn.set(host, (c = build(host, spec, key)));
  setText(c.note, spec.note ?? '');
  c.note.hidden = !spec.note;
  setAttr(c.plot, 'width', String(axis.width));
  setAttr(c.plot, 'height', String(CHART_H));
  let max = 0;
  for (const s of spec.series) for (const v of s.values) if (v !== null && v > max) max = v;
  const y = scaleLinear()
    .domain([0, max > 0 ? max : 1])
    .range([CHART_H - PAD.bottom, PAD.top])
    .nice();
  setAttr(c.frame, 'x', String(PAD.left));
  setAttr(c.frame, 'y', String(PAD.top));
  setAttr(c.frame, 'width', String(Math.max(0, axis.width - PAD.left - PAD.right)));
  setAttr(c.frame, 'height', String(CHART_H - PAD.top - PAD.bottom));
  const label = (t: SVGTextElement, x: number, yy: number, text: string): void => {
    setAttr(t, 'x', String(x));
    setAttr(t, 'y', String(yy));
    setText(t, text);
  };
  const [top, zero, first, last] = c.ticks;
  label(top, PAD.left - 6, PAD.top + 8, spec.format(y.domain()[1]!));
  label(zero, PAD.left - 6, CHART_H - PAD.bottom, spec.format(0));
  const times = axis.tNs.length > 0;
  label(first, PAD.left, CHART_H - 4, times ? seconds(axis.tNs[0]!) : '');
  label(last, axis.width - PAD.right, CHART_H - 4, times ? seconds(axis.tNs[axis.tNs.length - 1]!) : '');
  spec.series.forEach((s, i) => {
    const gen = line<number | null>()
      .defined((v) => v !== null)
      .x((_, j) => axis.x(axis.tNs[j] ?? 0))
      .y((v) => y(v ?? 0));
    setAttr(c.lines[i]!, 'd', gen([...s.values]) ?? '');
    drawDots(c, i, s, axis, y);
    const lastValue = [...s.values].reverse().find((v) => v !== null);
    setText(c.legend[i]!, `${s.name}${lastValue !== undefined && lastValue !== null ? ` ${spec.format(lastValue)}` : ''}`);
  });
}

/** A lone point (one snapshot, or an edge seen once) draws no line: mark it with a dot. */
function drawDots(c: ChartEls, i: number, s: Series, axis: TimeAxis, y: (v: number) => number): void {
  const dots: [number, number][] = [];
  s.values.forEach((v, j) => {
    const prev = s.values[j - 1] ?? null;
    const next = s.values[j + 1] ?? null;
    if (v === null || prev !== null || next !== null) return;
    dots.push([axis.x(axis.tNs[j] ?? 0), y(v)]);
  });
  const key = dots.join(' ');
  if (key === c.dotsKey[i] || (dots.length === 0 && c.dotsKey[i] === undefined)) return;
  c.dotsKey[i] = key;
  c.dots[i]!.replaceChildren(
    ...dots.map(([cx, cy]) => {
      const dot = svg('circle', 'chart-dot');
      dot.setAttribute('cx', String(cx));
      dot.setAttribute('cy', String(cy));
      dot.setAttribute('r', '2.5');
      return dot;
    }),
  );
}

// Charts scrolled out of sight are not redrawn by every live update: the latest figures wait
// and are drawn when the chart comes into sight (a page of charts would otherwise cost each frame).
const inSight = new WeakSet<Element>();
const waiting = new WeakMap<Element, () => void>();
let sight: IntersectionObserver | undefined;

/** drawChart now if the chart is in sight (or was never drawn), else when it comes into sight. */
export function drawChartWhenSeen(host: HTMLElement, spec: ChartSpec, axis: TimeAxis): void {
  sight ??= new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (!e.isIntersecting) {
        inSight.delete(e.target);
        continue;
      }
      inSight.add(e.target);
      const draw = waiting.get(e.target);
      waiting.delete(e.target);
      draw?.();
    }
  });
  if (!drawn.has(host)) sight.observe(host);
  if (!drawn.has(host) || inSight.has(host)) {
    waiting.delete(host);
    drawChart(host, spec, axis);
  } else waiting.set(host, () => drawChart(host, spec, axis));
}
