// Unit tests of the webview's view models (no browser): the stable layout, ViewData caps and
// edge-latency history, formatting of times and bytes, and validation of host messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StableLayout } from '../../webview/src/graph/layout.ts';
import { distanceTo, edgeCurve, meets, pathData, waitForCurve, wakeCurve, NODE_W, SECTION_W } from '../../webview/src/graph/curves.ts';
import { deviation, EdgeAggregator, type AggregatedEdge } from '../../webview/src/graph/aggregate.ts';
import { formatBytes, formatCount, formatNs } from '../../webview/src/format.ts';
import { flameTree } from '../../webview/src/flame.ts';
import { parseHostMessage, parseWebviewMessage } from '../../shared/messages.ts';
import { EDGE_POINTS_MAX, Model } from '../src/model/model.ts';
import { buildViewData, downsample } from '../src/report/viewdata.ts';
import { syntheticView } from '../src/report/synthetic.ts';
import { SymbolTable } from '../src/symbols/symbols.ts';
import type { EdgeStat, NodeDef, NodeStat } from '../../shared/protocol.ts';
import type { ViewFrame, ViewNode } from '../../shared/view.ts';
import { exeAddr, fullSnapshot, hello, snapshot } from './frames.ts';

test('times: ns, µs, ms, s with 3 significant digits', () => {
  assert.equal(formatNs(0), '0 ns');
  assert.equal(formatNs(850), '850 ns');
  assert.equal(formatNs(999.4), '999 ns');
  assert.equal(formatNs(999.6), '1.00 µs');
  assert.equal(formatNs(1234), '1.23 µs');
  assert.equal(formatNs(45_600_000), '45.6 ms');
  assert.equal(formatNs(999_700_000), '1.00 s');
  assert.equal(formatNs(2e9), '2.00 s');
  assert.equal(formatNs(12_345e9), '12345 s');
  assert.equal(formatNs(-1500), '-1.50 µs');
  assert.equal(formatNs(NaN), '—');
});

test('bytes: B, KiB, MiB, GiB; counts', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.00 KiB');
  assert.equal(formatBytes(3840), '3.75 KiB');
  assert.equal(formatBytes(1024 * 1024 - 1), '1.00 MiB');
  assert.equal(formatBytes(2.5 * 2 ** 30), '2.50 GiB');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(1234), '1,234');
  assert.equal(formatCount(12_345), '12.3 k');
  assert.equal(formatCount(4_567_000), '4.57 M');
});

test('layout: nodes arriving in batches never move the ones placed before', () => {
  const L = new StableLayout();
  // a chain 1→2→3 with a branch 2→4, then a later node 5 fed by 1, and a back edge 3→1
  const edges = [
    { from: 1, to: 2 },
    { from: 2, to: 3 },
    { from: 2, to: 4 },
    { from: 3, to: 1 },
  ];
  assert.deepEqual(L.add([1, 2], edges), [1, 2]);
  const before = new Map([1, 2].map((id) => [id, L.get(id)!]));
  L.add([1, 2, 3, 4], edges);
  const more = [...edges, { from: 1, to: 5 }, { from: 6, to: 2 }];
  L.add([1, 2, 3, 4, 5, 6], more);
  for (const [id, p] of before) assert.deepEqual(L.get(id), p, `node ${id} moved`);
  assert.equal(L.get(1)!.layer, 0);
  assert.equal(L.get(2)!.layer, 1);
  assert.equal(L.get(3)!.layer, 2);
  assert.equal(L.get(4)!.layer, 2);
  assert.equal(L.get(5)!.layer, 1); // next to 2, after it (arrival order)
  assert.equal(L.get(5)!.row, 1);
  assert.equal(L.get(6)!.layer, 0); // an entry
  assert.notDeepEqual(L.get(3), L.get(4)); // no two nodes on one spot
});

test('layout: a batch lays a path out left to right; a cycle starts at its first arrival', () => {
  const L = new StableLayout();
  const chain = Array.from({ length: 10 }, (_, i) => ({ from: i + 1, to: i + 2 }));
  L.add(Array.from({ length: 11 }, (_, i) => 11 - i), chain); // arrival in reverse order
  for (let id = 1; id <= 11; id++) assert.equal(L.get(id)!.layer, id - 1);
  const C = new StableLayout();
  C.add([7, 8, 9], [
    { from: 7, to: 8 },
    { from: 8, to: 9 },
    { from: 9, to: 7 },
  ]);
  assert.deepEqual([7, 8, 9].map((id) => C.get(id)!.layer), [0, 1, 2]);
});

