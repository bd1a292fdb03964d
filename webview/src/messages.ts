// The typed contract between a host (the VS Code panel, or the standalone report's shim) and the
// webview: what each side may send, the JSON-serializable ViewData a host builds from a session,
// and `parseHostMessage`, which checks what arrived before anything is drawn. Imported by both
// sides (extension/src/report/viewdata.ts builds ViewData; webview/src/main.ts receives it).
// No DOM and no Node here.
import type { SpawnSite } from '../../extension/src/protocol/types.ts';

/** One frame of a blocking point's call chain, innermost first. */
export interface ViewFrame {
  readonly function: string;
  readonly file: string;
  readonly line: number;
  /** the program's own code (not the runtime or a library) */
  readonly own: boolean;
}

/** A blocking point. */
export interface ViewNode {
  readonly id: number;
  /** what it waits on: sleep, io, mutex, ... */
  readonly kind: string;
  /** the function named for it: the innermost own frame (else the innermost library frame) */
  readonly label: string;
  /** what tells it apart from other points named for the same frame ("← stage2 (pipe.c:40)") */
  readonly via?: string;
  readonly file: string;
  readonly line: number;
  readonly chain: readonly ViewFrame[];
  /** waits that ended */
  readonly count: number;
  readonly waitAvgNs: number;
  readonly waitMaxNs: number;
  readonly waitTotalNs: number;
}

/** The runs of a thread from one blocking point to the next. */
export interface ViewEdge {
  /** "from>to" */
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly avgNs: number;
  readonly ewmaNs: number;
  readonly maxNs: number;
  readonly totalNs: number;
}

/** A series of one edge's average latency per snapshot interval (null: it did not run then). */
export interface EdgeSeries {
  readonly edgeId: string;
  readonly label: string;
  readonly avgNs: readonly (number | null)[];
}

/** Resources over time, one value per snapshot kept (column arrays of equal length). */
export interface ViewHistory {
  readonly tNs: readonly number[];
  readonly threads: readonly number[];
  readonly runnable: readonly number[];
  readonly blockedIo: readonly number[];
  readonly blockedDisk: readonly number[];
  readonly blockedSync: readonly number[];
  readonly sleeping: readonly number[];
  readonly rssBytes: readonly number[];
  readonly openFds: readonly number[];
  readonly fdLimit: readonly number[];
  readonly stackAllocatedBytes: readonly number[];
  readonly droppedTotal: readonly number[];
  /** the edges with the largest total time */
  readonly edgeLatency: readonly EdgeSeries[];
}

/** A spawn site's figures (docs/PROTOCOL.md spawn_sites), with where it is. */
export interface ViewSite extends SpawnSite {
  readonly function: string;
  readonly file: string;
  readonly line: number;
}

export interface ViewThread {
  readonly id: number;
  readonly name: string;
  readonly site: string;
  readonly allocatedBytes: number;
  readonly usedBytes: number;
  readonly chunksLinked: number;
  /** runnable, running, blocked */
  readonly state: string;
  /** what it waits on */
  readonly kind: string;
}

export interface ViewHotSplit {
  readonly callsite: string;
  readonly function: string;
  readonly file: string;
  readonly line: number;
  readonly count: number;
  readonly frameBytes: number;
}

export interface ViewStacks {
  readonly allocatedBytes: number;
  readonly usedBytes: number;
  readonly wasteBytes: number;
  readonly maxThreadUsedBytes: number;
  readonly chunksLinked: number;
  readonly sites: readonly ViewSite[];
  readonly threads: readonly ViewThread[];
  readonly hotSplits: readonly ViewHotSplit[];
}

export interface ViewSuggestion {
  /** yield, annotate-blocking, annotate-stack, chunk-size */
  readonly kind: string;
  readonly message: string;
  readonly function?: string;
  readonly file?: string;
  readonly line?: number;
  /** the figures it rests on */
  readonly evidence: Readonly<Record<string, number | string>>;
}

export interface ViewProgram {
  readonly executable: string;
  readonly pid: number;
  readonly args: readonly string[];
  readonly stackMode: string;
  readonly diskBackend: string;
  readonly scheduler: string;
  readonly intervalMs: number;
}

/** How a launched program ended, as the profiler that launched it saw it. */
export interface ViewEnd {
  /** short: "exit status 7", "killed by SIGKILL" */
  readonly status: string;
  /** the whole story, e.g. "killed by the profiler with SIGKILL: it did not exit within 10 s of SIGTERM, sent when --duration 5 ended" */
  readonly text: string;
  /** the profiler asked it to stop (a signal at the end of a duration, or the user's Stop) */
  readonly stopped: boolean;
  /** it did not exit in time: the profiler killed it with SIGKILL */
  readonly killed: boolean;
}

