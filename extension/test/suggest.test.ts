// Tests of the suggestion rules (extension/src/analysis/suggest.ts) on synthetic models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suggest, suggestedChunk } from '../src/analysis/suggest.ts';
import { Model } from '../src/model/model.ts';
import { SymbolTable } from '../src/symbols/symbols.ts';
import type { SnapshotFrame, SymbolEntry } from '../src/protocol/types.ts';
import { hello, snapshot } from './frames.ts';

// Symbols keyed by looked-up address: pcs as is, return addresses minus 1.
const SYMS: SymbolEntry[] = [
  { addr: '0x1000', own: true, line: 14, function: 'spin', file: '/p/hog.c' }, // pc in own code
  { addr: '0x1fff', own: true, line: 30, function: 'main', file: '/p/hog.c' }, // ret 0x2000
  { addr: '0x3000', own: false, line: 0, function: 'memset', file: '??' }, // pc in libc
  { addr: '0x3fff', own: true, line: 9, function: 'fill', file: '/p/hog.c' }, // ret 0x4000
  { addr: '0x5000', own: false, line: 0, function: 'legacy_lookup', file: '??' }, // stall target
  { addr: '0x5100', own: false, line: 0, function: '__poll', file: '??' }, // stall pc
  { addr: '0x5fff', own: true, line: 41, function: 'handler', file: '/p/srv.c' }, // ret 0x6000
  { addr: '0x6fff', own: true, line: 50, function: 'parse', file: '/p/srv.c' }, // ret 0x7000 (hot split)
  { addr: '0x7fff', own: false, line: 3, function: 'cap__x', file: '/r/runtime/src/x.c' }, // ret 0x8000
  { addr: '0x8fff', own: true, line: 60, function: 'start', file: '/p/srv.c' }, // ret 0x9000 (spawn)
];

function model(s: Partial<SnapshotFrame>): { m: Model; t: SymbolTable } {
  const m = new Model();
  m.apply(hello({ quantumUs: 10_000 }));
  m.apply(snapshot(s));
  return { m, t: SymbolTable.fromEntries(SYMS) };
}

test('yield: a sampled location in own code, merged per place, with the longest run', () => {
  const { m, t } = model({
    samples: [
      { id: 1, count: 3, runMaxNs: 42_000_000, frames: ['0x1000', '0x2000'] },
      { id: 2, count: 2, runMaxNs: 55_500_000, frames: ['0x1000', '0x2000'] },
      { id: 3, count: 1, runMaxNs: 12_000_000, frames: ['0x3000', '0x4000'] }, // memset called from fill
      { id: 4, count: 0, runMaxNs: 99_000_000, frames: ['0x1000'] }, // count 0: nothing
      { id: 5, count: 4, runMaxNs: 99_000_000, frames: ['0x5000'] }, // no own frame: nothing
    ],
  });
  const y = suggest(m, t).filter((s) => s.kind === 'yield');
  assert.deepEqual(y, [
    {
      kind: 'yield',
      function: 'spin',
      file: '/p/hog.c',
      line: 14,
      message: 'thread ran 55.5 ms without blocking at spin (p/hog.c:14): add a yield point in this loop',
      evidence: { samples: 5, runMaxMs: 55.5, quantumMs: 10 },
    },
    {
      kind: 'yield',
      function: 'fill',
      file: '/p/hog.c',
      line: 9,
      message: 'thread ran 12 ms without blocking at fill (p/hog.c:9): add a yield point in this loop',
      evidence: { samples: 1, runMaxMs: 12, quantumMs: 10 },
    },
  ]);
});

