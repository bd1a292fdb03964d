// Tests of the bounded model (extension/src/model/model.ts): merge semantics and caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Model } from '../src/model/model.ts';
import { Ring } from '../src/model/ring.ts';
import { exit, exeAddr, fullSnapshot, hello, snapshot, stacks, RESOURCES } from './frames.ts';

test('snapshot records replace earlier cumulative values of the same key; others stay', () => {
  const m = new Model();
  m.apply(hello());
  m.apply(fullSnapshot());
  m.apply(
    snapshot({
      seq: 2,
      tNs: 200_000_000,
      nodeStats: [{ id: 1, count: 40, waitTotalNs: 600_000_000, waitMaxNs: 17_000_000, fdDelta: 0 }],
      edgeStats: [
        { from: 1, to: 1, count: 39, totalNs: 117_000_000, ewmaNs: 3_000_000, maxNs: 3_600_000 },
        { from: 1, to: 2, count: 1, totalNs: 1_000_000, ewmaNs: 1_000_000, maxNs: 1_000_000 },
      ],
      threads: [{ id: 5, spawnSite: '0x0', allocatedBytes: 3840, usedBytes: 1000, chunksLinked: 0, state: 1, kind: 0, name: 'x' }],
      resources: { ...RESOURCES, threads: 1 },
    }),
  );
  assert.equal(m.nodes.size, 2);
  assert.equal(m.nodes.get(1)!.stat!.count, 40); // replaced, not added
  assert.equal(m.nodes.get(1)!.def!.frames.length, 2); // the definition stays
  assert.equal(m.nodes.get(2)!.stat!.count, 5); // untouched by the delta
  assert.equal(m.edges.size, 2);
  assert.equal(m.edges.get('1>1')!.count, 39);
  assert.equal(m.spawnSites.get(exeAddr(0x1500))!.threadsTotal, 10);
  assert.deepEqual(
    m.threads.map((t) => t.id),
    [5],
  );
  assert.equal(m.history.length, 2);
  assert.equal(m.latest!.resources.threads, 1);
  assert.equal(m.seqGaps, 0);
  m.apply(snapshot({ seq: 5, tNs: 300_000_000, dropped: 2 }));
  assert.equal(m.threads.length, 1); // a snapshot without the threads section keeps the rows
  m.apply(snapshot({ seq: 6, tNs: 400_000_000, resources: { ...RESOURCES, threads: 0 } }));
  assert.equal(m.threads.length, 0); // no live thread: no rows
  assert.equal(m.seqGaps, 1);
  m.apply(exit());
  assert.equal(m.exit!.status, 3);
});

test('a HELLO starts the model again from scratch (reconnection), keeping decode errors', () => {
  const m = new Model();
  m.apply(hello());
  m.apply(fullSnapshot());
  m.addError({ offset: 3, reason: 'x' });
  m.apply(hello({ pid: 7 }));
  assert.equal(m.hello!.pid, 7);
  assert.equal(m.nodes.size, 0);
  assert.equal(m.edges.size, 0);
  assert.equal(m.history.length, 0);
  assert.equal(m.connections, 2);
  assert.equal(m.errors.length, 1);
});

test('a STACKS measurement is the latest and belongs to the snapshot it follows; later snapshots hold it until the next', () => {
  const m = new Model();
  m.apply(hello({ version: 3 }));
  m.apply(snapshot({ seq: 1 }));
  const latest = () => m.stackMemory; // (read afresh: an assertion would narrow the property for good)
  assert.equal(latest(), undefined);
  m.apply(stacks({ seq: 1, residentBytes: 100 }));
  m.apply(snapshot({ seq: 2, tNs: 200_000_000 }));
  m.apply(snapshot({ seq: 3, tNs: 300_000_000 }));
  m.apply(stacks({ seq: 3, residentBytes: 300 }));
  m.apply(stacks({ seq: 1, residentBytes: 999 })); // a stray one, for no snapshot kept: the latest, on no point
  assert.deepEqual(
    m.history.toArray().map((p) => p.stacks?.residentBytes),
    [100, 100, 300],
  );
  assert.equal(latest()?.residentBytes, 999);
  m.apply(hello({ version: 3, pid: 8 }));
  assert.equal(latest(), undefined, 'a new connection measures again');
});

