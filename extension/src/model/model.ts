// The bounded model a session feeds with decoded frames: what a program's telemetry says so far.
//
// Merge rules (docs/PROTOCOL.md, SNAPSHOT): values are cumulative since the start and a snapshot
// carries only the records that changed, so a record replaces the previous record of the same
// key (node id, from→to edge, spawn site, hot-split call site, sample id, stall id). Node
// definitions arrive once. The threads section (the largest live threads, sent about once a
// second) replaces the previous list when a snapshot carries it; an empty section means "not sent
// this time" and keeps the list, unless the snapshot says no thread is live. A STACKS measurement
// (version 3) belongs to the snapshot it follows and holds for later ones until the next. SYNC
// records (version 4) are cumulative too: each replaces the previous record of its key (a hold's
// waiting point, acquisition and release sites; a wake's woken point, waker's point and site), so
// it does not matter whether a frame carries every record or only the changed ones. A HELLO
// starts a new connection: everything is defined again from scratch, so the model is reset (decode
// errors and SYMBOLS are kept).
//
// Every table has a cap; what does not fit is counted in `dropped`, never kept.
import type {
  WorkerRow,
  Address,
  DecodeError,
  EdgeStat,
  EndFrame,
  ExitFrame,
  Frame,
  HelloFrame,
  Hold,
  HotSplit,
  InlinedEntry,
  NodeDef,
  NodeStat,
  Resources,
  Sample,
  SnapshotFrame,
  SpawnSite,
  StacksFrame,
  Stall,
  SymbolEntry,
  SyncFrame,
  ThreadRow,
  Wake,
} from '../../../shared/protocol.ts';
import { Ring } from './ring.ts';

export interface ModelCaps {
  readonly nodes: number;
  readonly edges: number;
  readonly samples: number;
  readonly stalls: number;
  readonly history: number;
  readonly spawnSites: number;
  readonly hotSplits: number;
  readonly holds: number;
  readonly wakes: number;
  readonly errors: number;
  readonly symbols: number;
}

export const DEFAULT_CAPS: ModelCaps = {
  nodes: 10_000,
  edges: 50_000,
  samples: 5_000,
  stalls: 1_000,
  history: 10_000,
  spawnSites: 10_000,
  hotSplits: 10_000,
  holds: 10_000,
  wakes: 10_000,
  errors: 1_000,
  symbols: 200_000,
};

/** What the model did not keep because a cap was reached (counts of records or points). */
export interface Dropped {
  nodes: number;
  edges: number;
  samples: number;
  stalls: number;
  history: number;
  spawnSites: number;
  hotSplits: number;
  holds: number;
  wakes: number;
  errors: number;
  symbols: number;
}

export interface NodeEntry {
  readonly id: number;
  def?: NodeDef;
  stat?: NodeStat;
}

/** An edge's cumulative figures as a snapshot carried them (the edge latency history). */
export interface EdgePoint {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly totalNs: number;
  readonly ewmaNs: number;
}

/** At most this many edges are kept per history point: those with the largest total time. */
export const EDGE_POINTS_MAX = 32;

/** One point of the resource history: a snapshot's header, and the edges it changed (capped). */
export interface HistoryPoint {
  readonly seq: number;
  readonly tNs: number;
  /** snapshots the runtime skipped just before this one */
  readonly dropped: number;
  readonly resources: Resources;
  /** edges this snapshot changed, at most EDGE_POINTS_MAX (largest total time first) */
  readonly edges: readonly EdgePoint[];
  /** the latest stack memory measurement as of this snapshot (none before the first STACKS frame) */
  readonly stacks: StacksFrame | undefined;
}

/** The edges of a snapshot as history points: the EDGE_POINTS_MAX largest by total time. */
export function edgePoints(stats: readonly EdgeStat[]): EdgePoint[] {
  const pick = stats.length > EDGE_POINTS_MAX ? [...stats].sort((a, b) => b.totalNs - a.totalNs).slice(0, EDGE_POINTS_MAX) : stats;
  return pick.map((e) => ({ from: e.from, to: e.to, count: e.count, totalNs: e.totalNs, ewmaNs: e.ewmaNs }));
}

