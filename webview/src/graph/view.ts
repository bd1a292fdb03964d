// The blocking graph in SVG: nodes are blocking points (function, file:line), edges the runs
// between them (average time and count). Colour encodes time (edges: average run; nodes: average
// wait), edge width the count. Positions come from the stable layout, so a live update only
// recolours and relabels; elements are keyed by id and an attribute is written only when its
// value changed. Labels are hidden when zoomed out (and edge labels not even updated then).
// Zoom and pan (d3-zoom), hover details, search, and a click that asks to reveal the source.
// Large graphs paint their colours (edges, node fills) on a canvas (canvas.ts); each node and
// edge keeps its SVG element.
// Contention — the wake edges, and the wait-for edges to the critical sections' boxes — is drawn
// by contention.ts over the same points and layout, in layers of its own.
import { select } from 'd3-selection';
import { zoom, zoomIdentity, type ZoomBehavior, type ZoomTransform } from 'd3-zoom';
import { scaleLog } from 'd3-scale';
import { interpolateYlOrRd, interpolateBlues } from 'd3-scale-chromatic';
import { el, setAttr, svg } from '../dom.ts';
import { fileLine, formatCount, formatNs, hasSource, pointText } from '../format.ts';
import type { ViewData, ViewEdge, ViewNode } from '../../../shared/view.ts';
import { edgeCurve, pathData, NODE_H, NODE_W, type Curve } from './curves.ts';
import { GraphCanvas, type PaintedEdge, type PaintedNode } from './canvas.ts';
import { Contention, type ContentionItem } from './contention.ts';
import { StableLayout } from './layout.ts';
import { BUCKETS, bucketer, extent } from './scales.ts';

export { NODE_H, NODE_W };
/** zoom below which node labels are hidden */
const NODE_LABELS_MIN_K = 0.35;
/** zoom below which edge labels are hidden */
const EDGE_LABELS_MIN_K = 0.7;
/** more edges than this: drawn for speed */
const LARGE_EDGES = 500;

interface NodeEl extends PaintedNode {
  readonly g: SVGGElement;
  readonly rect: SVGRectElement;
  data: ViewNode;
  /** whether the SVG rect shows the bucket (not kept up while the canvas paints it) */
  styled: boolean;
  /** the update that last listed it (one not listed by the latest is removed) */
  seen: number;
}

interface EdgeEl extends PaintedEdge {
  readonly g: SVGGElement;
  readonly path: SVGPathElement;
  readonly label: SVGTextElement;
  readonly curve: Curve;
  data: ViewEdge;
  /** whether the SVG path shows bucket and width (not kept up while the canvas paints it) */
  styled: boolean;
  labelText: string;
  seen: number;
}

/** What the tooltip shows: a node, a run edge (standing for `of` edges drawn as one), or contention (a wake edge, a critical section or its wait-for edge). */
type Hovered = { readonly kind: 'node'; readonly el: NodeEl } | { readonly kind: 'edge'; readonly el: EdgeEl; readonly of: number } | ContentionItem;

const hoveredOf = (h: Hovered | undefined): number => (h?.kind === 'edge' ? h.of : 1);
const sameHovered = (a: Hovered | undefined, b: Hovered | undefined): boolean => a?.el === b?.el && a?.kind === b?.kind && hoveredOf(a) === hoveredOf(b);

export interface GraphHandlers {
  reveal(file: string, line: number): void;
}