test('layout: every non-entry node sits one layer right of a predecessor (large random DAG in batches)', () => {
  const v = syntheticView(400, 1200, 0);
  const forward = v.edges.filter((e) => e.from < e.to);
  const L = new StableLayout();
  const seen = new Map<number, { layer: number; row: number }>();
  for (let n = 50; n <= 400; n += 50) {
    L.add(
      v.nodes.slice(0, n).map((x) => x.id),
      forward.filter((e) => e.from <= n && e.to <= n),
    );
    for (const [id, p] of seen) assert.deepEqual({ layer: L.get(id)!.layer, row: L.get(id)!.row }, p);
    for (const x of v.nodes.slice(0, n)) seen.set(x.id, { layer: L.get(x.id)!.layer, row: L.get(x.id)!.row });
  }
  for (const x of v.nodes) {
    const layer = L.get(x.id)!.layer;
    if (layer === 0) continue;
    assert.ok(forward.some((e) => e.to === x.id && L.get(e.from)!.layer === layer - 1), `node ${x.id} at layer ${layer} has no predecessor one layer left`);
  }
});

test('edge curves: the path drawn, its box and the distance the pointer is measured by agree', () => {
  const a = { x: 0, y: 0 };
  const b = { x: 240, y: 128 };
  const fwd = edgeCurve(a, b, false);
  // forward: from the right side of a to the left side of b
  assert.equal(pathData(fwd), `M${NODE_W / 2},0 C120,0 120,128 ${240 - NODE_W / 2},128`);
  assert.deepEqual([fwd.minX, fwd.minY, fwd.maxX, fwd.maxY], [90, 0, 150, 128]);
  assert.equal(distanceTo(fwd, fwd.x0, fwd.y0), 0);
  assert.equal(distanceTo(fwd, fwd.x3, fwd.y3), 0);
  assert.ok(distanceTo(fwd, 120, 64) < 0.5, 'the middle of a symmetric S lies on it');
  // 20 units right of the middle: the distance along the normal there (tangent (45, 192))
  assert.ok(Math.abs(distanceTo(fwd, 120 + 20, 64) - (20 * 192) / Math.hypot(45, 192)) < 0.5);
  assert.ok(meets(fwd, 100, 60, 101, 61, 0));
  assert.ok(!meets(fwd, 200, 0, 300, 10, 5));
  // back edges dip below both boxes; a self edge loops above its box
  const back = edgeCurve(b, a, false);
  assert.ok(back.maxY > 128 + 20 && back.y0 === 128 + 20 && back.y3 === 20);
  const self = edgeCurve(a, a, true);
  assert.ok(self.minY < -20 && self.maxY === -20);
});

function bigModel(nodes: number, edgesPerNode: number): Model {
  const m = new Model();
  m.apply(hello());
  const defs: NodeDef[] = [];
  const stats: NodeStat[] = [];
  const edges: EdgeStat[] = [];
  for (let id = 1; id <= nodes; id++) {
    defs.push({ id, kind: 9, frames: [exeAddr(0x1000 + id)] });
    stats.push({ id, count: id, waitTotalNs: id * 1000, waitMaxNs: id * 10, fdDelta: 0 });
    for (let k = 1; k <= edgesPerNode; k++) {
      const to = ((id + k - 1) % nodes) + 1;
      edges.push({ from: id, to, count: id + k, totalNs: (id + k) * 100, ewmaNs: 100, maxNs: 200 });
    }
  }
  m.apply(snapshot({ nodeDefs: defs, nodeStats: stats, edgeStats: edges }));
  return m;
}

