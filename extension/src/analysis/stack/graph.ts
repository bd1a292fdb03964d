// Capriccio's weighted call graph: the .ci files of one program linked together, weighted by
// frame size, and what static analysis draws from it — recursion cycles, the deepest path from
// each thread entry, the external and indirect calls that lack stack information, a first chunk
// per entry, and where Capriccio's scheme would place stack checkpoints.
import { INDIRECT_CALL, type CiGraph, type FrameKind } from './ci.ts';

/** What keeps a function's stack need from being known statically. */
export type Lacking = 'external' | 'indirect' | 'dynamic';

export interface FnNode {
  /** unique in the program: the .ci title, qualified by its .ci file when two files define it */
  readonly key: string;
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** frame bytes (return address included); null when unknown (external, indirect, runtime) */
  readonly bytes: number | null;
  /** runtime: provided by the Capriccio runtime (split-stack code: grows the stack it needs) */
  readonly kind: FrameKind | 'indirect' | 'runtime';
  /** the .ci file that defines it ('' for external functions and the indirect placeholder) */
  readonly ci: string;
  /** internal linkage (static) */
  readonly local: boolean;
}

export interface CallEdge {
  readonly from: string;
  readonly to: string;
  readonly file: string;
  readonly line: number;
}

export interface Program {
  readonly nodes: ReadonlyMap<string, FnNode>;
  /** distinct calls (same caller, callee and site once) */
  readonly calls: readonly CallEdge[];
  readonly callees: ReadonlyMap<string, readonly CallEdge[]>;
  readonly callers: ReadonlyMap<string, readonly CallEdge[]>;
  /** linking remarks: a function defined twice, ... */
  readonly warnings: readonly string[];
}

/** libgcc's helper for alloca/VLAs under split stacks: the dynamic frame, not a call to annotate. */
const MORESTACK_PREFIX = '__morestack';

/** Whether the call graph has the function's own frame (not external, indirect or the runtime's). */
const defined = (n: FnNode): boolean => n.kind !== 'external' && n.kind !== 'indirect' && n.kind !== 'runtime';

export const lacking = (n: FnNode): Lacking | undefined =>
  n.kind === 'external' ? 'external' : n.kind === 'indirect' ? 'indirect' : n.kind === 'dynamic' ? 'dynamic' : undefined;

/** What the runtime library provides (runtime.ts), or why that is not known. */
export interface RuntimeFunctions {
  readonly names: ReadonlySet<string>;
  readonly missing?: string;
}

/**
 * Links the .ci files of one program (all its objects). A call to a function that another file
 * defines with external linkage resolves to that definition; static functions stay in their
 * unit; one that the runtime defines is the runtime's. When two files define the same global
 * name (two programs given at once), each file's own calls go to its own definition and the
 * others to the first one, with a warning.
 */
