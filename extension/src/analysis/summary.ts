// The aggregated result of a session or recording: what `capriccio summary --json` prints, and
// its readable text form.
import type { Model } from '../model/model.ts';
import { kindName, type DecodeError, type Resources } from '../../../shared/protocol.ts';
import { stackMemoryText, viewWorker, type ViewHotSplit, type ViewSite, type ViewStacks, type ViewWorker } from '../../../shared/view.ts';
import { nameChain, type SymbolTable } from '../symbols/symbols.ts';
import { endSummary, type EndSummary } from './end.ts';
import { placeOf, uniqueLabels } from './labels.ts';
import { hotSplitsOf } from './splits.ts';
import { stackMemory } from './stackmem.ts';
import { stallsOf, stallText, type StallSummary } from './stalls.ts';
import { syncOf, type Sync } from './sync.ts';
import { siteName, suggest, type Suggestion } from './suggest.ts';
import { fmtBytes, fmtNs } from './units.ts';

export interface ChainFrame {
  readonly addr: string;
  readonly function: string;
  readonly file: string;
  readonly line: number;
  readonly own: boolean;
}

export interface NodeSummary {
  readonly id: number;
  readonly kind: string;
  /** the frame named for it (nameChain): the innermost own frame, else the innermost library frame */
  readonly function: string;
  readonly file: string;
  readonly line: number;
  /** unique among the blocking points: the named frame, and what tells it apart from others named so (labels.ts) */
  readonly label: string;
  /** the part of `label` that tells it apart ("← stage2 (pipe.c:40)"), when another point shares its frame */
  readonly via?: string;
  readonly chain: readonly ChainFrame[];
  readonly count: number;
  readonly waitAvgNs: number;
  readonly waitMaxNs: number;
  readonly waitTotalNs: number;
  readonly fdDelta: number;
}

export interface EdgeSummary {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly avgNs: number;
  readonly maxNs: number;
  readonly ewmaNs: number;
  readonly totalNs: number;
}

/** A hot split and a spawn site with where they are: the same records the webview draws. */
export type HotSplitSummary = ViewHotSplit;
export type SpawnSiteSummary = ViewSite;

/** A contended lock and a wake: the same records the webview draws. */
export type LockSummary = Sync['locks'][number];
export type WakeSummary = Sync['wakes'][number];

export interface Summary extends Sync {
  readonly program?: { readonly executable: string; readonly pid: number; readonly args: readonly string[]; readonly stackMode: string; readonly diskBackend: string; readonly scheduler: string; readonly intervalMs: number };
  readonly durationNs: number;
  readonly snapshots: number;
  readonly nodes: readonly NodeSummary[];
  readonly edges: readonly EdgeSummary[];
  /** the webview's stack totals, without its per-thread rows */
  readonly stacks: Omit<ViewStacks, 'threads'>;
  readonly suggestions: readonly Suggestion[];
  /** each time the whole scheduler sat in a system call the runtime did not make (the watchdog), longest first */
  readonly stalls: readonly StallSummary[];
  readonly resources?: Resources;
  /** each worker's figures, as the last WORKERS frame gave them (empty before protocol version 2) */
  readonly workers: readonly ViewWorker[];
  readonly exit?: { readonly how: 'exited' | 'signaled'; readonly status: number; readonly tNs: number };
  /** how a launched program ended and whether the profiler stopped or killed it (recordings made before END frames: absent) */
  readonly end?: EndSummary;
  readonly dropped: { readonly snapshots: number; readonly runtimeNodes: number; readonly model: Record<string, number> };
  readonly errors: readonly DecodeError[];
}

const avg = (total: number, count: number): number => (count > 0 ? Math.round(total / count) : 0);