test('edge aggregation: ends in one cell merge; the hottest colour and the summed count show; regrouped only when the view or the edge set changes', () => {
  const layout = new StableLayout();
  // 0 → 1,2,3 and a loop on 0: at fit zoom the edges from 0 end a few pixels apart; zoomed in, not
  layout.add([0, 1, 2, 3], [
    { from: 0, to: 1 },
    { from: 0, to: 2 },
    { from: 0, to: 3 },
  ]);
  const edge = (from: number, to: number, bucket: number, count: number): AggregatedEdge => ({
    curve: edgeCurve(layout.get(from)!, layout.get(to)!, from === to),
    bucket,
    width: 1,
    dim: false,
    count,
  });
  const edges = [edge(0, 1, 3, 10), edge(0, 2, 20, 5), edge(0, 3, 7, 1), edge(0, 0, 1, 2)];
  const agg = new EdgeAggregator<AggregatedEdge>();
  const far = { k: 0.02, x: 0, y: 30, w: 800, h: 600, dpr: 1 };
  assert.equal(agg.prepare(edges, far, 0), true);
  const widthOf = (count: number): number => count / 2;
  agg.relook(widthOf);
  // Every edge is in exactly one aggregate; those from 0 are merged (ends within the cell).
  assert.equal(agg.aggregates.reduce((n, a) => n + a.members.length, 0), edges.length);
  const from0 = agg.aggregates.find((a) => a.members.includes(edges[0]!))!;
  assert.ok(from0.members.includes(edges[1]!) && from0.members.includes(edges[2]!), 'edges from 0 merged');
  assert.ok(!from0.members.includes(edges[3]!), 'a loop does not merge with forward edges');
  assert.equal(from0.bucket, 20, 'the hottest member decides the colour');
  assert.equal(from0.hottest, edges[1]);
  assert.equal(from0.count, 16, 'counts sum');
  assert.equal(from0.width, 8, 'width of the summed count');
  // A figure update: no regrouping, only the look follows.
  edges[2]!.bucket = 23;
  edges[1]!.count = 9;
  assert.equal(agg.prepare(edges, far, 0), false);
  assert.equal(agg.builds, 1);
  assert.equal(agg.relook(widthOf), true);
  assert.equal(from0.bucket, 23);
  assert.equal(from0.count, 20);
  assert.equal(agg.relook(widthOf), false, 'nothing changed: no look changes');
  // Dimmed members do not decide the colour while an undimmed one is there.
  edges[2]!.dim = true;
  agg.relook(widthOf);
  assert.equal(from0.bucket, 20, 'the dimmed 23 no longer decides');
  assert.equal(from0.dim, false);
  for (const e of edges) e.dim = true;
  agg.relook(widthOf);
  assert.equal(from0.dim, true);
  for (const e of edges) e.dim = false;
  // Pan, zoom or a new edge set: regrouped.
  assert.equal(agg.prepare(edges, { ...far, x: 50 }, 0), true);
  assert.equal(agg.prepare(edges, { ...far, x: 50 }, 1), true);
  assert.equal(agg.builds, 3);
  // Zoomed in, the ends are far apart: no merging.
  agg.prepare(edges, { ...far, k: 1, y: 100 }, 1);
  assert.equal(agg.aggregates.length, edges.length);
  // A straight line is drawn only where the curve strays under half a device pixel from it.
  const c = edges[1]!.curve;
  assert.ok(deviation(c) > 1);
  agg.prepare(edges, { ...far, k: 1, y: 100 }, 2);
  assert.ok(agg.aggregates.every((a) => !a.straight || deviation(a.curve) < 0.5));
  agg.prepare(edges, { ...far, k: 0.4 / deviation(c), y: 100 }, 2);
  assert.ok(agg.aggregates.find((a) => a.members.includes(edges[1]!))!.straight);
});

test('ViewData caps: the nodes with the most wait time and the edges among them; the rest counted as hidden', () => {
  const m = bigModel(1500, 3);
  const v = buildViewData(m, new SymbolTable(), { source: 'test' });
  assert.equal(v.nodes.length, 1000);
  assert.equal(v.health.hiddenNodes, 500);
  assert.ok(v.nodes.every((n) => n.id > 500), 'kept the 1000 with the most wait time');
  assert.deepEqual(
    v.nodes.map((n) => n.id),
    [...v.nodes.map((n) => n.id)].sort((a, b) => a - b),
    'in arrival (id) order',
  );
  const ids = new Set(v.nodes.map((n) => n.id));
  assert.ok(v.edges.length <= 3000);
  assert.ok(v.edges.every((e) => ids.has(e.from) && ids.has(e.to)));
  assert.equal(v.edges.length + v.health.hiddenEdges, 4500);
  const ok = parseHostMessage({ type: 'init', view: v });
  assert.ok(ok.ok, ok.ok ? '' : ok.error);
  const small = buildViewData(m, new SymbolTable(), { source: 'test', caps: { nodes: 10, edges: 5 } });
  assert.equal(small.nodes.length, 10);
  assert.equal(small.edges.length, 5);
  assert.equal(small.health.hiddenEdges, 4500 - 5);
});

