// The blocking graph in SVG: nodes are blocking points (function, file:line), edges the runs
// between them (average time and count). Colour encodes time (edges: average run; nodes: average
// wait), edge width the count. Positions come from the stable layout, so a live update only
// recolours and relabels; elements are keyed by id and an attribute is written only when its
// value changed. Labels are hidden when zoomed out (and edge labels not even updated then).
// Zoom and pan (d3-zoom), hover details, search, and a click that asks to reveal the source.
import { select } from 'd3-selection';
import { zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3-zoom';
import { scaleLog, scaleSequentialLog } from 'd3-scale';
import { interpolateYlOrRd, interpolateBlues } from 'd3-scale-chromatic';
import { el, setAttr, svg } from '../dom.ts';
import { fileLine, formatCount, formatNs } from '../format.ts';
import type { ViewData, ViewEdge, ViewNode } from '../messages.ts';
import { StableLayout } from './layout.ts';

export const NODE_W = 180;
export const NODE_H = 40;
/** colours are quantized so a small change in a figure writes nothing */
const BUCKETS = 24;
/** zoom below which node labels are hidden */
const NODE_LABELS_MIN_K = 0.35;
/** zoom below which edge labels are hidden */
const EDGE_LABELS_MIN_K = 0.7;
/** more edges than this: drawn for speed */
const LARGE_EDGES = 500;

interface NodeEl {
  readonly g: SVGGElement;
  readonly rect: SVGRectElement;
  data: ViewNode;
  bucket: number;
}

interface EdgeEl {
  readonly g: SVGGElement;
  readonly path: SVGPathElement;
  readonly label: SVGTextElement;
  /** the same curve for the canvas (large graphs) */
  readonly curve: Path2D;
  data: ViewEdge;
  bucket: number;
  width: string;
  /** whether the SVG path shows bucket and width (not kept up while the canvas paints it) */
  styled: boolean;
  labelText: string;
}

export interface GraphHandlers {
  reveal(file: string, line: number): void;
}

const ramp = (interp: (t: number) => string): string[] => Array.from({ length: BUCKETS }, (_, i) => interp(0.15 + (0.85 * i) / (BUCKETS - 1)));
const EDGE_COLOURS = ramp(interpolateYlOrRd);
const NODE_COLOURS = ramp((t) => interpolateBlues(t * 0.7));

/** The colour bucket of a value on a log scale over [lo, hi]. */
function bucketer(lo: number, hi: number): (v: number) => number {
  if (!(hi > lo)) return () => 0;
  const s = scaleSequentialLog().domain([lo, hi]).clamp(true);
  return (v) => (v > 0 ? Math.min(BUCKETS - 1, Math.floor(s(Math.max(v, lo)) * BUCKETS)) : 0);
}

function extent(values: Iterable<number>): [number, number] {
  let lo = Infinity;
  let hi = 0;
  for (const v of values) {
    if (v > 0 && v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === Infinity ? [1, 1] : [lo, hi];
}

function edgePath(a: { x: number; y: number }, b: { x: number; y: number }, self: boolean): { d: string; mx: number; my: number } {
  const w = NODE_W / 2;
  const h = NODE_H / 2;
  if (self) {
    const x0 = a.x + w - 40;
    const y0 = a.y - h;
    return { d: `M${x0},${y0} C${x0 - 10},${y0 - 45} ${x0 + 50},${y0 - 45} ${x0 + 30},${y0}`, mx: x0 + 20, my: y0 - 36 };
  }
  if (b.x > a.x) {
    const x1 = a.x + w;
    const x2 = b.x - w;
    const dx = (x2 - x1) / 2;
    return { d: `M${x1},${a.y} C${x1 + dx},${a.y} ${x2 - dx},${b.y} ${x2},${b.y}`, mx: (x1 + x2) / 2, my: (a.y + b.y) / 2 };
  }
  // back or same layer: an arc below both boxes
  const dip = 40 + Math.min(120, Math.abs(a.x - b.x) / 6);
  const y1 = a.y + h;
  const y2 = b.y + h;
  const low = Math.max(y1, y2) + dip;
  return { d: `M${a.x},${y1} C${a.x},${low} ${b.x},${low} ${b.x},${y2}`, mx: (a.x + b.x) / 2, my: low - dip / 4 };
}

const edgeLabel = (e: ViewEdge): string => `${formatNs(e.avgNs)} ×${formatCount(e.count)}`;

export class GraphView {
  readonly element: HTMLElement;
  private readonly svgEl: SVGSVGElement;
  private readonly layer: SVGGElement;
  private readonly edgeLayer: SVGGElement;
  private readonly nodeLayer: SVGGElement;
  private readonly tooltip: HTMLDivElement;
  private readonly status: HTMLSpanElement;
  private readonly search: HTMLInputElement;
  private readonly layout = new StableLayout();
  private readonly nodes = new Map<number, NodeEl>();
  private readonly edges = new Map<string, EdgeEl>();
  private readonly zoomer: ZoomBehavior<SVGSVGElement, unknown>;
  private k = 1;
  private fitted = false;
  private filter = '';
  private edgeLabelsShown = true;
  private readonly canvas: HTMLCanvasElement;
  private large = false;
  private transform: ZoomTransform = zoomIdentity;
  private drawQueued = false;
  /** the SVG's size, kept by a ResizeObserver: reading it during a render would force a layout */
  private size = { w: 0, h: 0 };
  /** the canvas strokes, grouped by colour and width; rebuilt only when an edge's look changed */
  private groups: { colour: string; width: number; path: Path2D }[] | undefined;

  constructor(private readonly handlers: GraphHandlers) {
    this.element = el('section', 'view graph-view');
    this.element.id = 'graph';
    const bar = el('div', 'toolbar');
    bar.append(el('h2', '', 'Blocking graph'));
    this.search = el('input', 'search');
    this.search.type = 'search';
    this.search.placeholder = 'filter: function, file or kind';
    this.search.setAttribute('aria-label', 'filter the blocking graph');
    const fit = el('button', 'fit', 'Fit');
    fit.type = 'button';
    this.status = el('span', 'graph-status');
    bar.append(this.search, fit, this.status);
    const legend = el('div', 'legend', 'edge colour: average run time · edge width: count · node colour: average wait · click a node to open its source');
    this.svgEl = svg('svg', 'graph-svg');
    this.svgEl.setAttribute('role', 'img');
    this.svgEl.setAttribute('aria-label', 'blocking graph');
    const defs = svg('defs');
    const marker = svg('marker');
    for (const [k, v] of Object.entries({ id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '9', markerHeight: '9', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' })) marker.setAttribute(k, v);
    const tip = svg('path', 'arrow-head');
    tip.setAttribute('d', 'M0,0 L10,5 L0,10 z');
    marker.append(tip);
    defs.append(marker);
    this.layer = svg('g', 'zoom-layer');
    this.edgeLayer = svg('g', 'edges');
    this.nodeLayer = svg('g', 'nodes');
    this.layer.append(this.edgeLayer, this.nodeLayer);
    this.svgEl.append(defs, this.layer);
    this.tooltip = el('div', 'tooltip');
    this.tooltip.hidden = true;
    this.canvas = el('canvas', 'graph-canvas');
    this.canvas.hidden = true;
    const frame = el('div', 'graph-frame');
    frame.append(this.canvas, this.svgEl, this.tooltip);
    this.element.append(bar, legend, frame);
    new ResizeObserver(() => {
      this.size = { w: this.svgEl.clientWidth, h: this.svgEl.clientHeight };
      if (this.large) this.queueDraw();
    }).observe(this.svgEl);

    this.zoomer = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.05, 4])
      .on('zoom', (ev: { transform: ZoomTransform }) => this.onZoom(ev.transform));
    select(this.svgEl).call(this.zoomer).on('dblclick.zoom', null);
    fit.addEventListener('click', () => this.fit());
    this.search.addEventListener('input', () => {
      this.filter = this.search.value.trim().toLowerCase();
      this.applyFilter();
    });
    this.svgEl.addEventListener('pointerover', (ev) => this.hover(ev));
    this.svgEl.addEventListener('pointermove', (ev) => this.moveTooltip(ev));
    this.svgEl.addEventListener('pointerleave', () => (this.tooltip.hidden = true));
    this.svgEl.addEventListener('click', (ev) => this.click(ev));
  }

  /** Draws `view`: new elements for new ids, changed attributes for the rest. */
  update(view: ViewData): void {
    this.layout.add(
      view.nodes.map((n) => n.id),
      view.edges,
    );
    const nodeBucket = bucketer(...extent(view.nodes.map((n) => n.waitAvgNs)));
    const seenNodes = new Set<number>();
    for (const n of view.nodes) {
      seenNodes.add(n.id);
      let ne = this.nodes.get(n.id);
      if (!ne) ne = this.addNode(n);
      else if (ne.data.label !== n.label || ne.data.file !== n.file || ne.data.line !== n.line) this.relabelNode(ne, n);
      ne.data = n;
      const b = nodeBucket(n.waitAvgNs);
      if (b !== ne.bucket) {
        ne.bucket = b;
        ne.rect.setAttribute('fill', NODE_COLOURS[b]!);
        ne.g.classList.toggle('dark', b > BUCKETS * 0.6);
      }
    }
    for (const [id, ne] of this.nodes) if (!seenNodes.has(id)) (ne.g.remove(), this.nodes.delete(id));

    const edgeBucket = bucketer(...extent(view.edges.map((e) => e.avgNs)));
    const [, chi] = extent(view.edges.map((e) => e.count));
    const width = scaleLog().domain([1, Math.max(2, chi)]).range([1, 9]).clamp(true);
    const seenEdges = new Set<string>();
    const largeNow = view.edges.length > LARGE_EDGES;
    for (const e of view.edges) {
      seenEdges.add(e.id);
      let ee = this.edges.get(e.id);
      if (!ee) {
        ee = this.addEdge(e);
        if (!ee) continue;
      }
      ee.data = e;
      const b = edgeBucket(e.avgNs);
      const w = (Math.round(width(Math.max(1, e.count)) * 2) / 2).toString();
      if (b !== ee.bucket || w !== ee.width) {
        ee.bucket = b;
        ee.width = w;
        ee.styled = false;
        this.groups = undefined;
      }
      // Edges painted on the canvas keep their (undisplayed) SVG look until it is shown again.
      if (!largeNow) this.styleEdge(ee);
      if (this.edgeLabelsShown && !largeNow) this.setEdgeLabel(ee);
    }
    for (const [id, ee] of this.edges) if (!seenEdges.has(id)) (ee.g.remove(), this.edges.delete(id), (this.groups = undefined));
    // Large graphs: the edges are painted on a canvas under the SVG (their SVG elements stay,
    // undisplayed, keyed and updated the same way, so ids and figures are still in the page).
    const wasLarge = this.large;
    this.large = this.edges.size > LARGE_EDGES;
    if (wasLarge && !this.large) for (const ee of this.edges.values()) this.styleEdge(ee);
    this.svgEl.classList.toggle('large', this.large);
    this.canvas.hidden = !this.large;
    if (this.large) this.drawCanvas(); // already inside the frame's render

    const hidden = view.health.hiddenNodes + view.health.hiddenEdges;
    this.status.textContent =
      `${view.nodes.length} blocking points, ${view.edges.length} edges` +
      (hidden > 0 ? ` (not shown: ${view.health.hiddenNodes} points, ${view.health.hiddenEdges} edges with the least time)` : '');
    if (this.filter) this.applyFilter();
    if (!this.fitted && view.nodes.length > 0) this.fit();
    else this.updateLabelModes();
  }

  private addNode(n: ViewNode): NodeEl {
    const p = this.layout.get(n.id)!;
    const g = svg('g', 'node');
    g.dataset['nodeId'] = String(n.id);
    g.setAttribute('transform', `translate(${p.x},${p.y})`);
    const rect = svg('rect');
    rect.setAttribute('x', String(-NODE_W / 2));
    rect.setAttribute('y', String(-NODE_H / 2));
    rect.setAttribute('width', String(NODE_W));
    rect.setAttribute('height', String(NODE_H));
    rect.setAttribute('rx', '6');
    rect.setAttribute('fill', NODE_COLOURS[0]!);
    const t1 = svg('text', 'node-label');
    t1.setAttribute('y', '-3');
    const t2 = svg('text', 'node-place');
    t2.setAttribute('y', '13');
    g.append(rect, t1, t2);
    this.nodeLayer.append(g);
    const ne: NodeEl = { g, rect, data: n, bucket: -1 };
    this.relabelNode(ne, n);
    this.nodes.set(n.id, ne);
    return ne;
  }

  private relabelNode(ne: NodeEl, n: ViewNode): void {
    const [t1, t2] = [ne.g.children[1]!, ne.g.children[2]!];
    const fn = n.label.length > 26 ? n.label.slice(0, 25) + '…' : n.label;
    t1.textContent = fn;
    const place = fileLine(n.file, n.line);
    t2.textContent = place ? `${place} · ${n.kind}` : n.kind;
    ne.g.setAttribute('aria-label', `${n.label} ${place}`);
  }

  private addEdge(e: ViewEdge): EdgeEl | undefined {
    const a = this.layout.get(e.from);
    const b = this.layout.get(e.to);
    if (!a || !b) return undefined;
    const g = svg('g', 'edge');
    g.dataset['edgeId'] = e.id;
    const { d, mx, my } = edgePath(a, b, e.from === e.to);
    const path = svg('path');
    path.setAttribute('d', d);
    path.setAttribute('stroke', EDGE_COLOURS[0]!);
    path.setAttribute('marker-end', 'url(#arrow)');
    const label = svg('text', 'edge-label');
    label.setAttribute('x', String(mx));
    label.setAttribute('y', String(my - 4));
    g.append(path, label);
    this.edgeLayer.append(g);
    const ee: EdgeEl = { g, path, label, curve: new Path2D(d), data: e, bucket: -1, width: '', styled: false, labelText: '' };
    this.edges.set(e.id, ee);
    this.groups = undefined;
    return ee;
  }

  private styleEdge(ee: EdgeEl): void {
    if (ee.styled) return;
    ee.styled = true;
    ee.path.setAttribute('stroke', EDGE_COLOURS[Math.max(0, ee.bucket)]!);
    ee.path.setAttribute('stroke-width', ee.width);
  }

  private setEdgeLabel(ee: EdgeEl): void {
    const t = edgeLabel(ee.data);
    if (t !== ee.labelText) {
      ee.labelText = t;
      ee.label.textContent = t;
    }
  }

  private onZoom(t: ZoomTransform): void {
    setAttr(this.layer, 'transform', t.toString());
    this.k = t.k;
    this.transform = t;
    this.updateLabelModes();
    if (this.large) this.queueDraw();
  }

  private queueDraw(): void {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      this.drawCanvas();
    });
  }

  /** Paints the edges of a large graph: one stroke per colour and width. */
  private drawCanvas(): void {
    const { w, h } = this.size;
    const dpr = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    const t = this.transform;
    ctx.setTransform(dpr * t.k, 0, 0, dpr * t.k, dpr * t.x, dpr * t.y);
    for (const g of this.strokeGroups()) {
      ctx.strokeStyle = g.colour;
      ctx.lineWidth = g.width;
      ctx.stroke(g.path);
    }
  }

  private strokeGroups(): { colour: string; width: number; path: Path2D }[] {
    if (this.groups) return this.groups;
    const groups = new Map<string, { colour: string; width: number; path: Path2D }>();
    const dimmed = this.filter !== '';
    for (const ee of this.edges.values()) {
      const dim = dimmed && ee.g.classList.contains('dim');
      const key = `${ee.bucket}|${ee.width}|${dim}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { colour: dim ? '#ddd' : EDGE_COLOURS[Math.max(0, ee.bucket)]!, width: Number(ee.width) || 1, path: new Path2D() }));
      g.path.addPath(ee.curve);
    }
    return (this.groups = [...groups.values()]);
  }

  private updateLabelModes(): void {
    const showEdges = this.k >= EDGE_LABELS_MIN_K;
    this.svgEl.classList.toggle('no-node-labels', this.k < NODE_LABELS_MIN_K);
    this.svgEl.classList.toggle('no-edge-labels', !showEdges);
    if (showEdges && !this.edgeLabelsShown) for (const ee of this.edges.values()) this.setEdgeLabel(ee);
    this.edgeLabelsShown = showEdges;
  }

  /** Zooms to show the whole graph. */
  fit(): void {
    const w = this.svgEl.clientWidth || 960;
    const h = this.svgEl.clientHeight || 520;
    const gw = Math.max(1, this.layout.layers - 1) * 240 + NODE_W + 80;
    const gh = Math.max(1, this.layout.maxRows) * 64 + NODE_H + 120;
    const k = Math.max(0.05, Math.min(1.5, w / gw, h / gh));
    const t = zoomIdentity.translate((w - (gw - 80 - NODE_W) * k) / 2, 60 * k + Math.max(0, (h - gh * k) / 2)).scale(k);
    select(this.svgEl).call(this.zoomer.transform, t);
    this.fitted = this.nodes.size > 0;
  }

  private applyFilter(): void {
    const f = this.filter;
    const match = new Set<number>();
    for (const [id, ne] of this.nodes) {
      const n = ne.data;
      const hit = f !== '' && `${n.label} ${n.file}:${n.line} ${n.kind}`.toLowerCase().includes(f);
      if (hit) match.add(id);
      ne.g.classList.toggle('match', hit);
      ne.g.classList.toggle('dim', f !== '' && !hit);
    }
    for (const ee of this.edges.values()) ee.g.classList.toggle('dim', f !== '' && !match.has(ee.data.from) && !match.has(ee.data.to));
    this.groups = undefined;
    if (this.large) this.queueDraw();
  }

  private target(ev: Event): { node?: NodeEl; edge?: EdgeEl } {
    const t = ev.target instanceof Element ? ev.target : null;
    const ng = t?.closest('[data-node-id]');
    if (ng instanceof SVGGElement) {
      const node = this.nodes.get(Number(ng.dataset['nodeId']));
      return node ? { node } : {};
    }
    const eg = t?.closest('[data-edge-id]');
    if (eg instanceof SVGGElement) {
      const edge = this.edges.get(eg.dataset['edgeId'] ?? '');
      return edge ? { edge } : {};
    }
    return {};
  }

  private hover(ev: PointerEvent): void {
    const { node, edge } = this.target(ev);
    if (!node && !edge) {
      this.tooltip.hidden = true;
      return;
    }
    this.tooltip.replaceChildren(...(node ? this.nodeDetails(node.data) : this.edgeDetails(edge!.data)));
    this.tooltip.hidden = false;
    this.moveTooltip(ev);
  }

  private nodeDetails(n: ViewNode): HTMLElement[] {
    const head = el('div', 'tt-head', `${n.label}  ${fileLine(n.file, n.line)}`);
    const stats = el('div', 'tt-stats', `${n.kind} · waits ${formatCount(n.count)} · avg ${formatNs(n.waitAvgNs)} · max ${formatNs(n.waitMaxNs)} · total ${formatNs(n.waitTotalNs)}`);
    const chain = el('ol', 'tt-chain');
    for (const f of n.chain) chain.append(el('li', f.own ? 'own' : 'lib', `${f.function}  ${fileLine(f.file, f.line) || '??'}`));
    const hint = el('div', 'tt-hint', n.file && n.file !== '??' ? 'click to open the source' : 'no source location');
    return [head, stats, el('div', 'tt-sub', 'call chain (innermost first)'), chain, hint];
  }

  private edgeDetails(e: ViewEdge): HTMLElement[] {
    const name = (id: number): string => {
      const n = this.nodes.get(id)?.data;
      return n ? `${n.label} ${fileLine(n.file, n.line)}` : `#${id}`;
    };
    return [
      el('div', 'tt-head', `${name(e.from)} → ${name(e.to)}`),
      el('div', 'tt-stats', `runs ${formatCount(e.count)} · avg ${formatNs(e.avgNs)} · ewma ${formatNs(e.ewmaNs)} · max ${formatNs(e.maxNs)} · total ${formatNs(e.totalNs)}`),
    ];
  }

  private moveTooltip(ev: PointerEvent): void {
    if (this.tooltip.hidden) return;
    const box = this.svgEl.getBoundingClientRect();
    const x = ev.clientX - box.left + 14;
    const y = ev.clientY - box.top + 14;
    this.tooltip.style.left = `${Math.min(x, Math.max(0, box.width - 380))}px`;
    this.tooltip.style.top = `${y}px`;
  }

  private click(ev: MouseEvent): void {
    const { node, edge } = this.target(ev);
    const n = node?.data ?? (edge ? this.nodes.get(edge.data.to)?.data : undefined);
    if (n && n.file && n.file !== '??' && n.line > 0) this.handlers.reveal(n.file, n.line);
  }
}
