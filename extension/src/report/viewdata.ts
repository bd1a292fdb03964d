// ViewData (shared/view.ts) from a model and its symbols: what the webview draws, for
// the standalone report and the VS Code panel alike. Built on analysis/summary.ts (the same
// names, averages and suggestions as `capriccio summary`), then capped so a view stays usable:
// the blocking points with the most wait time, the edges among them with the most run time, a
// history downsampled to a bounded number of points. What the caps leave out is counted in
// `health`, never silently lost.
import { summarize, type Summary } from '../analysis/summary.ts';
import type { Suggestion } from '../analysis/suggest.ts';
import { edgeKey, type HistoryPoint, type Model } from '../model/model.ts';
import { HISTORY_FIELDS, kindName, type StacksFrame } from '../../../shared/protocol.ts';
import { fromKeys } from '../../../shared/records.ts';
import type { SymbolTable } from '../symbols/symbols.ts';
import type { EdgeSeries, ViewData, ViewEdge, ViewHistory, ViewNode, ViewSuggestion } from '../../../shared/view.ts';

export interface ViewCaps {
  /** blocking points shown (most wait time first) */
  readonly nodes: number;
  /** edges shown among them (most run time first) */
  readonly edges: number;
  /** history points (evenly downsampled beyond) */
  readonly points: number;
  /** edges with a latency series */
  readonly edgeSeries: number;
  /** decode errors listed */
  readonly errors: number;
  /** contended locks listed (most wait first) */
  readonly locks: number;
  /** wakes listed and drawn (most first) */
  readonly wakes: number;
}

export const VIEW_CAPS: ViewCaps = { nodes: 1000, edges: 3000, points: 2000, edgeSeries: 8, errors: 20, locks: 200, wakes: 1000 };

const THREAD_STATES: Record<number, string> = { 1: 'runnable', 2: 'running', 3: 'blocked' };

/** Indices of `n` points kept when at most `max` may be: evenly spread, always the last. */
export function downsample(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < max; k++) out.push(Math.round((k * (n - 1)) / (max - 1)));
  return [...new Set(out)];
}

/** Average run time of each edge per snapshot interval: Δtotal / Δcount (null when it did not run). */
function edgeLatency(points: readonly HistoryPoint[], ids: readonly string[]): Map<string, (number | null)[]> {
  const prev = new Map<string, { count: number; totalNs: number }>();
  const out = new Map<string, (number | null)[]>(ids.map((id) => [id, []]));
  for (const p of points) {
    const here = new Map(p.edges.map((e) => [edgeKey(e.from, e.to), e]));
    for (const id of ids) {
      const e = here.get(id);
      const before = prev.get(id) ?? { count: 0, totalNs: 0 };
      if (e && e.count > before.count) {
        out.get(id)!.push(Math.round((e.totalNs - before.totalNs) / (e.count - before.count)));
        prev.set(id, e);
      } else out.get(id)!.push(null);
    }
  }
  return out;
}

function history(model: Model, edges: readonly ViewEdge[], nodes: ReadonlyMap<number, ViewNode>, caps: ViewCaps): { history: ViewHistory; hidden: number } {
  const all = model.history.toArray();
  const keep = downsample(all.length, caps.points);
  const pts = keep.map((i) => all[i]!);
  const top = [...edges].sort((a, b) => b.totalNs - a.totalNs).slice(0, caps.edgeSeries);
  const lat = edgeLatency(all, top.map((e) => e.id));
  const name = (id: number): string => {
    const n = nodes.get(id);
    return n ? (n.via !== undefined ? `${n.label} ${n.via}` : n.label) : `#${id}`;
  };
  const edgeLatencySeries: EdgeSeries[] = top.map((e) => ({
    edgeId: e.id,
    label: `${name(e.from)} → ${name(e.to)}`,
    avgNs: keep.map((i) => lat.get(e.id)![i] ?? null),
  }));
  const col = (f: (p: HistoryPoint) => number): number[] => pts.map(f);
  const memory = (f: (m: StacksFrame) => number): (number | null)[] => pts.map((p) => (p.stacks ? f(p.stacks) : null));
  return {
    history: {
      tNs: col((p) => p.tNs),
      ...fromKeys(HISTORY_FIELDS, (k) => col((p) => p.resources[k])),
      stackReservedBytes: memory((m) => m.reservedBytes),
      stackResidentBytes: memory((m) => m.residentBytes),
      stackWasteBytes: memory((m) => m.wasteBytes),
      edgeLatency: edgeLatencySeries,
    },
    hidden: all.length - pts.length,
  };
}

