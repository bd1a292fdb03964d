// Edge aggregation for a zoomed-out large graph. When nodes are a few pixels, edges whose
// on-screen endpoints fall in the same small cell cannot be told apart; drawing each of them
// costs path building and raster time for pixels that look the same. Such edges are merged
// into one aggregate, drawn once: with the colour of its hottest member (the greatest colour
// bucket, so a slow edge is never hidden under cooler ones) and the width of the summed count.
// - The grouping depends only on the view (zoom, pan, size) and the set of edges: it is rebuilt
//   when one of those changes, never by a figure update.
// - A curve that strays less than half a device pixel from the straight line between its ends is
//   drawn as that line (one segment instead of a flattened Bézier: the same pixels, less work).
// - A figure update only recomputes each aggregate's look (one pass over the members, no
//   allocation).
// Pure (no DOM): unit-tested in Node.
import { meets, type Curve } from './curves.ts';

/** What aggregation needs of an edge (canvas.ts's PaintedEdge). */
export interface AggregatedEdge {
  readonly curve: Curve;
  bucket: number;
  width: number;
  dim: boolean;
  /** runs (summed over the members for the aggregate's width) */
  count: number;
}

export interface Aggregate<E extends AggregatedEdge> {
  readonly members: E[];
  /** the curve drawn for all members (the first member's: stable while the view stands) */
  readonly curve: Curve;
  /** whether it is drawn as a straight line (its curve strays under half a device pixel from one) */
  readonly straight: boolean;
  /** look: the hottest undimmed member's bucket (every member dimmed: dimmed) */
  bucket: number;
  width: number;
  dim: boolean;
  /** summed count of the members that decide the look */
  count: number;
  /** the member whose colour it shows */
  hottest: E;
}

export interface AggView {
  readonly k: number;
  readonly x: number;
  readonly y: number;
  /** CSS pixels */
  readonly w: number;
  readonly h: number;
  readonly dpr: number;
}

/** Side of the cell (device pixels) endpoints are merged in. */
export const CELL_PX = 3;
/** Curves that stray less than this (device pixels) from their chord are drawn straight. */
const STRAIGHT_PX = 0.5;

/** How far (graph units) the curve strays from the straight line between its ends. */
export function deviation(c: Curve): number {
  const dx = c.x3 - c.x0;
  const dy = c.y3 - c.y0;
  const len = Math.hypot(dx, dy);
  let most = 0;
  for (let i = 1; i < 16; i++) {
    const t = i / 16;
    const u = 1 - t;
    const bx = u * u * u * c.x0 + 3 * u * u * t * c.x1 + 3 * u * t * t * c.x2 + t * t * t * c.x3;
    const by = u * u * u * c.y0 + 3 * u * u * t * c.y1 + 3 * u * t * t * c.y2 + t * t * t * c.y3;
    const d = len > 0 ? Math.abs((bx - c.x0) * dy - (by - c.y0) * dx) / len : Math.hypot(bx - c.x0, by - c.y0);
    if (d > most) most = d;
  }
  return most;
}

export class EdgeAggregator<E extends AggregatedEdge> {
  aggregates: Aggregate<E>[] = [];
  /** how many times the grouping was built (for tests) */
  builds = 0;
  private built = { k: NaN, x: NaN, y: NaN, w: -1, h: -1, dpr: -1, version: -1 };

  /**
   * Groups `edges` for view `v` unless they are already grouped for it and edge set `version`
   * (bump it whenever an edge is added or removed). Edges outside the viewport are left out.
   * Returns whether it rebuilt.
   */
  prepare(edges: Iterable<E>, v: AggView, version: number): boolean {
    const b = this.built;
    if (b.k === v.k && b.x === v.x && b.y === v.y && b.w === v.w && b.h === v.h && b.dpr === v.dpr && b.version === version) return false;
    this.built = { k: v.k, x: v.x, y: v.y, w: v.w, h: v.h, dpr: v.dpr, version };
    this.builds++;
    const x0 = -v.x / v.k;
    const y0 = -v.y / v.k;
    const x1 = (v.w - v.x) / v.k;
    const y1 = (v.h - v.y) / v.k;
    const s = v.k * v.dpr; // device pixels per graph unit
    const cell = (g: number, off: number): number => Math.floor((g * v.k + off) * v.dpr / CELL_PX);
    const byKey = new Map<string, E[]>();
    for (const e of edges) {
      const c = e.curve;
      if (!meets(c, x0, y0, x1, y1, 9)) continue;
      // The shape's kind as well as the endpoints: a forward edge, one dipping below (back or
      // same layer) and a self loop do not merge even when their ends do.
      const kind = c.y1 === c.y0 ? 0 : c.y1 > c.y0 ? 1 : 2;
      const key = `${kind},${cell(c.x0, v.x)},${cell(c.y0, v.y)},${cell(c.x3, v.x)},${cell(c.y3, v.y)}`;
      const g = byKey.get(key);
      if (g) g.push(e);
      else byKey.set(key, [e]);
    }
    this.aggregates = [];
    for (const members of byKey.values()) {
      const first = members[0]!;
      const c = first.curve;
      const straight = deviation(c) * s < STRAIGHT_PX;
      this.aggregates.push({ members, curve: c, straight, bucket: -2, width: 0, dim: false, count: 0, hottest: first });
    }
    return true;
  }

  /**
   * Recomputes each aggregate's look from its members' current figures; `widthOf` maps a summed
   * count to a width (the view's width scale). Returns whether any aggregate's look changed.
   */
  relook(widthOf: (count: number) => number): boolean {
    let changed = false;
    for (const a of this.aggregates) {
      let hot: E | undefined;
      let count = 0;
      let anyLit = false;
      for (const m of a.members) {
        if (m.dim && anyLit) continue;
        if (!m.dim && !anyLit) {
          // the first undimmed member: dimmed ones no longer decide the look
          anyLit = true;
          hot = undefined;
          count = 0;
        }
        count += m.count;
        if (!hot || m.bucket > hot.bucket || (m.bucket === hot.bucket && m.width > hot.width)) hot = m;
      }
      const h = hot ?? a.members[0]!;
      const width = a.members.length === 1 ? h.width : widthOf(count);
      const dim = !anyLit;
      if (h.bucket !== a.bucket || width !== a.width || dim !== a.dim) changed = true;
      a.bucket = h.bucket;
      a.width = width;
      a.dim = dim;
      a.count = count;
      a.hottest = h;
    }
    return changed;
  }
}