/** What was lost or could not be read, shown so the view stays honest. */
export interface ViewHealth {
  readonly decodeErrors: number;
  /** the first few decode errors */
  readonly errors: readonly { readonly offset: number; readonly reason: string }[];
  /** snapshots the runtime skipped (slow consumer) */
  readonly droppedSnapshots: number;
  /** blocking operations the runtime could not record (its tables were full) */
  readonly runtimeNodesDropped: number;
  /** records the model did not keep because of its caps, by table */
  readonly model: Readonly<Record<string, number>>;
  /** why the recording ended early, if it did */
  readonly truncated: string | null;
  /** nodes and edges left out of the view by its caps (see viewdata.ts) */
  readonly hiddenNodes: number;
  readonly hiddenEdges: number;
  /** history points left out (downsampled) */
  readonly hiddenPoints: number;
}

export interface ViewData {
  readonly version: 1;
  /** where it comes from: a recording's path, or "live" */
  readonly source: string;
  readonly program: ViewProgram | null;
  readonly durationNs: number;
  readonly snapshots: number;
  readonly exit: { readonly how: string; readonly status: number; readonly tNs: number } | null;
  /** null: still running, attached, or recorded before the profiler recorded how programs end */
  readonly end: ViewEnd | null;
  readonly nodes: readonly ViewNode[];
  readonly edges: readonly ViewEdge[];
  readonly history: ViewHistory;
  readonly stacks: ViewStacks;
  readonly suggestions: readonly ViewSuggestion[];
  readonly health: ViewHealth;
}

/** Host → webview. */
export type HostMessage =
  | { readonly type: 'init'; readonly view: ViewData }
  | { readonly type: 'update'; readonly view: ViewData }
  | { readonly type: 'error'; readonly message: string };

/** Webview → host. */
export type WebviewMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'reveal'; readonly file: string; readonly line: number };

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

// ---- validation -------------------------------------------------------------------------

class Invalid extends Error {}

const what = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
const fail = (path: string, expected: string, v: unknown): never => {
  throw new Invalid(`${path}: expected ${expected}, got ${what(v)}`);
};

function obj(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'an object', v);
  return v as Record<string, unknown>;
}
function num(o: Record<string, unknown>, k: string, path: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path}.${k}`, 'a finite number', v);
  return v as number;
}
function str(o: Record<string, unknown>, k: string, path: string): string {
  const v = o[k];
  if (typeof v !== 'string') fail(`${path}.${k}`, 'a string', v);
  return v as string;
}
function bool(o: Record<string, unknown>, k: string, path: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') fail(`${path}.${k}`, 'a boolean', v);
  return v as boolean;
}
function arr(o: Record<string, unknown>, k: string, path: string): unknown[] {
  const v = o[k];
  if (!Array.isArray(v)) fail(`${path}.${k}`, 'an array', v);
  return v as unknown[];
}
function each(o: Record<string, unknown>, k: string, path: string, check: (item: Record<string, unknown>, p: string) => void): void {
  arr(o, k, path).forEach((item, i) => check(obj(item, `${path}.${k}[${i}]`), `${path}.${k}[${i}]`));
}
function nums(o: Record<string, unknown>, k: string, path: string, length: number, nullable = false): void {
  const a = arr(o, k, path);
  if (a.length !== length) throw new Invalid(`${path}.${k}: expected ${length} values (one per point), got ${a.length}`);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (nullable && v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path}.${k}[${i}]`, nullable ? 'a finite number or null' : 'a finite number', v);
  }
}
const numFields = (o: Record<string, unknown>, path: string, keys: readonly string[]): void => keys.forEach((k) => num(o, k, path));
const strFields = (o: Record<string, unknown>, path: string, keys: readonly string[]): void => keys.forEach((k) => str(o, k, path));

const SERIES = ['threads', 'runnable', 'blockedIo', 'blockedDisk', 'blockedSync', 'sleeping', 'rssBytes', 'openFds', 'fdLimit', 'stackAllocatedBytes', 'droppedTotal'] as const;

