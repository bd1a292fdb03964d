// Synthetic ViewData of a given size, for the webview benchmark and tests: a layered graph with
// forward and some backward edges, figures that change with `step` (a live update).
import { viewWorker, type ViewData, type ViewEdge, type ViewNode } from '../../../shared/view.ts';
import { recordedText } from '../analysis/sync.ts';

/** A small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticView(nodeCount: number, edgeCount: number, step: number): ViewData {
  const shape = rng(42);
  const live = rng(1000 + step);
  const nodes: ViewNode[] = [];
  for (let id = 1; id <= nodeCount; id++) {
    const count = 1 + Math.floor(shape() * 5000) + step * 10;
    const avg = Math.floor(1000 + shape() * 5e6 * (1 + 0.2 * live()));
    nodes.push({
      id,
      kind: ['io', 'sleep', 'mutex', 'condvar'][id % 4]!,
      label: `handler_${id}`,
      file: `/src/server/module_${id % 37}.c`,
      line: 10 + (id % 400),
      chain: [
        { function: `handler_${id}`, file: `/src/server/module_${id % 37}.c`, line: 10 + (id % 400), own: true },
        { function: 'serve', file: '/src/server/main.c', line: 88, own: true },
      ],
      count,
      waitAvgNs: avg,
      waitMaxNs: avg * 3,
      waitTotalNs: avg * count,
    });
  }
  const edges = new Map<string, ViewEdge>();
  const pick = rng(7);
  while (edges.size < edgeCount) {
    const from = 1 + Math.floor(pick() * nodeCount);
    const back = pick() < 0.1;
    const to = back ? Math.max(1, from - 1 - Math.floor(pick() * 30)) : Math.min(nodeCount, from + 1 + Math.floor(pick() * 40));
    const id = `${from}>${to}`;
    if (edges.has(id)) continue;
    const count = 1 + Math.floor(pick() * 20000) + step * 5;
    const avgNs = Math.floor(500 + pick() * 2e7 * (1 + 0.3 * live()));
    edges.set(id, { id, from, to, count, avgNs, ewmaNs: avgNs, maxNs: avgNs * 4, totalNs: avgNs * count });
  }
  const points = 300 + step;
  const tNs = Array.from({ length: points }, (_, i) => i * 100_000_000);
  const series = (f: (i: number) => number): number[] => tNs.map((_, i) => Math.round(f(i)));
  const top = [...edges.values()].slice(0, 8);
  return {
    version: 1,
    source: 'synthetic',
    program: { executable: '/bench/server', pid: 1, args: ['/bench/server'], stackMode: 'split', diskBackend: 'io_uring', scheduler: 'fifo', intervalMs: 100 },
    durationNs: tNs[tNs.length - 1]!,
    snapshots: points,
    exit: null,
    end: null,
    nodes,
    edges: [...edges.values()],
    history: {
      tNs,
      threads: series((i) => 1000 + 50 * Math.sin(i / 10)),
      runnable: series((i) => 20 + 10 * Math.sin(i / 7)),
      blockedIo: series((i) => 900 + 40 * Math.sin(i / 9)),
      blockedDisk: series(() => 10),
      blockedSync: series(() => 30),
      sleeping: series(() => 40),
      rssBytes: series((i) => 2e8 + i * 1e5),
      openFds: series((i) => 1000 + i),
      fdLimit: series(() => 20000),
      stackAllocatedBytes: series((i) => 4e6 + i * 1e3),
      droppedTotal: series((i) => Math.floor(i / 50)),
      // measured from the fifth snapshot on, as a runtime does about once a second
      stackReservedBytes: series((i) => 1.1e9 + i * 1e5).map((v, i) => (i < 5 ? null : v)),
      stackResidentBytes: series((i) => 1.2e7 + i * 2e3).map((v, i) => (i < 5 ? null : v)),
      stackWasteBytes: series((i) => 4e5 + 1e5 * Math.sin(i / 8)).map((v, i) => (i < 5 ? null : v)),
      edgeLatency: top.map((e, k) => ({ edgeId: e.id, label: `handler_${e.from} → handler_${e.to}`, avgNs: series((i) => 1e6 * (1 + k) + 2e5 * Math.sin(i / 5)) })),
    },
    stacks: {
      allocatedBytes: 4e6,
      usedBytes: 3e6,
      untouchedBytes: 1e6,
      maxThreadUsedBytes: 9000,
      chunksLinked: 1200,
      reservedBytes: 1.1e9 + (points - 1) * 1e5,
      residentBytes: 1.2e7 + (points - 1) * 2e3,
      wasteBytes: 4e5,
      measured: `resident and reserved: mincore(2) over every stack mapping (1,200 mappings) by the runtime's telemetry thread at t=${(points - 1) / 10} s; waste: resident bytes no live thread holds (free first chunks and chunks kept with them, pooled chunks)`,
      sites: [{ site: '0x401000', function: 'main', file: '/src/server/main.c', line: 120, threadsLive: 1000, threadsTotal: 5000, firstChunkBytes: 3840, splitFrameMax: 2048, chunksLinked: 1200, allocatedBytes: 4e6, usedBytesMax: 9000, usedBytesTotal: 3e6, untouchedBytes: 1e6 }],
      threads: [],
      hotSplits: [
        {
          callsite: '0x401200',
          function: 'serve',
          file: '/src/server/main.c',
          line: 88,
          count: 1000 + step,
          frameBytes: 1_059_864,
          demandedBy: 'serve',
          cause: 'linker',
          callees: [{ name: 'snprintf', origin: 'library', library: 'libc' }],
          label: 'serve → snprintf (libc)',
          reason: '1.0 MiB demanded by the linker for a call into code without split stacks',
          mapped: 2,
        },
      ],
    },
    workers: [0, 1].map((id) =>
      viewWorker({ id, runnable: 10 + id, threads: 500, busyNs: (3 + id) * 1e9 + step * 1e8, parkedNs: 1e9, switches: 1e6 + step, steals: 100 * id, migrations: 50 + id }),
    ),
    // (no contention or wakes: the benchmark's figures stay comparable with those measured before them)
    locks: [],
    wakes: [],
    syncRecorded: true,
    syncMeasured: recordedText(points),
    suggestions: [],
    health: { decodeErrors: 0, errors: [], droppedSnapshots: 0, runtimeNodesDropped: 0, model: {}, truncated: null, hiddenNodes: 0, hiddenEdges: 0, hiddenLocks: 0, hiddenWakes: 0, hiddenPoints: 0 },
  };
}