export function linkProgram(graphs: readonly CiGraph[], runtime: RuntimeFunctions = { names: new Set() }): Program {
  const sorted = [...graphs].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const warnings: string[] = [];
  if (runtime.missing) warnings.push(`functions the Capriccio runtime provides are listed as external: ${runtime.missing}`);
  // Which .ci files define each title.
  const definedIn = new Map<string, CiGraph[]>();
  for (const g of sorted) {
    for (const f of g.functions.values()) {
      if (f.kind === 'external') continue;
      const list = definedIn.get(f.id) ?? [];
      list.push(g);
      definedIn.set(f.id, list);
    }
  }
  const defKey = (title: string, g: CiGraph): string => ((definedIn.get(title)?.length ?? 0) > 1 ? `${g.path}#${title}` : title);
  for (const [title, list] of definedIn) {
    if (list.length > 1) {
      warnings.push(`${title} is defined in ${list.length} call graphs (${list.map((g) => g.path).join(', ')}): are these one program?`);
    }
  }

  const nodes = new Map<string, FnNode>();
  for (const g of sorted) {
    for (const f of g.functions.values()) {
      if (f.kind === 'external') continue;
      const key = defKey(f.id, g);
      nodes.set(key, { key, name: f.name, file: f.file, line: f.line, bytes: f.bytes, kind: f.kind, ci: g.path, local: f.local });
    }
  }
  const resolve = (title: string, g: CiGraph): string | undefined => {
    const own = g.functions.get(title);
    if (own && own.kind !== 'external') return defKey(title, g);
    if (title.startsWith(MORESTACK_PREFIX)) return undefined;
    if (title === INDIRECT_CALL) {
      if (!nodes.has(INDIRECT_CALL)) {
        nodes.set(INDIRECT_CALL, { key: INDIRECT_CALL, name: '(indirect call)', file: '', line: 0, bytes: null, kind: 'indirect', ci: '', local: false });
      }
      return INDIRECT_CALL;
    }
    const defs = definedIn.get(title);
    if (defs) return defKey(title, defs[0]!);
    if (!nodes.has(title)) {
      const decl = own!;
      const kind = runtime.names.has(decl.name) ? 'runtime' : 'external';
      nodes.set(title, { key: title, name: decl.name, file: decl.file, line: decl.line, bytes: null, kind, ci: '', local: false });
    }
    return title;
  };

  const calls: CallEdge[] = [];
  const seen = new Set<string>();
  for (const g of sorted) {
    for (const c of g.calls) {
      const from = resolve(c.from, g);
      const to = resolve(c.to, g);
      if (from === undefined || to === undefined) continue;
      const id = `${from}\0${to}\0${c.file}\0${c.line}`;
      if (seen.has(id)) continue;
      seen.add(id);
      calls.push({ from, to, file: c.file, line: c.line });
    }
  }
  const callees = new Map<string, CallEdge[]>();
  const callers = new Map<string, CallEdge[]>();
  for (const k of nodes.keys()) {
    callees.set(k, []);
    callers.set(k, []);
  }
  for (const c of calls) {
    callees.get(c.from)!.push(c);
    callers.get(c.to)!.push(c);
  }
  return { nodes, calls, callees, callers, warnings };
}