export const edgeKey = (from: number, to: number): string => `${from}>${to}`;
const holdKey = (h: Hold): string => `${h.node} ${h.acquire} ${h.release}`;
const wakeKey = (w: Wake): string => `${w.node} ${w.fromNode ?? '-'} ${w.waker}`;

export class Model {
  readonly caps: ModelCaps;
  hello: HelloFrame | undefined;
  readonly nodes = new Map<number, NodeEntry>();
  readonly edges = new Map<string, EdgeStat>();
  readonly spawnSites = new Map<Address, SpawnSite>();
  readonly hotSplits = new Map<Address, HotSplit>();
  readonly samples = new Map<number, Sample>();
  readonly stalls = new Map<number, Stall>();
  threads: readonly ThreadRow[] = [];
  /** each worker's figures, from the latest WORKERS frame (none before protocol version 2) */
  workers: readonly WorkerRow[] = [];
  /** the latest stack memory measurement (STACKS; none before protocol version 3) */
  stackMemory: StacksFrame | undefined;
  /** lock hand-overs: waits that ended when a holder released (SYNC; none before protocol version 4) */
  readonly holds = new Map<string, Hold>();
  /** wakes by another thread's call (SYNC; none before protocol version 4) */
  readonly wakes = new Map<string, Wake>();
  /** the seq of the latest SYNC frame (undefined: none received) */
  syncSeq: number | undefined;
  readonly history: Ring<HistoryPoint>;
  exit: ExitFrame | undefined;
  /** how a launched program ended, as the tool that launched it saw it (tool-written END) */
  end: EndFrame | undefined;
  /** SYMBOLS entries by address (tool-written, see symbols.ts for which address is used) */
  readonly symbols = new Map<Address, SymbolEntry>();
  /** INLINED entries by address (tool-written; kept and counted with `symbols` against its cap) */
  readonly inlined = new Map<Address, InlinedEntry>();
  readonly errors: DecodeError[] = [];
  readonly dropped: Dropped = { nodes: 0, edges: 0, samples: 0, stalls: 0, history: 0, spawnSites: 0, hotSplits: 0, holds: 0, wakes: 0, errors: 0, symbols: 0 };
  /** snapshots applied since the last HELLO */
  snapshots = 0;
  lastSeq = 0;
  /** snapshots whose seq was not the previous one plus 1 */
  seqGaps = 0;
  /** HELLO frames seen (more than one: the consumer reconnected) */
  connections = 0;

  constructor(caps: Partial<ModelCaps> = {}) {
    this.caps = { ...DEFAULT_CAPS, ...caps };
    this.history = new Ring(this.caps.history);
  }

  /** The latest snapshot header, if any. */
  get latest(): HistoryPoint | undefined {
    return this.history.last();
  }

  apply(frame: Frame): void {
    switch (frame.type) {
      case 'hello':
        this.reset();
        this.hello = frame;
        this.connections++;
        return;
      case 'snapshot':
        this.applySnapshot(frame);
        return;
      case 'workers':
        this.workers = frame.workers;
        return;
      case 'stacks':
        this.applyStacks(frame);
        return;
      case 'sync':
        this.applySync(frame);
        return;
      case 'exit':
        this.exit = frame;
        return;
      case 'symbols':
        for (const s of frame.symbols) this.put(this.symbols, s.addr, s, 'symbols');
        return;
      case 'inlined':
        for (const s of frame.inlined) this.put(this.inlined, s.addr, s, 'symbols');
        return;
      case 'end':
        this.end = frame;
        return;
      default: {
        const never: never = frame;
        throw new Error(`unhandled frame ${JSON.stringify(never)}`);
      }
    }
  }

  addError(error: DecodeError): void {
    if (this.errors.length < this.caps.errors) this.errors.push(error);
    else this.dropped.errors++;
  }