test('caps bound every table and count what was dropped', () => {
  const m = new Model({ nodes: 3, edges: 2, samples: 1, stalls: 1, history: 2, errors: 1 });
  m.apply(hello());
  const defs = [1, 2, 3, 4, 5].map((id) => ({ id, kind: 1 as const, frames: [exeAddr(id)] }));
  const edges = [1, 2, 3].map((to) => ({ from: 1, to, count: 1, totalNs: 1, ewmaNs: 1, maxNs: 1 }));
  const stall = (id: number) => ({ id, syscall: 0, count: 1, totalNs: 1, maxNs: 1, pc: '0x1', callsite: '0x0', target: '0x0' });
  for (let seq = 1; seq <= 4; seq++) {
    m.apply(
      snapshot({
        seq,
        tNs: seq * 1000,
        nodeDefs: seq === 1 ? defs : [],
        nodeStats: [{ id: 4, count: seq, waitTotalNs: 0, waitMaxNs: 0, fdDelta: 0 }],
        edgeStats: edges,
        samples: [
          { id: 1, count: seq, runMaxNs: 1, frames: ['0x1'] },
          { id: 2, count: 1, runMaxNs: 1, frames: ['0x1'] },
        ],
        stalls: [stall(1), stall(2)],
      }),
    );
  }
  m.addError({ offset: 0, reason: 'a' });
  m.addError({ offset: 1, reason: 'b' });
  assert.equal(m.nodes.size, 3);
  assert.deepEqual([...m.nodes.keys()], [1, 2, 3]);
  assert.equal(m.dropped.nodes, 2 + 4); // defs 4 and 5, then stats of node 4 in each snapshot
  assert.equal(m.edges.size, 2);
  assert.equal(m.dropped.edges, 4);
  assert.equal(m.samples.get(1)!.count, 4); // an existing key is still updated at the cap
  assert.equal(m.dropped.samples, 4);
  assert.equal(m.dropped.stalls, 4);
  assert.deepEqual(
    m.history.toArray().map((p) => p.seq),
    [3, 4],
  );
  assert.equal(m.dropped.history, 2);
  assert.equal(m.errors.length, 1);
  assert.equal(m.dropped.errors, 1);
});

test('default caps are the documented ones', () => {
  const m = new Model();
  assert.equal(m.caps.nodes, 10_000);
  assert.equal(m.caps.edges, 50_000);
  assert.equal(m.caps.samples, 5_000);
  assert.equal(m.caps.stalls, 1_000);
  assert.equal(m.caps.history, 10_000);
});

test('ring buffer: replaceLast replaces the newest item, also once it wrapped', () => {
  const r = new Ring<number>(2);
  r.replaceLast(9);
  assert.deepEqual(r.toArray(), []);
  r.push(1);
  r.push(2);
  r.push(3);
  r.replaceLast(30);
  assert.deepEqual(r.toArray(), [2, 30]);
  assert.equal(r.last(), 30);
});

test('ring buffer keeps the newest items in order', () => {
  const r = new Ring<number>(3);
  for (let i = 1; i <= 7; i++) r.push(i);
  assert.deepEqual(r.toArray(), [5, 6, 7]);
  assert.equal(r.last(), 7);
  assert.equal(r.overwritten, 4);
  assert.throws(() => new Ring(0), /positive integer/);
});

test('addresses(): pcs and return addresses the model refers to', () => {
  const m = new Model();
  m.apply(hello());
  m.apply(fullSnapshot());
  const { pcs, returns } = m.addresses();
  assert.ok(pcs.has(exeAddr(0x1700))); // sample frames[0]
  assert.ok(returns.has(exeAddr(0x1800))); // sample caller
  assert.ok(pcs.has('0x7ffff7c12345') && pcs.has('0x7ffff7c10000')); // stall pc and target
  assert.ok(returns.has(exeAddr(0x1900)) && returns.has(exeAddr(0x1234)) && returns.has(exeAddr(0x1600)));
  assert.ok(!pcs.has('0x0') && !returns.has('0x0'));
});