/** A suggestion as the webview shows it. */
export const viewSuggestion = (g: Suggestion, message: string = g.message): ViewSuggestion => ({
  kind: g.kind,
  message,
  ...(g.function !== undefined ? { function: g.function } : {}),
  ...(g.file !== undefined ? { file: g.file } : {}),
  ...(g.line !== undefined ? { line: g.line } : {}),
  evidence: { ...g.evidence },
});

export interface ViewOptions {
  /** where the data comes from: a recording's path, or "live" */
  readonly source: string;
  /** why the recording ended early, if it did */
  readonly truncated?: string;
  readonly caps?: Partial<ViewCaps>;
}

/** The view of a model (`s`: its summary, when the caller has it already). */
export function buildViewData(model: Model, table: SymbolTable, opts: ViewOptions, s: Summary = summarize(model, table)): ViewData {
  const caps = { ...VIEW_CAPS, ...opts.caps };
  // summary order: most wait time first; shown in id order (arrival) so the layout is stable.
  const shownNodes: ViewNode[] = s.nodes
    .slice(0, caps.nodes)
    .map((n) => ({
      id: n.id,
      kind: n.kind,
      label: n.function,
      ...(n.via !== undefined ? { via: n.via } : {}),
      file: n.file,
      line: n.line,
      chain: n.chain.map((f) => ({ function: f.function, file: f.file, line: f.line, own: f.own })),
      count: n.count,
      waitAvgNs: n.waitAvgNs,
      waitMaxNs: n.waitMaxNs,
      waitTotalNs: n.waitTotalNs,
    }))
    .sort((a, b) => a.id - b.id);
  const byId = new Map(shownNodes.map((n) => [n.id, n]));
  const shownEdges: ViewEdge[] = s.edges
    .filter((e) => byId.has(e.from) && byId.has(e.to))
    .slice(0, caps.edges)
    .map((e) => ({ id: edgeKey(e.from, e.to), from: e.from, to: e.to, count: e.count, avgNs: e.avgNs, ewmaNs: e.ewmaNs, maxNs: e.maxNs, totalNs: e.totalNs }));
  const h = history(model, shownEdges, byId, caps);
  return {
    version: 1,
    source: opts.source,
    program: s.program ? { ...s.program, args: [...s.program.args] } : null,
    durationNs: s.durationNs,
    snapshots: s.snapshots,
    exit: s.exit ? { ...s.exit } : null,
    end: s.end ? { status: s.end.statusText, text: s.end.text, stopped: s.end.stop !== null, killed: s.end.stop?.killed ?? false } : null,
    nodes: shownNodes,
    edges: shownEdges,
    history: h.history,
    stacks: {
      ...s.stacks,
      threads: model.threads.map((t) => ({
        id: t.id,
        name: t.name,
        site: t.spawnSite,
        allocatedBytes: t.allocatedBytes,
        usedBytes: t.usedBytes,
        chunksLinked: t.chunksLinked,
        state: THREAD_STATES[t.state] ?? `state ${t.state}`,
        kind: kindName(t.kind),
      })),
    },
    workers: s.workers.map((w) => ({ ...w })),
    locks: s.locks.slice(0, caps.locks),
    wakes: s.wakes.slice(0, caps.wakes),
    syncRecorded: s.syncRecorded,
    syncMeasured: s.syncMeasured,
    suggestions: s.suggestions.map((g) => viewSuggestion(g)),
    health: {
      decodeErrors: s.errors.length,
      errors: s.errors.slice(0, caps.errors).map((e) => ({ offset: e.offset, reason: e.reason })),
      droppedSnapshots: s.dropped.snapshots,
      runtimeNodesDropped: s.dropped.runtimeNodes,
      model: { ...s.dropped.model },
      truncated: opts.truncated ?? null,
      hiddenNodes: s.nodes.length - shownNodes.length,
      hiddenEdges: s.edges.length - shownEdges.length,
      hiddenLocks: Math.max(0, s.locks.length - caps.locks),
      hiddenWakes: Math.max(0, s.wakes.length - caps.wakes),
      hiddenPoints: h.hidden,
    },
  };
}