export function summarize(model: Model, table: SymbolTable): Summary {
  const named = [...model.nodes.values()].map((n) => ({ n, id: n.id, kind: n.def ? kindName(n.def.kind) : 'unknown', name: nameChain(table, n.def?.frames ?? []) }));
  const labels = uniqueLabels(named);
  const nodes: NodeSummary[] = named
    .map(({ n, kind, name }) => {
      const stat = n.stat;
      const l = labels.get(n.id)!;
      return {
        id: n.id,
        kind,
        function: name.function,
        file: name.file,
        line: name.line,
        label: l.label,
        ...(l.via !== undefined ? { via: l.via } : {}),
        chain: name.chain.map((s) => ({ addr: s.addr, function: s.function, file: s.file, line: s.line, own: s.own })),
        count: stat?.count ?? 0,
        waitAvgNs: avg(stat?.waitTotalNs ?? 0, stat?.count ?? 0),
        waitMaxNs: stat?.waitMaxNs ?? 0,
        waitTotalNs: stat?.waitTotalNs ?? 0,
        fdDelta: stat?.fdDelta ?? 0,
      };
    })
    .sort((a, b) => b.waitTotalNs - a.waitTotalNs || b.count - a.count || a.id - b.id);
  const edges: EdgeSummary[] = [...model.edges.values()]
    .map((e) => ({ from: e.from, to: e.to, count: e.count, avgNs: avg(e.totalNs, e.count), maxNs: e.maxNs, ewmaNs: e.ewmaNs, totalNs: e.totalNs }))
    .sort((a, b) => b.totalNs - a.totalNs || a.from - b.from || a.to - b.to);
  const sites: SpawnSiteSummary[] = [...model.spawnSites.values()].map((p) => {
    const s = siteName(table, p.site);
    return { ...p, function: s.function, file: s.file, line: s.line };
  });
  const sum = (f: (p: SpawnSiteSummary) => number): number => sites.reduce((acc, p) => acc + f(p), 0);
  const latest = model.latest;
  const exit = model.exit;
  const sync = syncOf(model, table, nodes);
  return {
    ...(model.hello
      ? {
          program: {
            executable: model.hello.executable,
            pid: model.hello.pid,
            args: model.hello.args,
            stackMode: model.hello.stackMode,
            diskBackend: model.hello.diskBackend,
            scheduler: model.hello.scheduler,
            intervalMs: model.hello.intervalMs,
          },
        }
      : {}),
    durationNs: exit?.tNs ?? latest?.tNs ?? 0,
    snapshots: model.snapshots,
    nodes,
    edges,
    stacks: {
      allocatedBytes: latest?.resources.stackAllocatedBytes ?? sum((p) => p.allocatedBytes),
      usedBytes: sum((p) => p.usedBytesTotal),
      untouchedBytes: sum((p) => p.untouchedBytes),
      // largest high-water of a spawn site, or of a live thread row
      maxThreadUsedBytes: Math.max(0, ...sites.map((p) => p.usedBytesMax), ...model.threads.map((t) => t.usedBytes)),
      chunksLinked: sum((p) => p.chunksLinked),
      ...stackMemory(model),
      hotSplits: hotSplitsOf(model, table),
      sites,
    },
    suggestions: suggest(model, table),
    stalls: stallsOf(model, table),
    ...sync,
    ...(latest ? { resources: latest.resources } : {}),
    workers: model.workers.map(viewWorker),
    ...(exit ? { exit: { how: exit.how, status: exit.status, tNs: exit.tNs } } : {}),
    ...(model.end ? { end: endSummary(model.end) } : {}),
    dropped: {
      snapshots: latest?.resources.droppedTotal ?? 0,
      runtimeNodes: latest?.resources.nodesDropped ?? 0,
      model: Object.fromEntries(Object.entries(model.dropped).filter(([, v]) => v > 0)),
    },
    errors: model.errors,
  };
}

const workerText = (w: ViewWorker): string =>
  `worker ${w.id}  busy ${(w.utilisation * 100).toFixed(1)}% (${fmtNs(w.busyNs)}), parked ${fmtNs(w.parkedNs)}, run queue ${w.runnable}, threads ${w.threads}, ${w.switches} switches, ${w.steals} steals, ${w.migrations} migrations`;

/** Stack memory, then how it was measured and what finished threads left untouched. */
function stacksText(st: Summary['stacks']): string[] {
  const out = [
    `stacks    ${stackMemoryText(st, fmtBytes)}; live threads hold ${fmtBytes(st.allocatedBytes)} reserved; largest thread ${fmtBytes(st.maxThreadUsedBytes)}, ${st.chunksLinked} chunks linked`,
  ];
  if (st.residentBytes !== null) out.push(`          how: ${st.measured}`);
  if (st.usedBytes > 0 || st.untouchedBytes > 0) {
    out.push(`          finished threads: used ${fmtBytes(st.usedBytes)} (high-waters); ${fmtBytes(st.untouchedBytes)} of their address space untouched (never resident)`);
  }
  return out;
}