test('annotate-blocking: the stall target, else the non-own function at pc; unknown stalls are skipped', () => {
  const { m, t } = model({
    stalls: [
      { id: 1, syscall: 7, count: 3, totalNs: 90_000_000, maxNs: 40_000_000, pc: '0x5100', callsite: '0x6000', target: '0x5000' },
      { id: 2, syscall: 7, count: 2, totalNs: 50_000_000, maxNs: 30_000_000, pc: '0x5100', callsite: '0x6000', target: '0x0' },
      { id: 3, syscall: 7, count: 9, totalNs: 900_000_000, maxNs: 300_000_000, pc: '0x5100', callsite: '0x0', target: '0x0' },
      { id: 4, syscall: 0xffffffff, count: 1, totalNs: 30_000_000, maxNs: 30_000_000, pc: '0xdead', callsite: '0x6000', target: '0xbeef' },
    ],
  });
  const b = suggest(m, t).filter((s) => s.kind === 'annotate-blocking');
  assert.deepEqual(b, [
    {
      kind: 'annotate-blocking',
      function: 'legacy_lookup',
      file: '/p/srv.c',
      line: 41,
      message: 'legacy_lookup stalled the whole scheduler 3 times, max 40 ms (called from handler (p/srv.c:41)): annotate legacy_lookup as blocking',
      evidence: { stalls: 3, maxMs: 40, totalMs: 90, calledFrom: 'handler (p/srv.c:41)' },
    },
    {
      kind: 'annotate-blocking',
      function: '__poll',
      file: '/p/srv.c',
      line: 41,
      message: '__poll stalled the whole scheduler 2 times, max 30 ms (called from handler (p/srv.c:41)): annotate __poll as blocking',
      evidence: { stalls: 2, maxMs: 30, totalMs: 50, calledFrom: 'handler (p/srv.c:41)' },
    },
  ]);
});

test('annotate-stack: hot splits from own code with at least 10 splits', () => {
  const { m, t } = model({
    hotSplits: [
      { callsite: '0x7000', count: 25, frameBytes: 65536 },
      { callsite: '0x7000', count: 25, frameBytes: 65536 },
      { callsite: '0x8000', count: 500, frameBytes: 1024 }, // runtime code: not own
      { callsite: '0x6000', count: 9, frameBytes: 100000 }, // below 10
    ],
  });
  const s = suggest(m, t).filter((x) => x.kind === 'annotate-stack');
  assert.deepEqual(s, [
    {
      kind: 'annotate-stack',
      function: 'parse',
      file: '/p/srv.c',
      line: 50,
      message: 'calls into external code at parse (p/srv.c:50) need a big chunk (65536 bytes, split 25 times): annotate its stack need',
      evidence: { splits: 25, frameBytes: 65536 },
    },
  ]);
});

test('chunk-size: sites whose own frames outgrow or underuse the first chunk get one from the largest stack used', () => {
  assert.equal(suggestedChunk(9000), 10240); // 9216 + 10% = 10137.6 → 10240
  assert.equal(suggestedChunk(100), 2560);
  assert.equal(suggestedChunk(0), 2560);
  const site = (site: string, over: object) => ({
    site,
    threadsLive: 0,
    threadsTotal: 10,
    firstChunkBytes: 3840,
    splitFrameMax: 0,
    chunksLinked: 0,
    allocatedBytes: 0,
    usedBytesMax: 1000,
    usedBytesTotal: 10000,
    wasteBytes: 0,
    ...over,
  });
  const { m, t } = model({
    spawnSites: [
      site('0x9000', { chunksLinked: 10, usedBytesMax: 9000, splitFrameMax: 9500 }), // own frames outgrow the chunk
      site('0x9100', { wasteBytes: 20000 }), // uses 1000 of 3840 bytes: oversized
      site('0x9200', { usedBytesMax: 3000, wasteBytes: 8400, chunksLinked: 9 }), // neither
      site('0x9300', { threadsTotal: 0, chunksLinked: 10 }), // no thread yet
      site('0x9400', { chunksLinked: 10, usedBytesMax: 9000, splitFrameMax: 1_060_000 }), // splits for calls into libc: not a chunk size matter
    ],
  });
  const c = suggest(m, t).filter((x) => x.kind === 'chunk-size');
  assert.deepEqual(c, [
    {
      kind: 'chunk-size',
      function: 'start',
      file: '/p/srv.c',
      line: 60,
      message: 'set the first chunk of threads spawned at start (p/srv.c:60) to 10240 bytes',
      evidence: { threads: 10, chunksLinked: 10, usedMax: 9000, wasteBytes: 0, firstChunk: 3840, suggestedBytes: 10240 },
    },
    {
      kind: 'chunk-size',
      message: 'set the first chunk of threads spawned at 0x9100 to 2560 bytes',
      evidence: { threads: 10, chunksLinked: 0, usedMax: 1000, wasteBytes: 20000, firstChunk: 3840, suggestedBytes: 2560 },
    },
  ]);
});

test('no suggestions for a quiet model', () => {
  const { m, t } = model({});
  assert.deepEqual(suggest(m, t), []);
});
