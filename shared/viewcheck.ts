// The check of a ViewData that arrived from a host, field by field, before anything is drawn.
// Each part of ViewData has its shape (`satisfies Shape<...>`): a field added to view.ts and
// not here does not compile (extension/test/shapes.types.ts proves it). The order of the fields
// in a shape is the order they are checked in, so the first thing wrong is the one reported.
import { HISTORY_FIELDS } from './protocol.ts';
import { CALLEE_ORIGINS, LOCK_KINDS, SPLIT_CAUSES } from './view.ts';
import { fromKeys } from './records.ts';
import {
  Invalid,
  array,
  boolean,
  dictionary,
  fail,
  list,
  member,
  named,
  nullable,
  number,
  object,
  optional,
  record,
  refine,
  series,
  string,
  type Check,
  type Shape,
} from './check.ts';
import type {
  DiffEdge,
  DiffPoint,
  DiffRow,
  DiffSite,
  EdgeFigures,
  EdgeSeries,
  PointFigures,
  SiteFigures,
  ViewCompare,
  ViewCallee,
  ViewData,
  ViewEdge,
  ViewEnd,
  ViewFrame,
  ViewHealth,
  ViewHistory,
  ViewHotSplit,
  ViewLock,
  ViewLockHolder,
  ViewNode,
  ViewPlace,
  ViewProgram,
  ViewSite,
  ViewStacks,
  ViewSuggestion,
  ViewThread,
  ViewWake,
  ViewWorker,
} from './view.ts';

export const PROGRAM = {
  executable: string,
  stackMode: string,
  diskBackend: string,
  scheduler: string,
  pid: number,
  intervalMs: number,
  args: list(string),
} satisfies Shape<ViewProgram>;

export const WORKER = {
  id: number,
  runnable: number,
  threads: number,
  busyNs: number,
  parkedNs: number,
  switches: number,
  steals: number,
  migrations: number,
  utilisation: number,
} satisfies Shape<ViewWorker>;

export const EXIT = { how: string, status: number, tNs: number } satisfies Shape<NonNullable<ViewData['exit']>>;

export const END = { status: string, text: string, stopped: boolean, killed: boolean } satisfies Shape<ViewEnd>;

export const FRAME = { function: string, file: string, line: number, own: boolean } satisfies Shape<ViewFrame>;

export const NODE = {
  id: number,
  kind: string,
  label: string,
  file: string,
  via: optional(string),
  line: number,
  count: number,
  waitAvgNs: number,
  waitMaxNs: number,
  waitTotalNs: number,
  chain: list(record<ViewFrame>(FRAME)),
} satisfies Shape<ViewNode>;

export const EDGE = {
  id: string,
  from: number,
  to: number,
  count: number,
  avgNs: number,
  ewmaNs: number,
  maxNs: number,
  totalNs: number,
} satisfies Shape<ViewEdge>;

/** An edge's latency over `points` history points. */
export const edgeSeriesShape = (points: number) => ({ edgeId: string, label: string, avgNs: series(points, true) }) satisfies Shape<EdgeSeries>;

/** The history's columns, each of `points` values. */
export const historyShape = (points: number) =>
  ({
    tNs: series(points),
    ...fromKeys(HISTORY_FIELDS, () => series(points)),
    stackReservedBytes: series(points, true),
    stackResidentBytes: series(points, true),
    stackWasteBytes: series(points, true),
    edgeLatency: list(record<EdgeSeries>(edgeSeriesShape(points))),
  }) satisfies Shape<ViewHistory>;

/** Its columns are as long as its tNs. */
const history: Check<ViewHistory> = (v, path, key) => {
  const points = array(object(v, path, key)['tNs'], named(path, key), 'tNs').length;
  return record<ViewHistory>(historyShape(points))(v, path, key);
};

export const SITE = {
  site: string,
  function: string,
  file: string,
  line: number,
  threadsLive: number,
  threadsTotal: number,
  firstChunkBytes: number,
  splitFrameMax: number,
  chunksLinked: number,
  allocatedBytes: number,
  usedBytesMax: number,
  usedBytesTotal: number,
  untouchedBytes: number,
} satisfies Shape<ViewSite>;

export const THREAD = {
  name: string,
  site: string,
  state: string,
  kind: string,
  id: number,
  allocatedBytes: number,
  usedBytes: number,
  chunksLinked: number,
} satisfies Shape<ViewThread>;

export const CALLEE = { name: string, origin: member(CALLEE_ORIGINS), library: string } satisfies Shape<ViewCallee>;

export const HOT_SPLIT = {
  callsite: string,
  function: string,
  file: string,
  line: number,
  count: number,
  frameBytes: number,
  demandedBy: optional(string),
  cause: member(SPLIT_CAUSES),
  callees: list(record<ViewCallee>(CALLEE)),
  label: string,
  reason: string,
  mapped: nullable(number),
} satisfies Shape<ViewHotSplit>;

export const STACKS = {
  allocatedBytes: number,
  usedBytes: number,
  untouchedBytes: number,
  maxThreadUsedBytes: number,
  chunksLinked: number,
  reservedBytes: nullable(number),
  residentBytes: nullable(number),
  wasteBytes: nullable(number),
  measured: string,
  sites: list(record<ViewSite>(SITE)),
  threads: list(record<ViewThread>(THREAD)),
  hotSplits: list(record<ViewHotSplit>(HOT_SPLIT)),
} satisfies Shape<ViewStacks>;