/** Contended locks, each with its holders, then wakes; or why they were not recorded. */
function syncText(s: Summary, byId: ReadonlyMap<number, NodeSummary>, limit: number): string[] {
  if (!s.syncRecorded) return ['', `contended locks and wakes: ${s.syncMeasured}`];
  const out = ['', `contended locks (${s.locks.length})`];
  for (const l of s.locks.slice(0, limit)) {
    out.push(`  #${l.id} ${l.kind.padEnd(6)} ${l.label}  ×${l.waits}  wait total ${fmtNs(l.waitNs)}`);
    for (const h of l.holders.slice(0, limit)) {
      out.push(`    ← held by ${placeOf(h)} avg ${fmtNs(h.holdAvgNs)} max ${fmtNs(h.holdMaxNs)} (${h.count} times), released at ${placeOf(h.release)}`);
    }
  }
  out.push('', `wakes (${s.wakes.length})`);
  for (const w of s.wakes.slice(0, limit)) out.push(`  ${placeOf(w.from)} → #${w.to} ${byId.get(w.to)?.label ?? '?'}  ×${w.count}`);
  return out;
}

/** The readable report. `limit` caps the rows of each table. */
export function textReport(s: Summary, limit = 10): string {
  const out: string[] = [];
  if (s.program) out.push(`program   ${[s.program.executable, ...s.program.args.slice(1)].join(' ')} (pid ${s.program.pid})`);
  out.push(`duration  ${fmtNs(s.durationNs)}, ${s.snapshots} snapshots` + (s.exit ? `, ${s.exit.how === 'exited' ? 'exit status' : 'killed by signal'} ${s.exit.status}` : ''));
  if (s.end) out.push(`ended     ${s.end.text}`);
  const byId = new Map(s.nodes.map((n) => [n.id, n]));
  out.push('', `blocking points (${s.nodes.length})`);
  for (const n of s.nodes.slice(0, limit)) {
    out.push(`  #${n.id} ${n.kind.padEnd(9)} ${n.label}  ×${n.count}  wait avg ${fmtNs(n.waitAvgNs)} max ${fmtNs(n.waitMaxNs)}`);
  }
  out.push('', `edges by total time (${s.edges.length})`);
  for (const e of s.edges.slice(0, limit)) {
    const from = byId.get(e.from);
    const to = byId.get(e.to);
    out.push(`  #${e.from} ${from ? from.label : '?'} → #${e.to} ${to ? to.label : '?'}  ×${e.count}  avg ${fmtNs(e.avgNs)} max ${fmtNs(e.maxNs)}`);
  }
  out.push(...syncText(s, byId, limit));
  out.push('', ...stacksText(s.stacks));
  for (const h of s.stacks.hotSplits.slice(0, limit)) {
    const mapped = h.mapped === null ? '' : ` (${h.mapped} mapped a chunk)`;
    out.push(`  hot split ${h.label}: ${h.reason}  ×${h.count}${mapped}${h.function === '??' ? '' : `  at ${placeOf(h)}`}`);
  }
  if (s.resources) {
    const r = s.resources;
    out.push('', `resources threads ${r.threads} (runnable ${r.runnable}, io ${r.blockedIo}, disk ${r.blockedDisk}, sync ${r.blockedSync}, sleeping ${r.sleeping}), rss ${fmtBytes(r.rssBytes)}, fds ${r.openFds}/${r.fdLimit}`);
  }
  if (s.workers.length > 0) {
    out.push('', `workers (${s.workers.length})`);
    for (const w of s.workers) out.push(`  ${workerText(w)}`);
  }
  if (s.stalls.length > 0) {
    out.push('', `stalls: the whole scheduler blocked in a system call (${s.stalls.length})`);
    for (const st of s.stalls.slice(0, limit)) out.push(`  ${stallText(st, fmtNs)}`);
  }
  out.push('', `suggestions (${s.suggestions.length})`);
  for (const g of s.suggestions) out.push(`  [${g.kind}] ${g.message}`);
  if (s.dropped.snapshots > 0 || s.dropped.runtimeNodes > 0 || Object.keys(s.dropped.model).length > 0) {
    out.push('', `dropped   ${s.dropped.snapshots} snapshots, ${s.dropped.runtimeNodes} blocking operations by the runtime; model: ${JSON.stringify(s.dropped.model)}`);
  }
  if (s.errors.length > 0) {
    out.push('', `decode errors (${s.errors.length})`);
    for (const e of s.errors.slice(0, limit)) out.push(`  at byte ${e.offset}${e.type !== undefined ? ` (type ${e.type})` : ''}: ${e.reason}`);
  }
  return out.join('\n') + '\n';
}
