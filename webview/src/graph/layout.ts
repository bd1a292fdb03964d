// The blocking graph's layered layout, stable while nodes arrive live: a node's layer and its
// place in the layer are decided once, when it first appears, and never change, so nothing the
// user is looking at jumps when the graph grows.
//
// Layer: breadth-first depth from the entry nodes. A new node with a predecessor already placed
// goes one layer right of its shallowest placed predecessor; new nodes are placed in waves so a
// batch that brings a whole path lays it out left to right; a node with no placed predecessor
// (an entry, or a cycle that arrived at once: its first node by arrival) starts at layer 0.
// Order within a layer: arrival. Pure (no DOM): unit-tested in Node.

export interface LayoutEdge {
  readonly from: number;
  readonly to: number;
}

export interface Place {
  readonly layer: number;
  /** index within the layer, by arrival */
  readonly row: number;
  /** centre of the node */
  readonly x: number;
  readonly y: number;
}

export interface LayoutOptions {
  /** distance between layers (x) */
  readonly layerGap: number;
  /** distance between rows (y) */
  readonly rowGap: number;
}

export const DEFAULT_LAYOUT: LayoutOptions = { layerGap: 240, rowGap: 64 };

export class StableLayout {
  private readonly places = new Map<number, Place>();
  /** nodes per layer */
  private readonly rows: number[] = [];

  constructor(private readonly opts: LayoutOptions = DEFAULT_LAYOUT) {}

  get size(): number {
    return this.places.size;
  }

  get(id: number): Place | undefined {
    return this.places.get(id);
  }

  /** Layers in use. */
  get layers(): number {
    return this.rows.length;
  }

  /** The most rows of any layer. */
  get maxRows(): number {
    return this.rows.reduce((a, b) => Math.max(a, b), 0);
  }

  /**
   * Places the nodes of `nodeIds` not placed yet (in their order: arrival), using `edges` to find
   * their predecessors. Returns the ids placed now.
   */
  add(nodeIds: Iterable<number>, edges: Iterable<LayoutEdge>): number[] {
    const fresh: number[] = [];
    const seen = new Set<number>();
    for (const id of nodeIds) {
      if (!this.places.has(id) && !seen.has(id)) {
        seen.add(id);
        fresh.push(id);
      }
    }
    if (fresh.length === 0) return [];
    const preds = new Map<number, number[]>();
    for (const e of edges) {
      if (e.from === e.to || !seen.has(e.to)) continue;
      let p = preds.get(e.to);
      if (!p) preds.set(e.to, (p = []));
      p.push(e.from);
    }
    const placed: number[] = [];
    let waiting = fresh;
    while (waiting.length > 0) {
      // One wave: every waiting node with a placed predecessor, at depth+1 of the shallowest.
      const wave: [number, number][] = [];
      const rest: number[] = [];
      for (const id of waiting) {
        let best = Infinity;
        for (const p of preds.get(id) ?? []) {
          const pl = this.places.get(p);
          if (pl && pl.layer < best) best = pl.layer;
        }
        if (best < Infinity) wave.push([id, best + 1]);
        else rest.push(id);
      }
      if (wave.length === 0) {
        // Entries (no predecessor at all) at layer 0; if none, break a cycle at its first arrival.
        const entries = rest.filter((id) => (preds.get(id) ?? []).length === 0);
        const start = entries.length > 0 ? entries : [rest[0]!];
        for (const id of start) wave.push([id, 0]);
      }
      const now = new Set<number>();
      for (const [id, layer] of wave) {
        this.place(id, layer);
        placed.push(id);
        now.add(id);
      }
      waiting = waiting.filter((id) => !now.has(id));
    }
    return placed;
  }

  private place(id: number, layer: number): void {
    while (this.rows.length <= layer) this.rows.push(0);
    const row = this.rows[layer]!++;
    this.places.set(id, { layer, row, x: layer * this.opts.layerGap, y: row * this.opts.rowGap });
  }
}
