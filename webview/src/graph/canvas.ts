// The colours of a large blocking graph, painted on a canvas under the SVG: the edges and the
// fills of the node boxes. In SVG, any changed colour makes the browser re-record the whole
// graph (thousands of elements) in style, paint and layerization; the canvas costs one path and
// one fill or stroke per look. The SVG keeps an element per node and edge (ids, labels, hover
// outlines, hit targets for nodes); only the pixels that change at the telemetry cadence are here.
// What keeps it cheap:
// - one path per look (colour bucket × width × dimmed), not one per item;
// - no repaint at all when nothing changed its look and the view did not move;
// - items whose box is outside the viewport are skipped (zoomed in, most are);
// - the backing store is at most 2 device pixels per CSS pixel.
// It also answers "which edge is under the pointer", from the same curves it paints.
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
/** corner radius of a node box (as the SVG rect's rx) */
const RADIUS = 6;

export class GraphCanvas {
  private dirty = true;
  /** what the current pixels were painted for */
  private painted = { k: NaN, x: NaN, y: NaN, w: -1, h: -1, dpr: -1 };

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly palette: Palette,
  ) {}

  /** Something was added or removed, or changed its look: the next paint must redraw. */
  invalidate(): void {
    this.dirty = true;
  }

  /**
   * Paints `edges` then `nodes` as seen through `t` on a canvas of `w`×`h` CSS pixels, unless
   * the pixels already show exactly that. Returns whether it painted.
   */
  paint(edges: Iterable<PaintedEdge>, nodes: Iterable<PaintedNode>, t: ViewTransform, w: number, h: number): boolean {
    const dpr = Math.min(MAX_DPR, window.devicePixelRatio || 1);
    const p = this.painted;
    if (!this.dirty && p.k === t.k && p.x === t.x && p.y === t.y && p.w === w && p.h === h && p.dpr === dpr) return false;
    this.painted = { k: t.k, x: t.x, y: t.y, w, h, dpr };
    this.dirty = false;
    const bw = Math.round(w * dpr);
    const bh = Math.round(h * dpr);
    if (this.canvas.width !== bw || this.canvas.height !== bh) {
      this.canvas.width = bw;
      this.canvas.height = bh;
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return false;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, bw, bh);
    ctx.setTransform(dpr * t.k, 0, 0, dpr * t.k, dpr * t.x, dpr * t.y);
    // the viewport in graph units
    const view = { x0: -t.x / t.k, y0: -t.y / t.k, x1: (w - t.x) / t.k, y1: (h - t.y) / t.k };
    this.paintEdges(ctx, edges, view);
    this.paintNodes(ctx, nodes, view, t.k * dpr);
    return true;
  }

  /**
   * Edges grouped by look, in paint order: dimmed ones first, then by colour bucket so the
   * slowest edges are drawn over the rest and stay visible where edges cross.
   */
  private paintEdges(ctx: CanvasRenderingContext2D, edges: Iterable<PaintedEdge>, v: Box): void {
    const groups = new Map<number, { look: PaintedEdge; curves: Curve[] }>();
    for (const e of edges) {
      if (!meets(e.curve, v.x0, v.y0, v.x1, v.y1, e.width)) continue;
      // Buckets < 64 and widths < 32 (in half units): one number keys a look and sorts in paint order.
      const key = (e.dim ? 0 : 1 << 16) + Math.max(0, e.bucket) * 64 + Math.round(e.width * 2);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { look: e, curves: [] }));
      g.curves.push(e.curve);
    }
    for (const [, { look, curves }] of [...groups].sort((a, b) => a[0] - b[0])) {
      ctx.strokeStyle = look.dim ? this.palette.dimEdge : this.palette.edges[Math.max(0, look.bucket)]!;
      ctx.lineWidth = look.width;
      ctx.beginPath();
      for (const c of curves) {
        ctx.moveTo(c.x0, c.y0);
        ctx.bezierCurveTo(c.x1, c.y1, c.x2, c.y2, c.x3, c.y3);
      }
      ctx.stroke();
    }
  }

  /** Node boxes: one fill per colour bucket, then one stroke for all outlines; dimmed ones faint. */
  private paintNodes(ctx: CanvasRenderingContext2D, nodes: Iterable<PaintedNode>, v: Box, k: number): void {
    const groups = new Map<number, PaintedNode[]>();
    for (const n of nodes) {
      if (n.x + NODE_W / 2 < v.x0 || n.x - NODE_W / 2 > v.x1 || n.y + NODE_H / 2 < v.y0 || n.y - NODE_H / 2 > v.y1) continue;
      const key = (n.dim ? 0 : 1 << 16) + Math.max(0, n.bucket);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(n);
    }
    ctx.lineWidth = 1;
    ctx.strokeStyle = this.palette.outline;
    // Corners under a device pixel round nothing visible but cost path segments and raster time.
    const round = RADIUS * k >= 0.5;
    for (const [, boxes] of [...groups].sort((a, b) => a[0] - b[0])) {
      const first = boxes[0]!;
      ctx.globalAlpha = first.dim ? this.palette.dimAlpha : 1;
      ctx.fillStyle = this.palette.nodes[Math.max(0, first.bucket)]!;
      ctx.beginPath();
      for (const n of boxes) {
        if (round) ctx.roundRect(n.x - NODE_W / 2, n.y - NODE_H / 2, NODE_W, NODE_H, RADIUS);
        else ctx.rect(n.x - NODE_W / 2, n.y - NODE_H / 2, NODE_W, NODE_H);
      }
      ctx.fill();
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  /** The edge drawn under the graph point (gx, gy) at zoom `k`, the nearest if several. */
  hit<E extends PaintedEdge>(edges: Iterable<E>, gx: number, gy: number, k: number): E | undefined {
    const slop = HIT_SLOP_PX / k;
    let best: E | undefined;
    let bestD = Infinity;
    for (const e of edges) {
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
}

interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}