const figure: Check<number | string> = (v, path, key) => (typeof v === 'number' || typeof v === 'string' ? v : fail(named(path, key), 'a number or a string', v));

export const SUGGESTION = {
  kind: string,
  message: string,
  file: optional(string),
  line: optional(number),
  function: optional(string),
  evidence: dictionary(figure),
} satisfies Shape<ViewSuggestion>;

export const HEALTH_ERROR = { offset: number, reason: string } satisfies Shape<ViewHealth['errors'][number]>;

export const HEALTH = {
  decodeErrors: number,
  droppedSnapshots: number,
  runtimeNodesDropped: number,
  hiddenNodes: number,
  hiddenEdges: number,
  hiddenLocks: number,
  hiddenWakes: number,
  hiddenPoints: number,
  errors: list(record<ViewHealth['errors'][number]>(HEALTH_ERROR)),
  model: dictionary(number),
  truncated: nullable(string),
} satisfies Shape<ViewHealth>;

export const PLACE = { function: string, file: string, line: number } satisfies Shape<ViewPlace>;

export const LOCK_HOLDER = {
  ...PLACE,
  count: number,
  holdAvgNs: number,
  holdMaxNs: number,
  waitNs: number,
  release: record<ViewPlace>(PLACE),
} satisfies Shape<ViewLockHolder>;

export const LOCK = {
  id: number,
  label: string,
  kind: member(LOCK_KINDS),
  ...PLACE,
  waits: number,
  waitNs: number,
  holders: list(record<ViewLockHolder>(LOCK_HOLDER)),
} satisfies Shape<ViewLock>;

export const WAKE = { from: record<ViewPlace>(PLACE), to: number, fromNode: nullable(number), count: number } satisfies Shape<ViewWake>;

export const POINT_FIGURES = { count: number, waitAvgNs: number, waitMaxNs: number, waitTotalNs: number } satisfies Shape<PointFigures>;
export const EDGE_FIGURES = { count: number, runAvgNs: number, runMaxNs: number, runTotalNs: number } satisfies Shape<EdgeFigures>;
export const SITE_FIGURES = { threads: number, stackHighWaterBytes: number } satisfies Shape<SiteFigures>;

/** A compared row whose sides have `figures`. */
export const diffRowShape = <F>(figures: Shape<F>) =>
  ({ key: string, before: nullable(record<F>(figures)), after: nullable(record<F>(figures)), change: number }) satisfies Shape<DiffRow<F>>;

export const DIFF_POINT = { ...diffRowShape(POINT_FIGURES), kind: string, label: string, file: string, line: number } satisfies Shape<DiffPoint>;
export const DIFF_EDGE = { ...diffRowShape(EDGE_FIGURES), from: string, to: string } satisfies Shape<DiffEdge>;
export const DIFF_SITE = { ...diffRowShape(SITE_FIGURES), file: string, line: number } satisfies Shape<DiffSite>;

export const COMPARE_HIDDEN = { points: number, edges: number, sites: number } satisfies Shape<ViewCompare['hidden']>;

export const COMPARE = {
  source: string,
  name: string,
  points: list(record<DiffPoint>(DIFF_POINT)),
  edges: list(record<DiffEdge>(DIFF_EDGE)),
  sites: list(record<DiffSite>(DIFF_SITE)),
  hidden: record<ViewCompare['hidden']>(COMPARE_HIDDEN),
} satisfies Shape<ViewCompare>;

const version: Check<1> = (v, path, key) => {
  if (v !== 1) throw new Invalid(`${named(path, key)}: expected 1, got ${JSON.stringify(v) ?? 'nothing'} (a newer host?)`);
  return v;
};

/** The whole view; `nodeIds` collects its nodes' ids, which its edges must refer to. */
export const viewShape = (nodeIds: Set<number>) =>
  ({
    version,
    source: string,
    program: nullable(record<ViewProgram>(PROGRAM)),
    durationNs: number,
    snapshots: number,
    exit: nullable(record<NonNullable<ViewData['exit']>>(EXIT)),
    end: nullable(record<ViewEnd>(END)),
    nodes: list(refine(record<ViewNode>(NODE), (n) => nodeIds.add(n.id))),
    edges: list(
      refine(record<ViewEdge>(EDGE), (e, name) => {
        if (e.id !== `${e.from}>${e.to}`) throw new Invalid(`${name}.id: expected "${e.from}>${e.to}", got "${e.id}"`);
        if (!nodeIds.has(e.from) || !nodeIds.has(e.to)) throw new Invalid(`${name}: edge ${e.id} refers to a node that is not in view.nodes`);
      }),
    ),
    history,
    stacks: record<ViewStacks>(STACKS),
    workers: list(record<ViewWorker>(WORKER)),
    locks: list(record<ViewLock>(LOCK)),
    wakes: list(record<ViewWake>(WAKE)),
    syncRecorded: boolean,
    syncMeasured: string,
    suggestions: list(record<ViewSuggestion>(SUGGESTION)),
    health: record<ViewHealth>(HEALTH),
    compare: optional(record<ViewCompare>(COMPARE)),
  }) satisfies Shape<ViewData>;

/** `v` as a ViewData, or Invalid naming the first thing wrong (paths from "view"). */
export const checkView = (v: unknown): ViewData => record<ViewData>(viewShape(new Set()))(v, 'view');
