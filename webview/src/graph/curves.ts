// The geometry of the blocking graph's edges: one cubic Bézier per edge, computed once from the
// stable layout (positions never change, so neither do curves). The same numbers feed the SVG
// path, the canvas strokes of large graphs, viewport culling and the pointer's hit test, so what
// is hovered is exactly what is drawn. Pure (no DOM): unit-tested in Node.

export const NODE_W = 180;
export const NODE_H = 40;
/** a holder's critical section, drawn beside a lock's point (view.ts) */
export const SECTION_W = 180;
export const SECTION_H = 34;

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** A cubic Bézier from (x0,y0) to (x3,y3), its bounding box, and where its label goes. */
export interface Curve {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly x3: number;
  readonly y3: number;
  /** bounding box of the control polygon (contains the curve) */
  readonly minX: number;
  readonly minY: number;
  readonly maxX: number;
  readonly maxY: number;
  /** label anchor */
  readonly mx: number;
  readonly my: number;
}

function curve(c: [number, number, number, number, number, number, number, number], mx: number, my: number): Curve {
  const [x0, y0, x1, y1, x2, y2, x3, y3] = c;
  return {
    x0, y0, x1, y1, x2, y2, x3, y3,
    minX: Math.min(x0, x1, x2, x3),
    minY: Math.min(y0, y1, y2, y3),
    maxX: Math.max(x0, x1, x2, x3),
    maxY: Math.max(y0, y1, y2, y3),
    mx,
    my,
  };
}

/**
 * The curve from node centre `a` to node centre `b`: forward edges run right side to left side;
 * a self edge is a loop over the box; back or same-layer edges dip below both boxes.
 */
export function edgeCurve(a: Point, b: Point, self: boolean): Curve {
  const w = NODE_W / 2;
  const h = NODE_H / 2;
  if (self) {
    const x0 = a.x + w - 40;
    const y0 = a.y - h;
    return curve([x0, y0, x0 - 10, y0 - 45, x0 + 50, y0 - 45, x0 + 30, y0], x0 + 20, y0 - 36);
  }
  if (b.x > a.x) {
    const x1 = a.x + w;
    const x2 = b.x - w;
    const dx = (x2 - x1) / 2;
    return curve([x1, a.y, x1 + dx, a.y, x2 - dx, b.y, x2, b.y], (x1 + x2) / 2, (a.y + b.y) / 2);
  }
  const dip = 40 + Math.min(120, Math.abs(a.x - b.x) / 6);
  const y1 = a.y + h;
  const y2 = b.y + h;
  const low = Math.max(y1, y2) + dip;
  return curve([a.x, y1, a.x, low, b.x, low, b.x, y2], (a.x + b.x) / 2, low - dip / 4);
}

/**
 * The curve of a wake from node centre `a` (the waker's point) to `b` (the woken point), apart from
 * any run edge between them: an arc over both boxes, top to top; within one layer, a bulge to
 * the left of the boxes; a wake of a point by a thread that left the same point, a loop on its
 * left side. Going back (right to left, or up) it reaches further out, so that wakes both ways
 * between two points are two curves.
 */
export function wakeCurve(a: Point, b: Point, self: boolean): Curve {
  const w = NODE_W / 2;
  const h = NODE_H / 2;
  if (self) {
    const x = a.x - w;
    return curve([x, a.y - 8, x - 45, a.y - 38, x - 45, a.y + 38, x, a.y + 8], x - 40, a.y + 3);
  }
  if (Math.abs(a.x - b.x) < 1) {
    const bulge = (a.y < b.y ? 40 : 64) + Math.min(120, Math.abs(a.y - b.y) / 4);
    const x = a.x - w;
    return curve([x, a.y, x - bulge, a.y, x - bulge, b.y, x, b.y], x - (bulge * 3) / 4, (a.y + b.y) / 2);
  }
  const lift = (a.x < b.x ? 40 : 64) + Math.min(120, Math.abs(a.x - b.x) / 6);
  const y1 = a.y - h;
  const y2 = b.y - h;
  const high = Math.min(y1, y2) - lift;
  return curve([a.x, y1, a.x, high, b.x, high, b.x, y2], (a.x + b.x) / 2, (y1 + y2) / 8 + (high * 3) / 4 - 4);
}

/**
 * The curve of a wait-for edge from node centre `a` (a lock's waiting point) to the centre `b` of a
 * holder's critical section (a SECTION_W × SECTION_H box, placed a layer right of the point): right
 * side to left side; were the box not to the right, it dips below both, bottom to bottom.
 */
export function waitForCurve(a: Point, b: Point): Curve {
  const x1 = a.x + NODE_W / 2;
  const x2 = b.x - SECTION_W / 2;
  if (x2 > x1) {
    const dx = (x2 - x1) / 2;
    return curve([x1, a.y, x1 + dx, a.y, x2 - dx, b.y, x2, b.y], (x1 + x2) / 2, (a.y + b.y) / 2);
  }
  const y1 = a.y + NODE_H / 2;
  const y2 = b.y + SECTION_H / 2;
  const low = Math.max(y1, y2) + 40;
  return curve([a.x, y1, a.x, low, b.x, low, b.x, y2], (a.x + b.x) / 2, low - 10);
}

/** The SVG path data of a curve. */
export const pathData = (c: Curve): string => `M${c.x0},${c.y0} C${c.x1},${c.y1} ${c.x2},${c.y2} ${c.x3},${c.y3}`;

/** Whether the curve's box meets the rectangle [x0,x1]×[y0,y1] grown by `pad`. */
export const meets = (c: Curve, x0: number, y0: number, x1: number, y1: number, pad: number): boolean =>
  c.maxX >= x0 - pad && c.minX <= x1 + pad && c.maxY >= y0 - pad && c.minY <= y1 + pad;

/** Straight pieces a curve is cut into to measure a distance to it (plenty for ≤ 1 px error at the sizes drawn). */
const PIECES = 24;

/** The distance from (px,py) to the curve (to within the flattening). */
export function distanceTo(c: Curve, px: number, py: number): number {
  let best = Infinity;
  let ax = c.x0;
  let ay = c.y0;
  for (let i = 1; i <= PIECES; i++) {
    const t = i / PIECES;
    const u = 1 - t;
    const bx = u * u * u * c.x0 + 3 * u * u * t * c.x1 + 3 * u * t * t * c.x2 + t * t * t * c.x3;
    const by = u * u * u * c.y0 + 3 * u * u * t * c.y1 + 3 * u * t * t * c.y2 + t * t * t * c.y3;
    best = Math.min(best, segmentDistance(px, py, ax, ay, bx, by));
    ax = bx;
    ay = by;
  }
  return best;
}

function segmentDistance(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2)) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
