// ViewData: what a host (the VS Code panel, or the standalone report) builds from a session and the
// webview draws, JSON-serializable. extension/src/report/viewdata.ts builds it; viewcheck.ts checks
// it field by field on arrival. No DOM and no Node here.
import type { HistoryName, SpawnSite, WorkerRow } from './protocol.ts';

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

/**
 * Resources over time, one value per snapshot kept (column arrays of equal length): a column per
 * resource figure marked `history` in RESOURCE_FIELDS (protocol.ts), and the stack memory as last
 * measured by then (STACKS; null before the first measurement, and in every point of a recording
 * made before protocol version 3).
 */
export type ViewHistory = { readonly [K in HistoryName]: readonly number[] } & {
  readonly tNs: readonly number[];
  readonly stackReservedBytes: readonly (number | null)[];
  readonly stackResidentBytes: readonly (number | null)[];
  readonly stackWasteBytes: readonly (number | null)[];
  /** the edges with the largest total time */
  readonly edgeLatency: readonly EdgeSeries[];
};

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

/**
 * Where a callee without split stacks comes from: `library`, a shared library; `program`, linked
 * into the program from an object built without split stacks (a static archive); `runtime`, the
 * Capriccio runtime's own code linked into the program (its stdio).
 */
export const CALLEE_ORIGINS = ['library', 'program', 'runtime'] as const;
export type CalleeOrigin = (typeof CALLEE_ORIGINS)[number];

/** An external function a hot split's function calls: code without split stacks. */
export interface ViewCallee {
  readonly name: string;
  readonly origin: CalleeOrigin;
  /** the shared library that exports it ("libc"); '' when it is not a library's, or its library is not here */
  readonly library: string;
}

/**
 * Why a hot split linked a chunk: `linker`, gold made the function ask for a big chunk (1 MiB more)
 * for its calls into code without split stacks; `frame`, a frame of split-stack code did not fit
 * what was left of the chunk; `callback`, code that is not the program's called back into it.
 */
export const SPLIT_CAUSES = ['linker', 'frame', 'callback'] as const;
export type SplitCauseName = (typeof SPLIT_CAUSES)[number];

/** A call site that linked a new chunk again and again (the runtime's own are left out). */
export interface ViewHotSplit {
  readonly callsite: string;
  /** where the call site is */
  readonly function: string;
  readonly file: string;
  readonly line: number;
  readonly count: number;
  /** the largest frame asked for */
  readonly frameBytes: number;
  /** the function whose prologue asked for the chunk, read from the machine code (absent: not read here) */
  readonly demandedBy?: string;
  readonly cause: SplitCauseName;
  /** the external functions it calls: what to annotate (empty: none, or its code was not read) */
  readonly callees: readonly ViewCallee[];
  /** what the user can act on: "serve → snprintf (libc)" */
  readonly label: string;
  /** why, in words: "1.0 MiB demanded by the linker for a call into code without split stacks" */
  readonly reason: string;
  /** of `count`, the splits that mapped a chunk, a system call (the others linked one kept or pooled); null: not known (protocol version before 3) */
  readonly mapped: number | null;
}

/**
 * Stack figures. Memory (resident) and address space (reserved) are apart: a split-stack chunk is
 * address space, of which a thread touches a few pages, and only the pages touched are memory.
 */
export interface ViewStacks {
  /** address space of live threads' stacks, their first chunks and linked chunks (the snapshot's stack_allocated_bytes) */
  readonly allocatedBytes: number;
  /** the high-waters of finished threads, summed */
  readonly usedBytes: number;
  /** address space of finished threads' stacks they never touched: never resident, it cost no memory */
  readonly untouchedBytes: number;
  readonly maxThreadUsedBytes: number;
  readonly chunksLinked: number;
  /** address space of every stack mapping (STACKS); null: not measured */
  readonly reservedBytes: number | null;
  /** of that, the bytes in memory; null: not measured */
  readonly residentBytes: number | null;
  /** resident bytes no live thread holds (free first chunks and chunks kept with them, pooled chunks); null: not measured */
  readonly wasteBytes: number | null;
  /** how resident, reserved and waste were obtained, or "not measured: …" */
  readonly measured: string;
  readonly sites: readonly ViewSite[];
  readonly threads: readonly ViewThread[];
  readonly hotSplits: readonly ViewHotSplit[];
}

/**
 * "resident 11.8 MiB of 1.0 GiB reserved, waste 400 KiB (resident, held by no live thread)", or
 * that they were not measured and why: the words every consumer shows, with its own `bytes` format.
 */
export const stackMemoryText = (st: Pick<ViewStacks, 'residentBytes' | 'reservedBytes' | 'wasteBytes' | 'measured'>, bytes: (n: number) => string): string =>
  st.residentBytes !== null && st.reservedBytes !== null && st.wasteBytes !== null
    ? `resident ${bytes(st.residentBytes)} of ${bytes(st.reservedBytes)} reserved, waste ${bytes(st.wasteBytes)} (resident, held by no live thread)`
    : `resident, reserved and waste ${st.measured}`;

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

/** A worker (a kernel thread running user threads): its WORKERS row, with its utilisation. */
export interface ViewWorker extends WorkerRow {
  /** busy / (busy + parked): the share of its lifetime it was not parked, 0..1 */
  readonly utilisation: number;
}

