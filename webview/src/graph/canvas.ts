// The colours of a large blocking graph, painted on a canvas under the SVG: the edges and the
// fills of the node boxes. In SVG, any changed colour makes the browser re-record the whole
// graph (thousands of elements) in style, paint and layerization; the canvas costs one path and
// one fill or stroke per look. The SVG keeps an element per node and edge (ids, labels, hover
// outlines, hit targets for nodes); only the pixels that change at the telemetry cadence are here.
// What keeps it cheap:
// - one path per look (colour bucket × width × dimmed), not one per item;
// - no repaint at all when nothing changed its look and the view did not move;
// - items whose box is outside the viewport are skipped (zoomed in, most are);
// - the backing store is at most 2 device pixels per CSS pixel, and covers only the part of the
//   viewport the graph is in;
// - zoomed out so far that edges cannot be told apart, edges whose ends fall in the same few
//   device pixels are drawn once, as an aggregate (aggregate.ts): hottest colour, summed width;
// - no allocation per paint (the groups are reused), so live updates make no garbage to collect.
// It also answers "which edge is under the pointer", from the same curves it paints.
import { EdgeAggregator, type Aggregate } from './aggregate.ts';
import { distanceTo, meets, NODE_H, NODE_W, type Curve } from './curves.ts';

/** What the canvas needs of an edge; the view owns these and changes them in place. */
export interface PaintedEdge {
  readonly curve: Curve;
  /** colour bucket (index into the edge palette) */
  bucket: number;
  /** stroke width in graph units (a multiple of 0.5) */
  width: number;
  /** filtered out by the search: drawn faint */
  dim: boolean;
  /** runs: an aggregate's width is that of its members' summed count */
  count: number;
}

/** What the canvas needs of a node: its centre and fill. */
export interface PaintedNode {
  readonly x: number;
  readonly y: number;
  /** colour bucket (index into the node palette) */
  bucket: number;
  dim: boolean;
}

export interface ViewTransform {
  readonly k: number;
  readonly x: number;
  readonly y: number;
}

export interface Palette {
  readonly edges: readonly string[];
  readonly nodes: readonly string[];
  /** colour of an edge the search filters out (the SVG dims with opacity instead) */
  readonly dimEdge: string;
  /** the node outline (style.css: .node rect) */
  readonly outline: string;
  /** opacity of a node the search filters out (style.css: .dim) */
  readonly dimAlpha: number;
}

/** Device pixels per CSS pixel above which a sharper canvas costs more than it shows. */
const MAX_DPR = 2;
/** How near (CSS pixels) the pointer must be to a thin edge to hover it. */
const HIT_SLOP_PX = 4;
/** Device pixels (the outline's width at the zoom) under which node outlines are not drawn. */
const OUTLINE_MIN_PX = 0.2;
/** corner radius of a node box (as the SVG rect's rx) */
const RADIUS = 6;
/**
 * Device pixels per graph unit below which edges are aggregated: node rows (64 units apart)
 * are then under 8 device pixels apart, node boxes a few pixels high, and edges meeting the same
 * box cannot be told apart.
 */
export const AGGREGATE_BELOW = 0.125;

/** The view's nodes or edges (a Map): walked more than once per paint. */
interface Collection<T> {
  values(): Iterable<T>;
}

/** A look's edges (or aggregates) to stroke as one path; reused from paint to paint. */
interface Group {
  bucket: number;
  width: number;
  dim: boolean;
  readonly curves: Curve[];
  /** per curve: drawn as a straight line */
  readonly straight: boolean[];
}

/** What hit() finds: the edge, and how many edges are drawn as one there (1: just it). */
export interface Hit<E> {
  readonly edge: E;
  readonly of: number;
}