/** Strongly connected components (Tarjan, iterative), in reverse topological order. */
export function stronglyConnected(p: Program): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  for (const root of p.nodes.keys()) {
    if (index.has(root)) continue;
    const work: { v: string; i: number }[] = [{ v: root, i: 0 }];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const edges = p.callees.get(top.v)!;
      if (top.i < edges.length) {
        const w = edges[top.i++]!.to;
        if (!index.has(w)) {
          index.set(w, next);
          low.set(w, next++);
          stack.push(w);
          onStack.add(w);
          work.push({ v: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(top.v, Math.min(low.get(top.v)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.v;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.v)!));
      }
      if (low.get(top.v) === index.get(top.v)) {
        const comp: string[] = [];
        for (;;) {
          const w = stack.pop()!;
          onStack.delete(w);
          comp.push(w);
          if (w === top.v) break;
        }
        out.push(comp);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Analysis

/** Room the runtime keeps below a first chunk's guard (CAP_SPLIT_BACKOFF, runtime/src/internal.h). */
export const GUARD_RESERVE = 1536;
/** The thread structure at the top of a first chunk (CAP_TSIZE, rounded to 64). */
export const THREAD_STRUCT = 320;
/** What a first chunk holds besides the thread's frames. */
export const CHUNK_RESERVE = GUARD_RESERVE + THREAD_STRUCT;
/** The runtime's default first chunk, thread structure included (cap__default_chunk, runtime/src/stack.c). */
export const DEFAULT_FIRST_CHUNK = 3840;
/**
 * Bytes a call adds on top of the callee's frame. GCC's sizes for x86-64 already count the return
 * address (a frame-pointer function with 16 bytes of locals reports 32: return address, saved
 * %rbp, locals), so a path's need is exactly the sum of its frames.
 */
export const CALL_OVERHEAD = 0;
/** What starts a thread at a function whose address it is given. */
export const SPAWN_FUNCTIONS: ReadonlySet<string> = new Set(['pthread_create', 'cap_spawn']);
/** Longest-path search steps inside recursion cycles before settling for the best path found. */
const SEARCH_STEPS = 200_000;

export interface PathStep {
  readonly key: string;
  readonly function: string;
  readonly file: string;
  readonly line: number;
  /** null: unknown (external function or indirect call) or the runtime's */
  readonly bytes: number | null;
  readonly lacking?: Lacking;
  /** provided by the runtime: grows the stack it needs */
  readonly runtime?: true;
  /** the call site that reached this function (absent for the entry) */
  readonly callFile?: string;
  readonly callLine?: number;
}

export interface LackingCall {
  readonly function: string;
  readonly kind: Lacking;
  /** where it is called from (for a dynamic frame: the function itself) */
  readonly from: { readonly function: string; readonly file: string; readonly line: number };
}

export interface EntryResult {
  readonly key: string;
  readonly name: string;
  readonly file: string;
  readonly line: number;
  /** why it is an entry */
  readonly reason: 'main' | 'named' | 'no callers';
  /** null when recursion makes the depth unbounded */
  readonly deepestBytes: number | null;
  /** the deepest path that repeats no function: its bytes (== deepestBytes when bounded) */
  readonly boundedBytes: number;
  readonly path: readonly PathStep[];
  /** true when recursion cycles were too large to search exhaustively */
  readonly approximate: boolean;
  /** a recursion cycle reachable from the entry, as a walk (first function repeated at the end) */
  readonly recursion?: readonly string[];
  /** external, indirect and dynamic calls on the deepest path */
  readonly lacking: readonly LackingCall[];
  readonly recommendedChunkBytes: number;
  /** the frames alone outgrow any first chunk worth giving: linking has to do it */
  readonly chunkCapped: boolean;
}

export interface Cycle {
  /** every function of the strongly connected component, a cycle's walk first */
  readonly functions: readonly string[];
  readonly keys: readonly string[];
  /** one cycle through it, first function repeated at the end */
  readonly walk: readonly string[];
}

export interface AnnotationCandidate {
  readonly function: string;
  readonly callers: readonly { readonly function: string; readonly file: string; readonly line: number }[];
}

export interface Checkpoint {
  readonly key: string;
  readonly function: string;
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

export interface StackAnalysis {
  readonly functions: number;
  readonly entries: readonly EntryResult[];
  readonly cycles: readonly Cycle[];
  readonly annotationCandidates: readonly AnnotationCandidate[];
  readonly indirectCalls: readonly { readonly function: string; readonly file: string; readonly line: number }[];
  /** calls to pthread_create and cap_spawn: where threads start */
  readonly spawnSites: readonly { readonly spawn: string; readonly function: string; readonly file: string; readonly line: number }[];
  readonly checkpoints: readonly Checkpoint[];
  readonly warnings: readonly string[];
}

const roundUp256 = (n: number): number => Math.ceil(n / 256) * 256;
/** Smallest first chunk ever recommended (as for the runtime's measurements). */
export const MIN_FIRST_CHUNK = 2560;
/** Largest: beyond it the frames are left to linked chunks. */
export const MAX_FIRST_CHUNK = 64 * 1024;

/**
 * The first chunk for threads whose own frames need `frameBytes`: rounded up to 256, plus what
 * the runtime keeps in a first chunk (guard reserve, thread structure); at least 2560 bytes, at
 * most 64 KiB (`capped`: deeper threads rely on linking).
 */
export function recommendedChunk(frameBytes: number): { bytes: number; capped: boolean } {
  const want = Math.max(MIN_FIRST_CHUNK, roundUp256(frameBytes) + CHUNK_RESERVE);
  return want > MAX_FIRST_CHUNK ? { bytes: MAX_FIRST_CHUNK, capped: true } : { bytes: want, capped: false };
}

export interface AnalyzeOptions {
  /** functions to treat as thread entries besides main and the functions nobody calls */
  readonly entries?: readonly string[];
}

/** An --entry NAME that names no function. */
export class UnknownEntryError extends Error {}

interface Best {
  readonly bytes: number;
  /** functions on the path that lack information (for tie-breaking: show them) */
  readonly lackingCount: number;
  readonly path: readonly string[];
  /** the call edge into each path element after the first */
  readonly edges: readonly CallEdge[];
  /** the search inside a recursion cycle stopped early somewhere below */
  readonly approximate: boolean;
}

const better = (a: Best, b: Best | undefined): boolean =>
  b === undefined || a.bytes > b.bytes || (a.bytes === b.bytes && a.lackingCount > b.lackingCount);

export function analyzeStacks(p: Program, opts: AnalyzeOptions = {}): StackAnalysis {
  const node = (k: string): FnNode => p.nodes.get(k)!;
  const sccs = stronglyConnected(p);
  const sccOf = new Map<string, number>();
  sccs.forEach((c, i) => c.forEach((k) => sccOf.set(k, i)));
  const cyclic = (k: string): boolean => {
    const c = sccs[sccOf.get(k)!]!;
    return c.length > 1 || p.callees.get(k)!.some((e) => e.to === k);
  };
  const byPlace = (a: FnNode, b: FnNode): number =>
    a.ci.localeCompare(b.ci) || a.file.localeCompare(b.file) || a.line - b.line || a.name.localeCompare(b.name);

  // A cycle through each recursive component: the shortest walk from a member back to itself.
  const cycleWalk = (start: string): string[] => {
    const comp = sccOf.get(start)!;
    const prev = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]!;
      for (const e of p.callees.get(v)!) {
        if (sccOf.get(e.to) !== comp) continue;
        if (e.to === start) {
          const walk = [start];
          for (let u = v; u !== start; u = prev.get(u)!) walk.splice(1, 0, u);
          walk.push(start);
          return walk;
        }
        if (!prev.has(e.to)) {
          prev.set(e.to, v);
          queue.push(e.to);
        }
      }
    }
    return [start, start];
  };
  const cycles: Cycle[] = [];
  const cycleByScc = new Map<number, Cycle>();
  for (const [i, comp] of sccs.entries()) {
    if (!cyclic(comp[0]!)) continue;
    const start = [...comp].sort((a, b) => byPlace(node(a), node(b)))[0]!;
    const walk = cycleWalk(start);
    const keys = [...new Set([...walk.slice(0, -1), ...[...comp].sort((a, b) => byPlace(node(a), node(b)))])];
    const c: Cycle = { keys, functions: keys.map((k) => node(k).name), walk: walk.map((k) => node(k).name) };
    cycles.push(c);
    cycleByScc.set(i, c);
  }
  cycles.sort((a, b) => byPlace(node(a.keys[0]!), node(b.keys[0]!)));

  // Entries: main, the functions named, and defined functions nobody calls (thread functions are
  // only ever called through pthread_create/cap_spawn, which the call graph does not show).
  const entries: { key: string; reason: EntryResult['reason'] }[] = [];
  const add = (key: string, reason: EntryResult['reason']): void => {
    if (!entries.some((e) => e.key === key)) entries.push({ key, reason });
  };
  const all = [...p.nodes.values()].filter(defined).sort(byPlace);
  for (const n of all) if (n.name === 'main' && !n.local) add(n.key, 'main');
  for (const name of opts.entries ?? []) {
    const hits = all.filter((n) => n.name === name || n.key === name);
    if (hits.length === 0) throw new UnknownEntryError(`no function named ${name} is defined in the call graphs`);
    for (const n of hits) add(n.key, 'named');
  }
  // "Nobody calls it": nothing outside its recursion cycle (if any) calls it; of a cycle nobody
  // enters, the first function (by place) stands for the whole cycle.
  const entered = new Set<number>();
  for (const c of p.calls) if (sccOf.get(c.from) !== sccOf.get(c.to)) entered.add(sccOf.get(c.to)!);
  const rooted = new Set<number>();
  for (const n of all) {
    const comp = sccOf.get(n.key)!;
    if (entered.has(comp) || rooted.has(comp)) continue;
    rooted.add(comp);
    add(n.key, 'no callers');
  }

  // The deepest path that repeats no function. Outside recursion cycles the answer does not
  // depend on how a function was reached (nothing it reaches can be on the current path), so it
  // is memoized; inside them the search is exhaustive, up to SEARCH_STEPS.
  const weight = (k: string): number => node(k).bytes ?? 0;
  const memo = new Map<string, Best>();
  let steps = 0;
  const onPath = new Set<string>();
  const longest = (v: string): Best => {
    const hit = memo.get(v);
    if (hit) return hit;
    const isCyclic = cyclic(v);
    onPath.add(v);
    let best: Best | undefined;
    let via: CallEdge | undefined;
    const tried = new Set<string>();
    let cut = false;
    for (const e of p.callees.get(v)!) {
      if (onPath.has(e.to) || tried.has(e.to)) continue;
      tried.add(e.to);
      if (isCyclic && ++steps > SEARCH_STEPS) {
        cut = true;
        break;
      }
      const r = longest(e.to);
      if (better(r, best)) {
        best = r;
        via = e;
      }
    }
    onPath.delete(v);
    const mine = lacking(node(v)) ? 1 : 0;
    const res: Best = best
      ? {
          bytes: weight(v) + CALL_OVERHEAD + best.bytes,
          lackingCount: mine + best.lackingCount,
          path: [v, ...best.path],
          edges: [via!, ...best.edges],
          approximate: cut || best.approximate,
        }
      : { bytes: weight(v), lackingCount: mine, path: [v], edges: [], approximate: cut };
    if (!isCyclic) memo.set(v, res);
    return res;
  };

  const reachable = (from: string): Set<string> => {
    const seen = new Set([from]);
    const queue = [from];
    // (for..of over an array visits what is pushed during the loop)
    for (const f of queue) {
      for (const e of p.callees.get(f)!) {
        if (!seen.has(e.to)) {
          seen.add(e.to);
          queue.push(e.to);
        }
      }
    }
    return seen;
  };

  const entryResults: EntryResult[] = entries.map(({ key, reason }) => {
    steps = 0;
    const best = longest(key);
    const n = node(key);
    const path: PathStep[] = best.path.map((k, i) => {
      const f = node(k);
      const why = lacking(f);
      const edge = i > 0 ? best.edges[i - 1]! : undefined;
      return {
        key: k,
        function: f.name,
        file: f.file,
        line: f.line,
        bytes: f.bytes,
        ...(why ? { lacking: why } : {}),
        ...(f.kind === 'runtime' ? { runtime: true as const } : {}),
        ...(edge ? { callFile: edge.file, callLine: edge.line } : {}),
      };
    });
    // Recursion reachable from the entry: prefer a cycle on the deepest path.
    const reach = reachable(key);
    const onDeepest = best.path.find((k) => cyclic(k));
    const anyCyclic = onDeepest ?? [...reach].find((k) => cyclic(k));
    const recursion = anyCyclic === undefined ? undefined : cycleByScc.get(sccOf.get(anyCyclic)!)!.walk;
    // What lacks information along the deepest path: its dynamic frames, and the external or
    // indirect functions its functions call.
    const lackingCalls: LackingCall[] = [];
    const seenLack = new Set<string>();
    for (const k of best.path) {
      const f = node(k);
      if (f.kind === 'dynamic' && !seenLack.has(k)) {
        seenLack.add(k);
        lackingCalls.push({ function: f.name, kind: 'dynamic', from: { function: f.name, file: f.file, line: f.line } });
      }
      for (const e of p.callees.get(k)!) {
        const t = node(e.to);
        const why = lacking(t);
        if (why === undefined || why === 'dynamic') continue;
        const id = `${e.to}\0${k}`;
        if (seenLack.has(id)) continue;
        seenLack.add(id);
        lackingCalls.push({ function: t.name, kind: why, from: { function: f.name, file: e.file, line: e.line } });
      }
    }
    const chunk = recommendedChunk(best.bytes);
    return {
      key,
      name: n.name,
      file: n.file,
      line: n.line,
      reason,
      deepestBytes: recursion ? null : best.bytes,
      boundedBytes: best.bytes,
      path,
      approximate: best.approximate,
      ...(recursion ? { recursion } : {}),
      lacking: lackingCalls,
      recommendedChunkBytes: chunk.bytes,
      chunkCapped: chunk.capped,
    };
  });

  // External functions without a size, by name, with who calls them.
  const annotationCandidates: AnnotationCandidate[] = [...p.nodes.values()]
    .filter((n) => n.kind === 'external')
    .map((n) => ({
      function: n.name,
      callers: p.callers
        .get(n.key)!
        .map((e) => ({ function: node(e.from).name, file: e.file, line: e.line }))
        .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.function.localeCompare(b.function)),
    }))
    .sort((a, b) => b.callers.length - a.callers.length || a.function.localeCompare(b.function));
  const indirectCalls = (p.callers.get(INDIRECT_CALL) ?? [])
    .map((e) => ({ function: node(e.from).name, file: e.file, line: e.line }))
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);

  const spawnSites = p.calls
    .filter((e) => SPAWN_FUNCTIONS.has(node(e.to).name))
    .map((e) => ({ spawn: node(e.to).name, function: node(e.from).name, file: e.file, line: e.line }))
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  const checkpoints = placeCheckpoints(p, entryResults, node);
  return {
    functions: all.length,
    entries: entryResults,
    cycles,
    annotationCandidates,
    indirectCalls,
    spawnSites,
    checkpoints,
    warnings: p.warnings,
  };
}

/**
 * Capriccio's checkpoints (the paper, section 3.2): a stack check at the start of a function
 * wherever the frames accumulated since the last check would exceed the budget, and one on every
 * cycle of the call graph, so that no path between two checks is unbounded. Placed greedily
 * along the call paths from each entry, with a budget of the room the entry's recommended first
 * chunk leaves for frames (the chunk minus the runtime's reserve). External and indirect calls
 * are not followed: gold gives calls into code without split stacks their own large chunk.
 */
function placeCheckpoints(p: Program, entries: readonly EntryResult[], node: (k: string) => FnNode): Checkpoint[] {
  const placed = new Map<string, string>();
  for (const entry of entries) {
    const budget = entry.recommendedChunkBytes - CHUNK_RESERVE;
    const bestAcc = new Map<string, number>();
    const stack: string[] = [];
    const onStack = new Map<string, number>();
    const visit = (v: string, before: number): void => {
      const f = node(v);
      const w = f.bytes ?? 0;
      let acc: number;
      if (placed.has(v)) acc = w;
      else if (before > 0 && before + w > budget) {
        placed.set(v, `budget: ${before} bytes since the last check + ${w} would exceed ${budget} (entry ${entry.name})`);
        acc = w;
      } else acc = before + w;
      const prev = bestAcc.get(v);
      if (prev !== undefined && prev >= acc) return;
      bestAcc.set(v, acc);
      onStack.set(v, stack.length);
      stack.push(v);
      for (const e of p.callees.get(v)!) {
        const t = node(e.to);
        if (!defined(t)) continue;
        const at = onStack.get(e.to);
        if (at !== undefined) {
          // A back edge: the cycle needs a check unless one is on it already.
          if (!stack.slice(at).some((k) => placed.has(k))) {
            placed.set(e.to, `recursion: back edge ${f.name} → ${t.name}${e.file ? ` at ${e.file}:${e.line}` : ''}`);
          }
          continue;
        }
        visit(e.to, acc + CALL_OVERHEAD);
      }
      stack.pop();
      onStack.delete(v);
    };
    visit(entry.key, 0);
  }
  return [...placed.entries()]
    .map(([key, reason]) => {
      const f = node(key);
      return { key, function: f.name, file: f.file, line: f.line, reason };
    })
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.function.localeCompare(b.function));
}
