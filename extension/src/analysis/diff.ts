// Two summaries side by side: did the change help? Blocking points are matched across rebuilds by
// what they are (kind, function, file and line, and what tells them apart: their label), never by
// address; a point whose line moved (an edit above it) is matched by kind and function when that
// names one point on each side. Edges are matched by the points at their ends, spawn sites by
// their function. Each row has its before and after figures (null where it did not occur), ranked
// by how much its time changed.
// The rows are typed in shared/view.ts: the report and the panel show a Diff as it is.
import type { Diff, DiffRow, EdgeFigures, PointFigures, SiteFigures } from '../../../shared/view.ts';
import type { NodeSummary, Summary } from './summary.ts';
import { fmtBytes, fmtNs } from './units.ts';

const pointKey = (n: NodeSummary): string => `${n.kind} ${n.label}`;

/**
 * The key of each point of `after`: its own, or, when no point of `before` has it, the key of the
 * one point of `before` with its kind and function that no point of `after` has either.
 */
function movedKeys(before: readonly NodeSummary[], after: readonly NodeSummary[]): Map<NodeSummary, string> {
  const had = new Set(before.map(pointKey));
  const has = new Set(after.map(pointKey));
  const loose = (n: NodeSummary): string => `${n.kind} ${n.function}`;
  const group = <T>(xs: readonly T[], k: (x: T) => string): Map<string, T[]> => {
    const m = new Map<string, T[]>();
    for (const x of xs) m.set(k(x), [...(m.get(k(x)) ?? []), x]);
    return m;
  };
  const gone = group(before.filter((n) => !has.has(pointKey(n))), loose);
  const fresh = group(after.filter((n) => !had.has(pointKey(n))), loose);
  const keys = new Map(after.map((n) => [n, pointKey(n)]));
  for (const [k, ns] of fresh) {
    const old = gone.get(k);
    if (ns.length === 1 && old?.length === 1) keys.set(ns[0]!, pointKey(old[0]!));
  }
  return keys;
}

/** Rows of both sides joined by key, largest change first (then by key, for a stable order). */
function join<T, F>(before: readonly T[], after: readonly T[], key: (x: T) => string, figures: (x: T) => F, time: (f: F) => number): DiffRow<F>[] {
  const rows = new Map<string, { before: F | null; after: F | null }>();
  for (const x of before) rows.set(key(x), { before: figures(x), after: null });
  for (const x of after) rows.set(key(x), { before: rows.get(key(x))?.before ?? null, after: figures(x) });
  return ranked(rows, time);
}

function ranked<F>(rows: Map<string, { before: F | null; after: F | null }>, time: (f: F) => number): DiffRow<F>[] {
  return [...rows]
    .map(([k, r]) => ({ key: k, ...r, change: (r.after ? time(r.after) : 0) - (r.before ? time(r.before) : 0) }))
    .sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

type Site = Summary['stacks']['sites'][number];

/** Spawn sites keyed by function, and by their order in it (by line) when it has several. */
function siteRows(s: Summary): { key: string; p: Site }[] {
  const byFunction = new Map<string, Site[]>();
  for (const p of s.stacks.sites) byFunction.set(p.function, [...(byFunction.get(p.function) ?? []), p]);
  return [...byFunction].flatMap(([f, ps]) => [...ps].sort((a, b) => a.line - b.line).map((p, i) => ({ key: ps.length === 1 ? f : `${f} #${i + 1}`, p })));
}

export function diffSummaries(before: Summary, after: Summary): Diff {
  const moved = movedKeys(before.nodes, after.nodes);
  const keyOf = (n: NodeSummary): string => moved.get(n) ?? pointKey(n);
  const points = join(before.nodes, after.nodes, keyOf, (n): PointFigures => ({ count: n.count, waitAvgNs: n.waitAvgNs, waitMaxNs: n.waitMaxNs, waitTotalNs: n.waitTotalNs }), (f) => f.waitTotalNs);
  const kinds = new Map([...after.nodes, ...before.nodes].map((n) => [keyOf(n), n]));
  // Where a row is: in the later run's source, the one an editor has open now.
  const places = new Map([...before.nodes, ...after.nodes].map((n) => [keyOf(n), n]));
  const edgesOf = (s: Summary): { from: string; to: string; e: Summary['edges'][number] }[] => {
    const byId = new Map(s.nodes.map((n) => [n.id, keyOf(n)]));
    return s.edges.map((e) => ({ from: byId.get(e.from) ?? `#${e.from}`, to: byId.get(e.to) ?? `#${e.to}`, e }));
  };
  const edges = join(
    edgesOf(before),
    edgesOf(after),
    (x) => `${x.from} → ${x.to}`,
    ({ e }): EdgeFigures => ({ count: e.count, runAvgNs: e.avgNs, runMaxNs: e.maxNs, runTotalNs: e.totalNs }),
    (f) => f.runTotalNs,
  );
  const [siteBefore, siteAfter] = [siteRows(before), siteRows(after)];
  const sites = join(siteBefore, siteAfter, (x) => x.key, ({ p }): SiteFigures => ({ threads: p.threadsTotal, stackHighWaterBytes: p.usedBytesMax }), (f) => f.stackHighWaterBytes);
  const sitePlaces = new Map([...siteBefore, ...siteAfter].map((x) => [x.key, x.p]));
  return {
    points: points.map((r) => ({ ...r, kind: kinds.get(r.key)!.kind, label: kinds.get(r.key)!.label, file: places.get(r.key)!.file, line: places.get(r.key)!.line })),
    edges: edges.map((r) => {
      const [from = '', to = ''] = r.key.split(' → ');
      return { ...r, from, to };
    }),
    sites: sites.map((r) => ({ ...r, file: sitePlaces.get(r.key)!.file, line: sitePlaces.get(r.key)!.line })),
  };
}

const side = <F>(f: F | null, text: (f: F) => string): string => (f ? text(f) : '—');
const signed = (n: number, fmt: (n: number) => string): string => (n >= 0 ? `+${fmt(n)}` : `−${fmt(-n)}`);

/** The readable form: each table ranked by change, `limit` rows each. */
export function diffText(d: Diff, limit = 20): string {
  const out: string[] = [`blocking points (${d.points.length}), by change in total wait`];
  for (const r of d.points.slice(0, limit)) {
    const f = (p: PointFigures): string => `×${p.count} avg ${fmtNs(p.waitAvgNs)} max ${fmtNs(p.waitMaxNs)}`;
    out.push(`  ${r.key}  before ${side(r.before, f)}  after ${side(r.after, f)}  total ${signed(r.change, fmtNs)}`);
  }
  out.push('', `edges (${d.edges.length}), by change in total run`);
  for (const r of d.edges.slice(0, limit)) {
    const f = (e: EdgeFigures): string => `×${e.count} avg ${fmtNs(e.runAvgNs)} max ${fmtNs(e.runMaxNs)}`;
    out.push(`  ${r.key}  before ${side(r.before, f)}  after ${side(r.after, f)}  total ${signed(r.change, fmtNs)}`);
  }
  out.push('', `spawn sites (${d.sites.length}), by change in stack high-water`);
  for (const r of d.sites.slice(0, limit)) {
    const f = (p: SiteFigures): string => `${p.threads} threads, high-water ${fmtBytes(p.stackHighWaterBytes)}`;
    out.push(`  ${r.key}  before ${side(r.before, f)}  after ${side(r.after, f)}  ${signed(r.change, fmtBytes)}`);
  }
  return out.join('\n') + '\n';
}