const ramp = (interp: (t: number) => string): string[] => Array.from({ length: BUCKETS }, (_, i) => interp(0.15 + (0.85 * i) / (BUCKETS - 1)));
const EDGE_COLOURS = ramp(interpolateYlOrRd);
const NODE_COLOURS = ramp((t) => interpolateBlues(t * 0.7));
/** the canvas's colours: outline and dimming as style.css draws them in SVG */
const PALETTE = { edges: EDGE_COLOURS, nodes: NODE_COLOURS, dimEdge: '#ddd', outline: '#57606a', dimAlpha: 0.15 };

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
  /** the wakes and the wait-for edges with their critical sections */
  private readonly contention: Contention;
  private readonly zoomer: ZoomBehavior<SVGSVGElement, unknown>;
  private k = 1;
  private fitted = false;
  private filter = '';
  private edgeLabelsShown = true;
  private readonly canvas: HTMLCanvasElement;
  private readonly graphCanvas: GraphCanvas;
  private large = false;
  private transform: ZoomTransform = zoomIdentity;
  private drawQueued = false;
  /** the SVG's size, kept by a ResizeObserver: reading it during a render would force a layout */
  private size = { w: 0, h: 0 };
  /** counts updates, to find the nodes and edges an update no longer lists */
  private generation = 0;
  private statusText = '';
  /** what the tooltip shows */
  private hovered: Hovered | undefined;

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
    this.svgEl = svg('svg', 'graph-svg');
    this.svgEl.setAttribute('role', 'img');
    this.svgEl.setAttribute('aria-label', 'blocking graph');
    this.contention = new Contention(this.svgEl, this.layout, (id) => this.pointName(id));
    this.status = el('span', 'graph-status');
    bar.append(this.search, fit, ...this.contention.toggles, this.status);
    const legend = el('div', 'legend', 'edge colour: average run time · edge width: count · node colour: average wait · click a node to open its source');
    legend.append(...this.contention.legend);
    const defs = svg('defs');
    const marker = svg('marker');
    for (const [k, v] of Object.entries({ id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '9', markerHeight: '9', markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' })) marker.setAttribute(k, v);
    const tip = svg('path', 'arrow-head');
    tip.setAttribute('d', 'M0,0 L10,5 L0,10 z');
    marker.append(tip);
    defs.append(marker, ...this.contention.markers(marker));
    this.layer = svg('g', 'zoom-layer');
    this.edgeLayer = svg('g', 'edges');
    this.nodeLayer = svg('g', 'nodes');
    const c = this.contention;
    this.layer.append(this.edgeLayer, c.wakeLayer, c.waitForLayer, this.nodeLayer, c.sectionLayer);
    this.svgEl.append(defs, this.layer);
    this.tooltip = el('div', 'tooltip');
    this.tooltip.hidden = true;
    this.canvas = el('canvas', 'graph-canvas');
    this.canvas.hidden = true;
    this.graphCanvas = new GraphCanvas(this.canvas, PALETTE);
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
    this.svgEl.addEventListener('pointermove', (ev) => this.hover(ev));
    this.svgEl.addEventListener('pointerleave', () => this.showDetails(undefined));

    this.svgEl.addEventListener('click', (ev) => this.click(ev));
  }

  /** Draws `view`: new elements for new ids, changed attributes for the rest. */
  update(view: ViewData): void {
    const gen = ++this.generation;
    /** whether this view is drawn on the canvas; decided first, so the loops below know */
    const largeNow = view.edges.length > LARGE_EDGES;
    this.layout.add(
      view.nodes.map((n) => n.id),
      view.edges,
    );
    const nodeBucket = bucketer(...extent(view.nodes, (n) => n.waitAvgNs));
    for (const n of view.nodes) {
      let ne = this.nodes.get(n.id);
      if (!ne) ne = this.addNode(n);
      else if (ne.data.label !== n.label || ne.data.via !== n.via || ne.data.file !== n.file || ne.data.line !== n.line) this.relabelNode(ne, n);
      ne.data = n;
      ne.seen = gen;
      const b = nodeBucket(n.waitAvgNs);
      if (b !== ne.bucket) {
        ne.bucket = b;
        ne.styled = false;
        ne.g.classList.toggle('dark', b > BUCKETS * 0.6);
        this.graphCanvas.nodeLookChanged();
      }
      // Boxes painted on the canvas keep their (transparent) SVG fill until it is shown again.
      if (!largeNow) this.styleNode(ne);
    }
    for (const [id, ne] of this.nodes) {
      if (ne.seen !== gen) {
        ne.g.remove();
        this.nodes.delete(id);
      }
    }

    const edgeBucket = bucketer(...extent(view.edges, (e) => e.avgNs));
    const [, chi] = extent(view.edges, (e) => e.count);
    const width = scaleLog().domain([1, Math.max(2, chi)]).range([1, 9]).clamp(true);
    this.graphCanvas.widthOf = (count) => Math.round(width(Math.max(1, count)) * 2) / 2;
    for (const e of view.edges) {
      let ee = this.edges.get(e.id);
      if (!ee) {
        ee = this.addEdge(e);
        if (!ee) continue;
      }
      ee.data = e;
      ee.seen = gen;
      if (e.count !== ee.count) {
        ee.count = e.count;
        this.graphCanvas.edgeCountChanged();
      }
      const b = edgeBucket(e.avgNs);
      const w = Math.round(width(Math.max(1, e.count)) * 2) / 2;
      if (b !== ee.bucket || w !== ee.width) {
        ee.bucket = b;
        ee.width = w;
        ee.styled = false;
        this.graphCanvas.edgeLookChanged();
      }
      // Edges painted on the canvas keep their (undisplayed) SVG look until it is shown again.
      if (!largeNow) this.styleEdge(ee);
      if (this.edgeLabelsShown && !largeNow) this.setEdgeLabel(ee);
    }
    for (const [id, ee] of this.edges) {
      if (ee.seen !== gen) {
        ee.g.remove();
        this.edges.delete(id);
        this.graphCanvas.edgesChanged();
      }
    }
    this.contention.update(view, this.nodes);
    // Large graphs: edges and node fills are painted on a canvas under the SVG (the SVG elements
    // stay, keyed and updated the same way, so ids, figures, labels and hit targets are still in
    // the page; edge elements undisplayed, node boxes transparent).
    const wasLarge = this.large;
    this.large = largeNow;
    if (wasLarge !== this.large) {
      if (!this.large) {
        for (const ee of this.edges.values()) this.styleEdge(ee);
        for (const ne of this.nodes.values()) this.styleNode(ne);
      }
      this.svgEl.classList.toggle('large', this.large);
      this.canvas.hidden = !this.large;
      this.graphCanvas.invalidate();
    }

    const hidden = view.health.hiddenNodes + view.health.hiddenEdges;
    const status =
      `${view.nodes.length} blocking points, ${view.edges.length} edges` +
      (hidden > 0 ? ` (not shown: ${view.health.hiddenNodes} points, ${view.health.hiddenEdges} edges with the least time)` : '');
    if (status !== this.statusText) this.status.textContent = this.statusText = status;
    if (this.filter) this.applyFilter();
    if (!this.fitted && view.nodes.length > 0) this.fit();
    else this.updateLabelModes();
    if (this.large) this.drawCanvas(); // already inside the frame's render
  }

  private addNode(n: ViewNode): NodeEl {
    const p = this.layout.get(n.id)!;
    const g = svg('g', 'node');
    g.dataset['nodeId'] = String(n.id);
    // Absolute coordinates, no transform per node: a transform would make each node its own
    // paint chunk with its own property node, which every repaint and layerization walks.
    const rect = svg('rect', undefined, { x: p.x - NODE_W / 2, y: p.y - NODE_H / 2, width: NODE_W, height: NODE_H, rx: 6 });
    const t1 = svg('text', 'node-label', { x: p.x, y: p.y - 3 });
    const t2 = svg('text', 'node-place', { x: p.x, y: p.y + 13 });
    g.append(rect, t1, t2);
    this.nodeLayer.append(g);
    const ne: NodeEl = { g, rect, x: p.x, y: p.y, data: n, bucket: -1, dim: false, styled: false, seen: 0 };
    this.relabelNode(ne, n);
    this.nodes.set(n.id, ne);
    return ne;
  }

  private relabelNode(ne: NodeEl, n: ViewNode): void {
    const [t1, t2] = [ne.g.children[1]!, ne.g.children[2]!];
    // A library address without a symbol ("libfoo.so.1+0x1f08 (calls poll@plt)"): the offset stays on
    // the node, what it calls goes below.
    const m = /^(.*\+0x[0-9a-f]+)(?: \((calls .*)\))?$/.exec(n.label);
    const name = m ? m[1]! : n.label;
    t1.textContent = name.length <= 26 ? name : m ? `${name.slice(0, 25 - (name.length - name.lastIndexOf('+0x')))}…${name.slice(name.lastIndexOf('+0x'))}` : name.slice(0, 25) + '…';
    const place = fileLine(n.file, n.line) || (m?.[2] ?? '');
    // Points named for one frame differ by what `via` says: that, not their shared place, goes on the node.
    const second = n.via ?? place;
    t2.textContent = second ? `${second.length > 34 ? second.slice(0, 33) + '…' : second} · ${n.kind}` : n.kind;
    ne.g.setAttribute('aria-label', `${n.label} ${place}${n.via ? ` ${n.via}` : ''}`);
  }

  private addEdge(e: ViewEdge): EdgeEl | undefined {
    const a = this.layout.get(e.from);
    const b = this.layout.get(e.to);
    if (!a || !b) return undefined;
    const g = svg('g', 'edge');
    g.dataset['edgeId'] = e.id;
    const curve = edgeCurve(a, b, e.from === e.to);
    const path = svg('path');
    path.setAttribute('d', pathData(curve));
    path.setAttribute('stroke', EDGE_COLOURS[0]!);
    path.setAttribute('marker-end', 'url(#arrow)');
    const label = svg('text', 'edge-label');
    label.setAttribute('x', String(curve.mx));
    label.setAttribute('y', String(curve.my - 4));
    g.append(path, label);
    this.edgeLayer.append(g);
    const ee: EdgeEl = { g, path, label, curve, data: e, bucket: -1, width: 1, dim: false, count: e.count, styled: false, labelText: '', seen: 0 };
    this.edges.set(e.id, ee);
    this.graphCanvas.edgesChanged();
    return ee;
  }

  private styleNode(ne: NodeEl): void {
    if (ne.styled) return;
    ne.styled = true;
    ne.rect.setAttribute('fill', NODE_COLOURS[Math.max(0, ne.bucket)]!);
  }

  private styleEdge(ee: EdgeEl): void {
    if (ee.styled) return;
    ee.styled = true;
    ee.path.setAttribute('stroke', EDGE_COLOURS[Math.max(0, ee.bucket)]!);
    ee.path.setAttribute('stroke-width', String(ee.width));
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

  /** Paints the colours of a large graph (nothing, if what the canvas shows is still right). */
  private drawCanvas(): void {
    this.graphCanvas.paint(this.edges, this.nodes, this.transform, this.size.w, this.size.h);
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
    this.zoomer.transform(select(this.svgEl), t);
    this.fitted = this.nodes.size > 0;
  }

  private applyFilter(): void {
    const f = this.filter;
    const match = new Set<number>();
    for (const [id, ne] of this.nodes) {
      const n = ne.data;
      const hit = f !== '' && `${n.label} ${n.via ?? ''} ${n.file}:${n.line} ${n.kind}`.toLowerCase().includes(f);
      if (hit) match.add(id);
      ne.g.classList.toggle('match', hit);
      const dim = f !== '' && !hit;
      if (dim !== ne.dim) {
        ne.dim = dim;
        ne.g.classList.toggle('dim', dim);
        this.graphCanvas.nodeLookChanged();
      }
    }
    for (const ee of this.edges.values()) {
      const dim = f !== '' && !match.has(ee.data.from) && !match.has(ee.data.to);
      if (dim === ee.dim) continue;
      ee.dim = dim;
      ee.g.classList.toggle('dim', dim);
      this.graphCanvas.edgeLookChanged();
    }
    this.contention.applyFilter(f, match);
    if (this.large) this.queueDraw();
  }

  /** The node or edge under the pointer: an SVG element, or on a large graph an edge on the canvas. */
  private target(ev: MouseEvent): Hovered | undefined {
    const t = ev.target instanceof Element ? ev.target : null;
    const ng = t?.closest('[data-node-id]');
    if (ng instanceof SVGGElement) {
      const node = this.nodes.get(Number(ng.dataset['nodeId']));
      return node ? { kind: 'node', el: node } : undefined;
    }
    const contended = this.contention.target(t);
    if (contended) return contended;
    const eg = t?.closest('[data-edge-id]');
    if (eg instanceof SVGGElement) {
      const edge = this.edges.get(eg.dataset['edgeId'] ?? '');
      return edge ? { kind: 'edge', el: edge, of: 1 } : undefined;
    }
    if (this.large) {
      const box = this.svgEl.getBoundingClientRect();
      const [gx, gy] = this.transform.invert([ev.clientX - box.left, ev.clientY - box.top]);
      const hit = this.graphCanvas.hit(this.edges.values(), gx, gy, this.transform.k);
      return hit ? { kind: 'edge', el: hit.edge, of: hit.of } : undefined;
    }
    return undefined;
  }

  private hover(ev: PointerEvent): void {
    this.showDetails(this.target(ev));
    this.moveTooltip(ev);
  }

  /** Shows the details of `item` in the tooltip (hides it for none); rebuilt only when the item changes. */
  private showDetails(item: Hovered | undefined): void {
    if (sameHovered(item, this.hovered)) return;
    this.hovered = item;
    this.svgEl.classList.toggle('over-edge', item !== undefined && item.kind !== 'node');
    if (!item) {
      this.tooltip.hidden = true;
      return;
    }
    this.tooltip.replaceChildren(...this.details(item));
    this.tooltip.hidden = false;
  }

  private details(item: Hovered): HTMLElement[] {
    switch (item.kind) {
      case 'node':
        return this.nodeDetails(item.el.data);
      case 'edge':
        return this.edgeDetails(item.el.data, item.of);
      case 'wake':
      case 'section':
      case 'waitfor':
        return this.contention.details(item);
      default: {
        const never: never = item;
        throw new Error(`unknown item ${JSON.stringify(never)}`);
      }
    }
  }

  private nodeDetails(n: ViewNode): HTMLElement[] {
    const head = el('div', 'tt-head', `${n.label}  ${fileLine(n.file, n.line)}${n.via ? `  ${n.via}` : ''}`);
    const stats = el('div', 'tt-stats', `${n.kind} · waits ${formatCount(n.count)} · avg ${formatNs(n.waitAvgNs)} · max ${formatNs(n.waitMaxNs)} · total ${formatNs(n.waitTotalNs)}`);
    const chain = el('ol', 'tt-chain');
    for (const f of n.chain) chain.append(el('li', f.own ? 'own' : 'lib', `${f.function}  ${fileLine(f.file, f.line) || '??'}`));
    const hint = el('div', 'tt-hint', n.file && n.file !== '??' ? 'click to open the source' : 'no source location');
    return [head, stats, ...this.contention.holderDetails(n.id), el('div', 'tt-sub', 'call chain (innermost first)'), chain, hint];
  }

  /** The name of a drawn point: its label, place and what tells it apart. */
  private pointName(id: number): string {
    const n = this.nodes.get(id)?.data;
    return n ? pointText(n) : `#${id}`;
  }

  /** An edge's details; `of` > 1: it is the hottest of that many edges drawn as one here. */
  private edgeDetails(e: ViewEdge, of = 1): HTMLElement[] {
    return [
      ...(of > 1 ? [el('div', 'tt-sub', `${formatCount(of)} edges drawn as one at this zoom (zoom in to tell them apart); the one whose colour is shown:`)] : []),
      el('div', 'tt-head', `${this.pointName(e.from)} → ${this.pointName(e.to)}`),
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
    const t = this.target(ev);
    // a node, an edge's target, a wake's busiest waker line, a critical section's (or its wait-for edge's) acquire site
    const at = ((): { file: string; line: number } | undefined => {
      switch (t?.kind) {
        case 'node':
          return t.el.data;
        case 'edge':
          return this.nodes.get(t.el.data.to)?.data;
        case 'wake':
        case 'section':
        case 'waitfor':
          return this.contention.source(t);
        default:
          return undefined;
      }
    })();
    if (at && hasSource(at)) this.handlers.reveal(at.file, at.line);
  }
}