test('history keeps per-edge points (capped) and ViewData turns them into latency per interval', () => {
  const m = new Model();
  m.apply(hello());
  m.apply(fullSnapshot()); // edge 1>1: 19 runs, 57 ms total
  m.apply(snapshot({ seq: 2, tNs: 200_000_000, edgeStats: [{ from: 1, to: 1, count: 29, totalNs: 107_000_000, ewmaNs: 4_000_000, maxNs: 6_000_000 }] }));
  m.apply(snapshot({ seq: 3, tNs: 300_000_000 }));
  const v = buildViewData(m, new SymbolTable(), { source: 'test' });
  assert.equal(v.history.tNs.length, 3);
  const s = v.history.edgeLatency.find((x) => x.edgeId === '1>1');
  assert.ok(s);
  assert.deepEqual(s.avgNs, [3_000_000, 5_000_000, null]);
  const many = Array.from({ length: 100 }, (_, i) => ({ from: i, to: i + 1, count: 1, totalNs: i, ewmaNs: i, maxNs: i }));
  m.apply(snapshot({ seq: 4, tNs: 400_000_000, edgeStats: many }));
  const pts = m.latest!.edges;
  assert.equal(pts.length, EDGE_POINTS_MAX);
  assert.equal(pts[0]!.totalNs, 99); // the largest kept
  assert.deepEqual(downsample(10, 4), [0, 3, 6, 9]);
  assert.deepEqual(downsample(3, 4), [0, 1, 2]);
});

test('parseHostMessage accepts a view and rejects malformed data with a message naming the field', () => {
  const v = syntheticView(5, 6, 0);
  const good = parseHostMessage({ type: 'update', view: v });
  assert.ok(good.ok);
  const bad = (data: unknown, re: RegExp): void => {
    const r = parseHostMessage(data);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error, re);
  };
  bad(null, /message: expected an object, got null/);
  bad({ type: 'paint' }, /message.type: expected 'init', 'update' or 'error', got "paint"/);
  bad({ type: 'init' }, /view: expected an object, got undefined/);
  bad({ type: 'init', view: { ...v, version: 2 } }, /view.version: expected 1, got 2/);
  bad({ type: 'init', view: { ...v, nodes: [{ ...v.nodes[0], count: '3' }] } }, /view.nodes\[0\].count: expected a finite number, got string/);
  bad({ type: 'init', view: { ...v, edges: [{ ...v.edges[0], id: 'x' }] } }, /view.edges\[0\].id: expected/);
  bad({ type: 'init', view: { ...v, edges: [{ id: '1>99', from: 1, to: 99, count: 1, avgNs: 1, ewmaNs: 1, maxNs: 1, totalNs: 1 }] } }, /refers to a node that is not in view.nodes/);
  bad({ type: 'init', view: { ...v, history: { ...v.history, rssBytes: [1] } } }, /view.history.rssBytes: expected \d+ values/);
  const end = { status: 'killed by SIGKILL', text: 'killed by the profiler with SIGKILL: …', stopped: true, killed: true };
  assert.ok(parseHostMessage({ type: 'init', view: { ...v, end } }).ok);
  bad({ type: 'init', view: { ...v, end: undefined } }, /view.end: expected an object, got undefined/);
  bad({ type: 'init', view: { ...v, end: { ...end, killed: 'yes' } } }, /view.end.killed: expected a boolean, got string/);
  bad({ type: 'error' }, /message.message: expected a string/);
  assert.deepEqual(parseHostMessage({ type: 'error', message: 'gone' }), { ok: true, value: { type: 'error', message: 'gone' } });
  assert.deepEqual(parseWebviewMessage({ type: 'reveal', file: '/a.c', line: 3 }), { ok: true, value: { type: 'reveal', file: '/a.c', line: 3 } });
  assert.equal(parseWebviewMessage({ type: 'reveal', file: '/a.c' }).ok, false);
});