function checkView(v: unknown): ViewData {
  const p = 'view';
  const o = obj(v, p);
  if (o['version'] !== 1) throw new Invalid(`view.version: expected 1, got ${JSON.stringify(o['version']) ?? 'nothing'} (a newer host?)`);
  str(o, 'source', p);
  if (o['program'] !== null) {
    const g = obj(o['program'], 'view.program');
    strFields(g, 'view.program', ['executable', 'stackMode', 'diskBackend', 'scheduler']);
    numFields(g, 'view.program', ['pid', 'intervalMs']);
    arr(g, 'args', 'view.program');
  }
  numFields(o, p, ['durationNs', 'snapshots']);
  if (o['exit'] !== null) {
    const e = obj(o['exit'], 'view.exit');
    str(e, 'how', 'view.exit');
    numFields(e, 'view.exit', ['status', 'tNs']);
  }
  if (o['end'] !== null) {
    const e = obj(o['end'], 'view.end');
    strFields(e, 'view.end', ['status', 'text']);
    bool(e, 'stopped', 'view.end');
    bool(e, 'killed', 'view.end');
  }
  const ids = new Set<number>();
  each(o, 'nodes', p, (n, np) => {
    ids.add(num(n, 'id', np));
    strFields(n, np, ['kind', 'label', 'file']);
    if (n['via'] !== undefined) str(n, 'via', np);
    numFields(n, np, ['line', 'count', 'waitAvgNs', 'waitMaxNs', 'waitTotalNs']);
    each(n, 'chain', np, (f, fp) => {
      strFields(f, fp, ['function', 'file']);
      num(f, 'line', fp);
      bool(f, 'own', fp);
    });
  });
  each(o, 'edges', p, (e, ep) => {
    const id = str(e, 'id', ep);
    const from = num(e, 'from', ep);
    const to = num(e, 'to', ep);
    if (id !== `${from}>${to}`) throw new Invalid(`${ep}.id: expected "${from}>${to}", got "${id}"`);
    if (!ids.has(from) || !ids.has(to)) throw new Invalid(`${ep}: edge ${id} refers to a node that is not in view.nodes`);
    numFields(e, ep, ['count', 'avgNs', 'ewmaNs', 'maxNs', 'totalNs']);
  });
  const h = obj(o['history'], 'view.history');
  const len = arr(h, 'tNs', 'view.history').length;
  nums(h, 'tNs', 'view.history', len);
  for (const k of SERIES) nums(h, k, 'view.history', len);
  each(h, 'edgeLatency', 'view.history', (s, sp) => {
    strFields(s, sp, ['edgeId', 'label']);
    nums(s, 'avgNs', sp, len, true);
  });
  const st = obj(o['stacks'], 'view.stacks');
  numFields(st, 'view.stacks', ['allocatedBytes', 'usedBytes', 'wasteBytes', 'maxThreadUsedBytes', 'chunksLinked']);
  each(st, 'sites', 'view.stacks', (s, sp) => {
    strFields(s, sp, ['site', 'function', 'file']);
    numFields(s, sp, ['line', 'threadsLive', 'threadsTotal', 'firstChunkBytes', 'splitFrameMax', 'chunksLinked', 'allocatedBytes', 'usedBytesMax', 'usedBytesTotal', 'wasteBytes']);
  });
  each(st, 'threads', 'view.stacks', (t, tp) => {
    strFields(t, tp, ['name', 'site', 'state', 'kind']);
    numFields(t, tp, ['id', 'allocatedBytes', 'usedBytes', 'chunksLinked']);
  });
  each(st, 'hotSplits', 'view.stacks', (s, sp) => {
    strFields(s, sp, ['callsite', 'function', 'file']);
    numFields(s, sp, ['line', 'count', 'frameBytes']);
  });
  each(o, 'suggestions', p, (s, sp) => {
    strFields(s, sp, ['kind', 'message']);
    if (s['file'] !== undefined) str(s, 'file', sp);
    if (s['line'] !== undefined) num(s, 'line', sp);
    if (s['function'] !== undefined) str(s, 'function', sp);
    const ev = obj(s['evidence'], `${sp}.evidence`);
    for (const [k, v] of Object.entries(ev)) if (typeof v !== 'number' && typeof v !== 'string') fail(`${sp}.evidence.${k}`, 'a number or a string', v);
  });
  const hl = obj(o['health'], 'view.health');
  numFields(hl, 'view.health', ['decodeErrors', 'droppedSnapshots', 'runtimeNodesDropped', 'hiddenNodes', 'hiddenEdges', 'hiddenPoints']);
  each(hl, 'errors', 'view.health', (e, ep) => {
    num(e, 'offset', ep);
    str(e, 'reason', ep);
  });
  obj(hl['model'], 'view.health.model');
  if (hl['truncated'] !== null) str(hl, 'truncated', 'view.health');
  return o as unknown as ViewData;
}

/** Checks that `data` is a HostMessage; the error names the first thing that is wrong. */
export function parseHostMessage(data: unknown): ParseResult<HostMessage> {
  try {
    const o = obj(data, 'message');
    const type = o['type'];
    switch (type) {
      case 'init':
      case 'update':
        return { ok: true, value: { type, view: checkView(o['view']) } };
      case 'error':
        return { ok: true, value: { type, message: str(o, 'message', 'message') } };
      default:
        return { ok: false, error: `message.type: expected 'init', 'update' or 'error', got ${JSON.stringify(type) ?? 'nothing'}` };
    }
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.message };
    throw err;
  }
}

/** Checks that `data` is a WebviewMessage (for the host side). */
export function parseWebviewMessage(data: unknown): ParseResult<WebviewMessage> {
  try {
    const o = obj(data, 'message');
    const type = o['type'];
    switch (type) {
      case 'ready':
        return { ok: true, value: { type } };
      case 'reveal':
        return { ok: true, value: { type, file: str(o, 'file', 'message'), line: num(o, 'line', 'message') } };
      default:
        return { ok: false, error: `message.type: expected 'ready' or 'reveal', got ${JSON.stringify(type) ?? 'nothing'}` };
    }
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.message };
    throw err;
  }
}
