// A type test: compiled by npm run build (tsc -p extension), never run. Each validator's shape
// must name every field of its interface, so that a field added to an interface cannot go
// unvalidated. Each `@ts-expect-error` line gives a shape to an interface with one field more:
// if a shape stopped being tied to its interface, the line would compile, tsc would report the
// unused directive and the build would fail. The lines without it show the shapes fit as they are.
import type { Shape } from '../../shared/check.ts';
import { HOST_MESSAGES, WEBVIEW_MESSAGES, type Bodies, type HostMessage, type WebviewMessage } from '../../shared/messages.ts';
import type {
  DiffEdge,
  DiffPoint,
  DiffSite,
  EdgeFigures,
  EdgeSeries,
  PointFigures,
  SiteFigures,
  ViewCompare,
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
} from '../../shared/view.ts';
import {
  COMPARE,
  COMPARE_HIDDEN,
  DIFF_EDGE,
  DIFF_POINT,
  DIFF_SITE,
  EDGE,
  EDGE_FIGURES,
  END,
  EXIT,
  FRAME,
  HEALTH,
  HEALTH_ERROR,
  HOT_SPLIT,
  LOCK,
  LOCK_HOLDER,
  NODE,
  PLACE,
  POINT_FIGURES,
  PROGRAM,
  SITE,
  SITE_FIGURES,
  STACKS,
  SUGGESTION,
  THREAD,
  WAKE,
  edgeSeriesShape,
  historyShape,
  viewShape,
} from '../../shared/viewcheck.ts';

/** T with one more field, which its shape does not check. */
type More<T> = T & { readonly added: number };
/** Each message of the union M with one more field. */
type MoreEach<M> = M extends unknown ? More<M> : never;

export const fit: readonly unknown[] = [
  PROGRAM satisfies Shape<ViewProgram>,
  EXIT satisfies Shape<NonNullable<ViewData['exit']>>,
  END satisfies Shape<ViewEnd>,
  FRAME satisfies Shape<ViewFrame>,
  NODE satisfies Shape<ViewNode>,
  EDGE satisfies Shape<ViewEdge>,
  SITE satisfies Shape<ViewSite>,
  THREAD satisfies Shape<ViewThread>,
  HOT_SPLIT satisfies Shape<ViewHotSplit>,
  STACKS satisfies Shape<ViewStacks>,
  SUGGESTION satisfies Shape<ViewSuggestion>,
  HEALTH satisfies Shape<ViewHealth>,
  historyShape(1) satisfies Shape<ViewHistory>,
  edgeSeriesShape(1) satisfies Shape<EdgeSeries>,
  HEALTH_ERROR satisfies Shape<ViewHealth['errors'][number]>,
  PLACE satisfies Shape<ViewPlace>,
  LOCK_HOLDER satisfies Shape<ViewLockHolder>,
  LOCK satisfies Shape<ViewLock>,
  WAKE satisfies Shape<ViewWake>,
  POINT_FIGURES satisfies Shape<PointFigures>,
  EDGE_FIGURES satisfies Shape<EdgeFigures>,
  SITE_FIGURES satisfies Shape<SiteFigures>,
  DIFF_POINT satisfies Shape<DiffPoint>,
  DIFF_EDGE satisfies Shape<DiffEdge>,
  DIFF_SITE satisfies Shape<DiffSite>,
  COMPARE_HIDDEN satisfies Shape<ViewCompare['hidden']>,
  COMPARE satisfies Shape<ViewCompare>,
  viewShape(new Set()) satisfies Shape<ViewData>,
  HOST_MESSAGES satisfies Bodies<HostMessage>,
  WEBVIEW_MESSAGES satisfies Bodies<WebviewMessage>,
];

// @ts-expect-error a program field the shape does not check
export const program: Shape<More<ViewProgram>> = PROGRAM;
// @ts-expect-error a field the shape does not check
export const exit: Shape<More<NonNullable<ViewData['exit']>>> = EXIT;
// @ts-expect-error a field the shape does not check
export const end: Shape<More<ViewEnd>> = END;
// @ts-expect-error a field the shape does not check
export const frame: Shape<More<ViewFrame>> = FRAME;
// @ts-expect-error a field the shape does not check
export const node: Shape<More<ViewNode>> = NODE;
// @ts-expect-error a field the shape does not check
export const edge: Shape<More<ViewEdge>> = EDGE;
// @ts-expect-error an optional field counts too
export const nodeOptional: Shape<ViewNode & { readonly added?: string }> = NODE;
// @ts-expect-error a field the shape does not check
export const site: Shape<More<ViewSite>> = SITE;
// @ts-expect-error a field the shape does not check
export const thread: Shape<More<ViewThread>> = THREAD;
// @ts-expect-error a field the shape does not check
export const hotSplit: Shape<More<ViewHotSplit>> = HOT_SPLIT;
// @ts-expect-error a field the shape does not check
export const stacks: Shape<More<ViewStacks>> = STACKS;
// @ts-expect-error a field the shape does not check
export const suggestion: Shape<More<ViewSuggestion>> = SUGGESTION;
// @ts-expect-error a field the shape does not check
export const health: Shape<More<ViewHealth>> = HEALTH;
// @ts-expect-error a field the shape does not check
export const healthError: Shape<More<ViewHealth['errors'][number]>> = HEALTH_ERROR;
// @ts-expect-error a resource column (a new RESOURCE_FIELDS entry with history: true) unchecked
export const history: Shape<More<ViewHistory>> = historyShape(1);
// @ts-expect-error a field the shape does not check
export const edgeSeries: Shape<More<EdgeSeries>> = edgeSeriesShape(1);
// @ts-expect-error a field the shape does not check
export const pointFigures: Shape<More<PointFigures>> = POINT_FIGURES;
// @ts-expect-error a field the shape does not check
export const edgeFigures: Shape<More<EdgeFigures>> = EDGE_FIGURES;
// @ts-expect-error a field the shape does not check
export const siteFigures: Shape<More<SiteFigures>> = SITE_FIGURES;
// @ts-expect-error a field the shape does not check
export const diffPoint: Shape<More<DiffPoint>> = DIFF_POINT;
// @ts-expect-error a field the shape does not check
export const diffEdge: Shape<More<DiffEdge>> = DIFF_EDGE;
// @ts-expect-error a field the shape does not check
export const diffSite: Shape<More<DiffSite>> = DIFF_SITE;
// @ts-expect-error a field the shape does not check
export const compareHidden: Shape<More<ViewCompare['hidden']>> = COMPARE_HIDDEN;
// @ts-expect-error a field the shape does not check
export const compare: Shape<More<ViewCompare>> = COMPARE;
// @ts-expect-error a field the shape does not check
export const place: Shape<More<ViewPlace>> = PLACE;
// @ts-expect-error a field the shape does not check
export const lockHolder: Shape<More<ViewLockHolder>> = LOCK_HOLDER;
// @ts-expect-error a field the shape does not check
export const lock: Shape<More<ViewLock>> = LOCK;
// @ts-expect-error a field the shape does not check
export const wake: Shape<More<ViewWake>> = WAKE;
// @ts-expect-error a field the shape does not check
export const view: Shape<More<ViewData>> = viewShape(new Set());
// @ts-expect-error a host message field the table does not check
export const host: Bodies<MoreEach<HostMessage>> = HOST_MESSAGES;
// @ts-expect-error a host message type the table does not know
export const hostType: Bodies<HostMessage | { readonly type: 'added' }> = HOST_MESSAGES;
// @ts-expect-error a webview message field the table does not check
export const webview: Bodies<MoreEach<WebviewMessage>> = WEBVIEW_MESSAGES;