export class GraphCanvas {
  private dirtyEdges = true;
  private dirtyNodes = true;
  /** a count changed: matters only to aggregates (summed width) */
  private dirtyCounts = true;
  /** bumped when edges are added or removed (the aggregation is then rebuilt) */
  private edgeVersion = 0;
  /** what the current pixels were painted for */
  private painted = { k: NaN, x: NaN, y: NaN, w: -1, h: -1, dpr: -1 };
  private readonly aggregator = new EdgeAggregator<PaintedEdge>();
  /** whether the current pixels show aggregates (hit() then tests them) */
  private aggregated = false;
  private readonly groups = new Map<number, Group>();
  private readonly keys: number[] = [];
  private readonly nodeGroups = new Map<number, PaintedNode[]>();
  private readonly box = { x0: 0, y0: 0, x1: 0, y1: 0 };
  /** where the canvas is placed in the view (CSS pixels) */
  private at = { x: 0, y: 0 };
  /** the width of an aggregate's summed count (the view's width scale) */
  widthOf: (count: number) => number = () => 1;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly palette: Palette,
  ) {}

  /** Something changed in a way not said more precisely: the next paint must redraw. */
  invalidate(): void {
    this.dirtyEdges = this.dirtyNodes = this.dirtyCounts = true;
  }

  /** An edge was added or removed. */
  edgesChanged(): void {
    this.edgeVersion++;
    this.dirtyEdges = true;
  }

  /** An edge changed its look (bucket, width, dimmed). */
  edgeLookChanged(): void {
    this.dirtyEdges = true;
  }

  /** An edge's count changed (its look may not have). */
  edgeCountChanged(): void {
    this.dirtyCounts = true;
  }

  /** A node changed its look. */
  nodeLookChanged(): void {
    this.dirtyNodes = true;
  }

  /**
   * Paints `edges` then `nodes` as seen through `t` on a canvas of `w`×`h` CSS pixels, unless
   * the pixels already show exactly that. Returns whether it painted.
   */
  paint(edgeSet: Collection<PaintedEdge>, nodeSet: Collection<PaintedNode>, t: ViewTransform, w: number, h: number): boolean {
    const dpr = Math.min(MAX_DPR, window.devicePixelRatio || 1);
    const p = this.painted;
    const moved = !(p.k === t.k && p.x === t.x && p.y === t.y && p.w === w && p.h === h && p.dpr === dpr);
    const aggregate = t.k * dpr < AGGREGATE_BELOW;
    let edgesDirty = this.dirtyEdges;
    if (aggregate) {
      // The grouping follows the view and the edge set; a figure update only changes looks, and
      // repaints only if an aggregate's look changed.
      const rebuilt = this.aggregator.prepare(edgeSet.values(), { k: t.k, x: t.x, y: t.y, w, h, dpr }, this.edgeVersion);
      if (rebuilt || this.dirtyEdges || this.dirtyCounts || !this.aggregated) edgesDirty = this.aggregator.relook(this.widthOf) || rebuilt || !this.aggregated;
    }
    if (!moved && !edgesDirty && !this.dirtyNodes) {
      this.dirtyEdges = this.dirtyCounts = false;
      return false;
    }
    if (moved) this.painted = { k: t.k, x: t.x, y: t.y, w, h, dpr };
    this.dirtyEdges = this.dirtyNodes = this.dirtyCounts = false;
    this.aggregated = aggregate;
    // The backing store covers only the part of the viewport the graph is in (a tall narrow
    // graph fit to a wide view fills a fraction of it): fewer pixels to clear, upload and composite.
    const b = this.bounds(edgeSet.values(), nodeSet.values());
    const pad = 10;
    const sx0 = Math.max(0, Math.floor(b.x0 * t.k + t.x - pad));
    const sy0 = Math.max(0, Math.floor(b.y0 * t.k + t.y - pad));
    const sx1 = Math.max(sx0 + 1, Math.min(w, Math.ceil(b.x1 * t.k + t.x + pad)));
    const sy1 = Math.max(sy0 + 1, Math.min(h, Math.ceil(b.y1 * t.k + t.y + pad)));
    const bw = Math.round((sx1 - sx0) * dpr);
    const bh = Math.round((sy1 - sy0) * dpr);
    if (this.canvas.width !== bw || this.canvas.height !== bh) {
      this.canvas.width = bw;
      this.canvas.height = bh;
      this.canvas.style.width = `${sx1 - sx0}px`;
      this.canvas.style.height = `${sy1 - sy0}px`;
    }
    if (this.at.x !== sx0 || this.at.y !== sy0) {
      this.at = { x: sx0, y: sy0 };
      this.canvas.style.left = `${sx0}px`;
      this.canvas.style.top = `${sy0}px`;
    }
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return false;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, bw, bh);
    ctx.setTransform(dpr * t.k, 0, 0, dpr * t.k, dpr * (t.x - sx0), dpr * (t.y - sy0));
    // the viewport in graph units
    const x0 = -t.x / t.k;
    const y0 = -t.y / t.k;
    const x1 = (w - t.x) / t.k;
    const y1 = (h - t.y) / t.k;
    this.beginGroups();
    if (aggregate) for (const a of this.aggregator.aggregates) this.group(a, a.curve, a.straight);
    else for (const e of edgeSet.values()) if (meets(e.curve, x0, y0, x1, y1, e.width)) this.group(e, e.curve, false);
    this.strokeGroups(ctx);
    this.paintNodes(ctx, nodeSet.values(), x0, y0, x1, y1, t.k * dpr);
    return true;
  }

  /** The box (graph units) of everything painted: edge curves and node boxes. */
  private bounds(edges: Iterable<PaintedEdge>, nodes: Iterable<PaintedNode>): { x0: number; y0: number; x1: number; y1: number } {
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const e of edges) {
      const c = e.curve;
      const r = e.width / 2;
      if (c.minX - r < x0) x0 = c.minX - r;
      if (c.minY - r < y0) y0 = c.minY - r;
      if (c.maxX + r > x1) x1 = c.maxX + r;
      if (c.maxY + r > y1) y1 = c.maxY + r;
    }
    for (const n of nodes) {
      if (n.x - NODE_W / 2 < x0) x0 = n.x - NODE_W / 2;
      if (n.y - NODE_H / 2 < y0) y0 = n.y - NODE_H / 2;
      if (n.x + NODE_W / 2 > x1) x1 = n.x + NODE_W / 2;
      if (n.y + NODE_H / 2 > y1) y1 = n.y + NODE_H / 2;
    }
    const b = this.box;
    b.x0 = x0;
    b.y0 = y0;
    b.x1 = x1;
    b.y1 = y1;
    return b;
  }

  private beginGroups(): void {
    for (const g of this.groups.values()) {
      g.curves.length = 0;
      g.straight.length = 0;
    }
  }

  /**
   * Files a curve under its look. Paint order (the key's order): dimmed ones first, then by
   * colour bucket so the slowest edges are drawn over the rest and stay visible where edges cross.
   */
  private group(look: { bucket: number; width: number; dim: boolean }, c: Curve, straight: boolean): void {
    // Buckets < 64 and widths < 32 (in half units): one number keys a look and sorts in paint order.
    const key = (look.dim ? 0 : 1 << 16) + Math.max(0, look.bucket) * 64 + Math.round(look.width * 2);
    let g = this.groups.get(key);
    if (!g) {
      this.groups.set(key, (g = { bucket: look.bucket, width: look.width, dim: look.dim, curves: [], straight: [] }));
      this.keys.push(key);
      this.keys.sort((a, b) => a - b);
    }
    g.curves.push(c);
    g.straight.push(straight);
  }

  private strokeGroups(ctx: CanvasRenderingContext2D): void {
    for (const key of this.keys) {
      const g = this.groups.get(key)!;
      if (g.curves.length === 0) continue;
      ctx.strokeStyle = g.dim ? this.palette.dimEdge : this.palette.edges[Math.max(0, g.bucket)]!;
      ctx.lineWidth = g.width;
      ctx.beginPath();
      const n = g.curves.length;
      for (let i = 0; i < n; i++) {
        const c = g.curves[i]!;
        ctx.moveTo(c.x0, c.y0);
        if (g.straight[i]) ctx.lineTo(c.x3, c.y3);
        else ctx.bezierCurveTo(c.x1, c.y1, c.x2, c.y2, c.x3, c.y3);
      }
      ctx.stroke();
    }
  }

  /** Node boxes: one fill per colour bucket, then one stroke for all outlines; dimmed ones faint. */
  private paintNodes(ctx: CanvasRenderingContext2D, nodes: Iterable<PaintedNode>, x0: number, y0: number, x1: number, y1: number, k: number): void {
    const groups = this.nodeGroups;
    for (const g of groups.values()) g.length = 0;
    for (const n of nodes) {
      if (n.x + NODE_W / 2 < x0 || n.x - NODE_W / 2 > x1 || n.y + NODE_H / 2 < y0 || n.y - NODE_H / 2 > y1) continue;
      const key = (n.dim ? 0 : 1 << 16) + Math.max(0, n.bucket);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(n);
    }
    ctx.lineWidth = 1;
    ctx.strokeStyle = this.palette.outline;
    // Corners under a device pixel round nothing visible but cost path segments and raster time;
    // an outline under a fifth of a device pixel tints the box's edge by less than that: not drawn.
    const round = RADIUS * k >= 0.5;
    const outlined = k >= OUTLINE_MIN_PX;
    // (dimmed first: key order; few groups, so the sort costs nothing)
    for (const key of [...groups.keys()].sort((a, b) => a - b)) {
      const boxes = groups.get(key)!;
      const first = boxes[0];
      if (!first) continue;
      ctx.globalAlpha = first.dim ? this.palette.dimAlpha : 1;
      ctx.fillStyle = this.palette.nodes[Math.max(0, first.bucket)]!;
      ctx.beginPath();
      for (const n of boxes) {
        if (round) ctx.roundRect(n.x - NODE_W / 2, n.y - NODE_H / 2, NODE_W, NODE_H, RADIUS);
        else ctx.rect(n.x - NODE_W / 2, n.y - NODE_H / 2, NODE_W, NODE_H);
      }
      ctx.fill();
      if (outlined) ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  /**
   * The edge drawn under the graph point (gx, gy) at zoom `k`, the nearest if several. Where the
   * pixels show an aggregate, its hottest member (the one whose colour is drawn) and how many
   * edges it stands for.
   */
  hit<E extends PaintedEdge>(edges: Iterable<E>, gx: number, gy: number, k: number): Hit<E> | undefined {
    const slop = HIT_SLOP_PX / k;
    if (this.aggregated) {
      const a = nearest(this.aggregator.aggregates as unknown as Aggregate<E>[], gx, gy, slop);
      return a ? { edge: a.hottest, of: a.members.length } : undefined;
    }
    const e = nearest(edges, gx, gy, slop);
    return e ? { edge: e, of: 1 } : undefined;
  }
}

function nearest<T extends { curve: Curve; width: number }>(items: Iterable<T>, gx: number, gy: number, slop: number): T | undefined {
  let best: T | undefined;
  let bestD = Infinity;
  for (const e of items) {
    const reach = Math.max(slop, e.width / 2);
    if (!meets(e.curve, gx, gy, gx, gy, reach)) continue;
    const d = distanceTo(e.curve, gx, gy);
    if (d <= reach && d < bestD) {
      best = e;
      bestD = d;
    }
  }
  return best;
}