  private reset(): void {
    this.hello = undefined;
    this.nodes.clear();
    this.edges.clear();
    this.spawnSites.clear();
    this.hotSplits.clear();
    this.samples.clear();
    this.stalls.clear();
    this.threads = [];
    this.workers = [];
    this.stackMemory = undefined;
    this.holds.clear();
    this.wakes.clear();
    this.syncSeq = undefined;
    this.history.clear();
    this.exit = undefined;
    this.end = undefined;
    this.snapshots = 0;
    this.lastSeq = 0;
  }

  /** Inserts or replaces; a new key beyond the cap is counted as dropped. */
  private put<K, V>(map: Map<K, V>, key: K, value: V, cap: keyof ModelCaps & keyof Dropped): boolean {
    if (!map.has(key) && map.size >= this.caps[cap]) {
      this.dropped[cap]++;
      return false;
    }
    map.set(key, value);
    return true;
  }

  private node(id: number): NodeEntry | undefined {
    const existing = this.nodes.get(id);
    if (existing) return existing;
    const entry: NodeEntry = { id };
    return this.put(this.nodes, id, entry, 'nodes') ? entry : undefined;
  }

  private applySnapshot(s: SnapshotFrame): void {
    if (this.snapshots > 0 && s.seq !== this.lastSeq + 1) this.seqGaps++;
    this.snapshots++;
    this.lastSeq = s.seq;
    const before = this.history.overwritten;
    this.history.push({ seq: s.seq, tNs: s.tNs, dropped: s.dropped, resources: s.resources, edges: edgePoints(s.edgeStats), stacks: this.stackMemory });
    this.dropped.history += this.history.overwritten - before;

    for (const d of s.nodeDefs) {
      const n = this.node(d.id);
      if (n) n.def = d;
    }
    for (const st of s.nodeStats) {
      const n = this.node(st.id);
      if (n) n.stat = st;
    }
    for (const e of s.edgeStats) this.put(this.edges, edgeKey(e.from, e.to), e, 'edges');
    for (const p of s.spawnSites) this.put(this.spawnSites, p.site, p, 'spawnSites');
    for (const h of s.hotSplits) this.put(this.hotSplits, h.callsite, h, 'hotSplits');
    for (const p of s.samples) this.put(this.samples, p.id, p, 'samples');
    for (const p of s.stalls) this.put(this.stalls, p.id, p, 'stalls');
    if (s.threads.length > 0) this.threads = s.threads;
    else if (s.resources.threads === 0) this.threads = [];
  }

  /** The measurement becomes the latest, and that of the snapshot it follows. */
  private applyStacks(m: StacksFrame): void {
    this.stackMemory = m;
    const last = this.history.last();
    if (last && last.seq === m.seq) this.history.replaceLast({ ...last, stacks: m });
  }

  private applySync(f: SyncFrame): void {
    this.syncSeq = f.seq;
    for (const h of f.holds) this.put(this.holds, holdKey(h), h, 'holds');
    for (const w of f.wakes) this.put(this.wakes, wakeKey(w), w, 'wakes');
  }

  /** Every address the model refers to, with how it is used (see symbols.ts: pc or return address). */
  addresses(): { pcs: Set<Address>; returns: Set<Address> } {
    const pcs = new Set<Address>();
    const returns = new Set<Address>();
    for (const n of this.nodes.values()) for (const f of n.def?.frames ?? []) returns.add(f);
    for (const p of this.spawnSites.keys()) returns.add(p);
    for (const h of this.hotSplits.keys()) returns.add(h);
    for (const s of this.samples.values()) s.frames.forEach((f, i) => (i === 0 ? pcs : returns).add(f));
    for (const s of this.stalls.values()) {
      pcs.add(s.pc);
      pcs.add(s.target);
      returns.add(s.callsite);
    }
    for (const t of this.threads) returns.add(t.spawnSite);
    for (const h of this.holds.values()) {
      returns.add(h.acquire);
      returns.add(h.release);
    }
    // (a thread that returned from its start function: that function + 1, so looked up as a return address too)
    for (const w of this.wakes.values()) returns.add(w.waker);
    pcs.delete('0x0');
    returns.delete('0x0');
    return { pcs, returns };
  }
}