test('wait flame: chains merge by function, file and line from the outermost frame; a leaf per kind; sums of wait and count', () => {
  const fr = (fn: string, line: number, own = true): ViewFrame => ({ function: fn, file: '/src/a.c', line, own });
  const node = (id: number, kind: string, chain: ViewFrame[], waitTotalNs: number, count: number): ViewNode => ({
    id,
    kind,
    label: chain[0]?.function ?? '??',
    file: chain[0]?.file ?? '??',
    line: chain[0]?.line ?? 0,
    chain,
    count,
    waitAvgNs: waitTotalNs / count,
    waitMaxNs: waitTotalNs,
    waitTotalNs,
  });
  const root = flameTree([
    node(1, 'mutex', [fr('lock', 5), fr('work', 20), fr('main', 40)], 300, 3),
    node(2, 'io', [fr('read', 7, false), fr('work', 20), fr('main', 40)], 100, 1),
    node(3, 'mutex', [fr('lock', 5), fr('work', 20), fr('main', 40)], 50, 5), // same chain and kind as 1: merged
    node(4, 'sleep', [fr('work', 21), fr('main', 40)], 50, 2), // another line of work: a frame of its own
    node(5, 'io', [fr('idle', 9)], 0, 0), // no wait ended: left out
  ]);
  assert.equal(root.name, 'all waits');
  assert.equal(root.value, 500);
  assert.equal(root.count, 11);
  const main = root.children;
  assert.deepEqual(main.map((c) => [c.name, c.value]), [['main', 500]]);
  const work = main[0]!.children;
  assert.deepEqual(work.map((c) => [c.name, c.line, c.value, c.count]), [['work', 20, 450, 9], ['work', 21, 50, 2]]);
  const inner = work[0]!.children;
  assert.deepEqual(inner.map((c) => [c.name, c.own, c.value]), [['lock', true, 350], ['read', false, 100]]);
  const leaf = inner[0]!.children;
  assert.deepEqual(leaf.map((c) => [c.name, c.kind, c.file, c.line, c.value, c.count, c.depth]), [['mutex', 'mutex', '/src/a.c', 5, 350, 8, 4]]);
  assert.equal(leaf[0]!.children.length, 0);
  assert.equal(work[1]!.children[0]!.kind, 'sleep');
  assert.equal(flameTree([]).value, 0);
});

test('wake curves: apart from the run edge between the same points, and from the wake the other way', () => {
  const a = { x: 0, y: 0 };
  const b = { x: 240, y: 64 };
  const c = { x: 0, y: 128 };
  const run = edgeCurve(a, b, false);
  const over = wakeCurve(a, b, false);
  // the run leaves a's right side; the wake leaves its top and arcs over both boxes into b's top
  assert.deepEqual([over.x0, over.y0, over.x3, over.y3], [0, -20, 240, 44]);
  assert.ok(over.minY < Math.min(run.minY, -20), 'above both boxes');
  assert.ok(wakeCurve(b, a, false).minY < over.minY, 'the wake back reaches further');
  // within a layer: a bulge left of the boxes, further out going up
  const down = wakeCurve(a, c, false);
  assert.ok(down.maxX <= -NODE_W / 2 && wakeCurve(c, a, false).minX < down.minX);
  // a point woken by a thread that left it: a loop on its left side, within its row
  const self = wakeCurve(a, a, true);
  assert.ok(self.maxX <= -NODE_W / 2 && self.minY > -44 && self.maxY < 44, JSON.stringify(self));
});

test('wait-for curves: from the right side of a lock point to the left side of a critical section a layer right', () => {
  const c = waitForCurve({ x: 0, y: 0 }, { x: 240, y: 128 });
  assert.deepEqual([c.x0, c.y0, c.x3, c.y3], [NODE_W / 2, 0, 240 - SECTION_W / 2, 128]);
  assert.ok(c.minX >= NODE_W / 2 && c.maxX <= 240 - SECTION_W / 2, 'between the two boxes');
});