export const viewWorker = (w: WorkerRow): ViewWorker => {
  const life = w.busyNs + w.parkedNs;
  return { ...w, utilisation: life > 0 ? w.busyNs / life : 0 };
};

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

/** Where a call is in the program: its return address looked up at − 1, so the line is the call's. */
export interface ViewPlace {
  readonly function: string;
  readonly file: string;
  readonly line: number;
}

/** What a contended lock is, by the kind of its blocking point. */
export const LOCK_KINDS = ['mutex', 'rwlock', 'sem'] as const;
export type LockKind = (typeof LOCK_KINDS)[number];

/** Those who held a lock while a thread waited, grouped by where they acquired it (SYNC holds). */
export interface ViewLockHolder extends ViewPlace {
  /** waits that ended when such a holder released */
  readonly count: number;
  /** the holders' hold, from their acquisition to the release that handed the lock over */
  readonly holdAvgNs: number;
  readonly holdMaxNs: number;
  /** the waiters' time in those waits */
  readonly waitNs: number;
  /** the release (unlock, post) that handed the lock over most often */
  readonly release: ViewPlace;
}

/** A blocking point waiting on a mutex, rwlock or semaphore, and who held what it waited for; its place is the point's own. */
export interface ViewLock extends ViewPlace {
  /** the blocking point (a node id) */
  readonly id: number;
  /** the point's unique label (labels.ts), as the graph shows it */
  readonly label: string;
  readonly kind: LockKind;
  /** waits that ended at the point */
  readonly waits: number;
  /** their total time */
  readonly waitNs: number;
  /** most hand-overs first */
  readonly holders: readonly ViewLockHolder[];
}

/** Threads blocked at a point made runnable by calls at one place of the program (SYNC wakes). */
export interface ViewWake {
  /** the waker's call: a signal, broadcast, unlock, post, join's thread exit (for a start function that returned, the function) */
  readonly from: ViewPlace;
  /** the woken blocking point (a node id) */
  readonly to: number;
  /** the blocking point the wakers' runs most often started from (null: they had not blocked yet): where a graph draws the edge from */
  readonly fromNode: number | null;
  readonly count: number;
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
  /** contended locks and wakes left out of the view by its caps (the least wait, the fewest) */
  readonly hiddenLocks: number;
  readonly hiddenWakes: number;
  /** history points left out (downsampled) */
  readonly hiddenPoints: number;
}

/** A blocking point's figures in one recording of a comparison. */
export interface PointFigures {
  readonly count: number;
  readonly waitAvgNs: number;
  readonly waitMaxNs: number;
  readonly waitTotalNs: number;
}
/** An edge's figures in one recording of a comparison. */
export interface EdgeFigures {
  readonly count: number;
  readonly runAvgNs: number;
  readonly runMaxNs: number;
  readonly runTotalNs: number;
}
/** A spawn site's figures in one recording of a comparison. */
export interface SiteFigures {
  readonly threads: number;
  readonly stackHighWaterBytes: number;
}

/** One thing in two recordings (extension/src/analysis/diff.ts matches them): its figures in each, null where it did not occur. */
export interface DiffRow<F> {
  /** what matches it across the two runs */
  readonly key: string;
  readonly before: F | null;
  readonly after: F | null;
  /** after minus before of its time (wait or run total; stack bytes for a site) */
  readonly change: number;
}
/** A blocking point, where it is in the later recording (else the earlier one); file '??': not known. */
export interface DiffPoint extends DiffRow<PointFigures> {
  readonly kind: string;
  readonly label: string;
  readonly file: string;
  readonly line: number;
}
/** An edge, by the keys of the points at its ends. */
export interface DiffEdge extends DiffRow<EdgeFigures> {
  readonly from: string;
  readonly to: string;
}
/** A spawn site, where it is (as DiffPoint). */
export interface DiffSite extends DiffRow<SiteFigures> {
  readonly file: string;
  readonly line: number;
}

/** Two recordings side by side, each table ranked by change (largest first). */
export interface Diff {
  readonly points: readonly DiffPoint[];
  readonly edges: readonly DiffEdge[];
  readonly sites: readonly DiffSite[];
}

/** The view's comparison with an earlier recording: the Diff's first rows, and how many were left out. */
export interface ViewCompare extends Diff {
  /** the earlier recording's path */
  readonly source: string;
  /** what the view calls it (its file name) */
  readonly name: string;
  readonly hidden: { readonly points: number; readonly edges: number; readonly sites: number };
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
  /** per worker, from the latest WORKERS frame; empty for recordings before protocol version 2 */
  readonly workers: readonly ViewWorker[];
  /** contended locks, most wait first ([] when not recorded: see syncRecorded) */
  readonly locks: readonly ViewLock[];
  /** wakes, most first ([] when not recorded) */
  readonly wakes: readonly ViewWake[];
  /** whether the runtime recorded contention and wakes (SYNC frames, protocol version 4) */
  readonly syncRecorded: boolean;
  /** how they were recorded, or "not recorded: …" and why */
  readonly syncMeasured: string;
  readonly suggestions: readonly ViewSuggestion[];
  readonly health: ViewHealth;
  /** absent: nothing to compare with; else this recording against an earlier one (capriccio report --compare, Compare with Previous Recording) */
  readonly compare?: ViewCompare;
}
