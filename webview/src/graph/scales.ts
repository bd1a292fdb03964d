// The graph's log scales: the range of an update's figures, and the colour bucket of a figure in
// it (colours are quantized so a small change in a figure writes nothing).
import { scaleSequentialLog } from 'd3-scale';

/** colour buckets of a ramp */
export const BUCKETS = 24;

/** The colour bucket of a value on a log scale over [lo, hi]. */
export function bucketer(lo: number, hi: number): (v: number) => number {
  if (!(hi > lo)) return () => 0;
  const s = scaleSequentialLog().domain([lo, hi]).clamp(true);
  return (v) => (v > 0 ? Math.min(BUCKETS - 1, Math.floor(s(Math.max(v, lo)) * BUCKETS)) : 0);
}

/** The least positive and the greatest of `f` over `items` (no array built: this runs every update). */
export function extent<T>(items: readonly T[], f: (item: T) => number): [number, number] {
  let lo = Infinity;
  let hi = 0;
  for (const item of items) {
    const v = f(item);
    if (v > 0 && v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo === Infinity ? [1, 1] : [lo, hi];
}
