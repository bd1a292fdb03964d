// Tests of the suggestion rules (extension/src/analysis/suggest.ts) on synthetic models; the yield
// suggestions group samples by the loops of extension/test/loops.c.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { suggest, suggestedChunk, type YieldSuggestion } from '../src/analysis/suggest.ts';
import { calleesText, hotSplitsOf } from '../src/analysis/splits.ts';
import { loadCParser } from '../src/source/cparser.ts';
import { Model } from '../src/model/model.ts';
import { SymbolTable } from '../src/symbols/symbols.ts';
import { decodeRecording } from '../src/protocol/decode.ts';
import { inlinedFrames, symbolsFrames } from '../src/protocol/encode.ts';
import { replay, symbolsFor } from '../src/recording/load.ts';
import type { InlinedEntry, SnapshotFrame, SymbolEntry } from '../../shared/protocol.ts';
import { MAGIC, hello, helloFrame, snapshot, snapshotFrame } from './frames.ts';
import { syscallSource } from '../src/symbols/syscalls.ts';
import { LOOPS_C, lineOf } from './loops-fixture.ts';
import { syscallFixture } from './syscalls-fixture.ts';

before(() => loadCParser());
syscallSource.path = syscallFixture(after);

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
  { addr: '0x7f0000001fff', own: false, line: 0, function: 'libcb.so.1+0x1fff', file: '??' }, // ret 0x7f0000002000: a library calling back (hot split)
];

function model(s: Partial<SnapshotFrame>): { m: Model; t: SymbolTable } {
  const m = new Model();
  m.apply(hello({ quantumUs: 10_000 }));
  m.apply(snapshot(s));
  return { m, t: SymbolTable.fromEntries(SYMS) };
}

test('yield without the source (a recording read elsewhere): one suggestion per sampled line, merged per line, with the longest run', () => {
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
  const unread = "ENOENT: no such file or directory, stat '/p/hog.c'";
  assert.deepEqual(y, [
    {
      kind: 'yield',
      function: 'spin',
      file: '/p/hog.c',
      line: 14,
      message: 'thread ran 55.5 ms without blocking at spin (p/hog.c:14): add a yield point in its loop (the source cannot be read here, so each sampled line is listed, not its loop)',
      evidence: { samples: 5, runMaxMs: 55.5, quantumMs: 10, loop: 'unknown', lines: '14', sourceError: unread },
    },
    {
      kind: 'yield',
      function: 'fill',
      file: '/p/hog.c',
      line: 9,
      message: 'thread ran 12 ms without blocking at fill (p/hog.c:9): add a yield point in its loop (the source cannot be read here, so each sampled line is listed, not its loop)',
      evidence: { samples: 1, runMaxMs: 12, quantumMs: 10, loop: 'unknown', lines: '9', sourceError: unread },
    },
  ]);
});

// ---- yield suggestions on a real source: extension/test/loops.c ------------------------------

interface At {
  readonly line: number;
  readonly fn?: string;
  readonly count?: number;
  readonly runMaxNs?: number;
  /** the frame that called it (a return address into this place) */
  readonly caller?: { readonly line: number; readonly fn: string };
}

/** The yield suggestions for samples at these places of loops.c (or of `file`). */
function yieldsAt(places: readonly At[], file = LOOPS_C): YieldSuggestion[] {
  const syms: SymbolEntry[] = [];
  const samples = places.map((p, i) => {
    const pc = 0x10000 + i * 0x100;
    syms.push({ addr: `0x${pc.toString(16)}`, own: true, line: p.line, function: p.fn ?? 'kinds', file });
    const frames = [`0x${pc.toString(16)}`];
    if (p.caller) {
      syms.push({ addr: `0x${(pc + 0x7f).toString(16)}`, own: true, line: p.caller.line, function: p.caller.fn, file });
      frames.push(`0x${(pc + 0x80).toString(16)}`);
    }
    return { id: i + 1, count: p.count ?? 1, runMaxNs: p.runMaxNs ?? 20_000_000, frames };
  });
  const m = new Model();
  m.apply(hello({ quantumUs: 10_000 }));
  m.apply(snapshot({ samples }));
  return suggest(m, SymbolTable.fromEntries(syms)).filter((s): s is YieldSuggestion => s.kind === 'yield');
}

const where = (fn: string, line: number): string => `${fn} (test/loops.c:${line})`;

for (const kind of ['for', 'while', 'do'] as const) {
  for (const braces of ['braced', 'unbraced'] as const) {
    const name = `${kind} ${braces}`;
    const loop = kind === 'do' ? 'do-while' : kind;
    test(`yield: ${name} loop: a sample on its header, in its body, or both make one suggestion on its header`, () => {
      const header = lineOf(name);
      const body = lineOf(`${name} body`);
      const expected = (samples: number, runMaxMs: number, lines: string): YieldSuggestion[] => [
        {
          kind: 'yield',
          function: 'kinds',
          file: LOOPS_C,
          line: header,
          column: 2,
          message: `thread ran ${runMaxMs} ms without blocking in the ${loop} loop at ${where('kinds', header)}: add a yield point in this loop`,
          evidence: { samples, runMaxMs, quantumMs: 10, loop, lines },
        },
      ];
      assert.deepEqual(yieldsAt([{ line: header, count: 2, runMaxNs: 30_000_000 }]), expected(2, 30, `${header}`));
      assert.deepEqual(yieldsAt([{ line: body, count: 5, runMaxNs: 45_000_000 }]), expected(5, 45, `${body}`));
      assert.deepEqual(
        yieldsAt([
          { line: header, count: 2, runMaxNs: 30_000_000 },
          { line: body, count: 5, runMaxNs: 45_000_000 },
          { line: body, count: 1, runMaxNs: 61_000_000 },
        ]),
        expected(8, 61, `${header}, ${body}`),
      );
    });
  }
}

test('yield: a do-while\'s closing `while (...)` line counts for the do-while', () => {
  const y = yieldsAt([{ line: lineOf('do braced') }, { line: lineOf('do braced tail') }]);
  assert.deepEqual(y.map((s) => [s.line, s.evidence.loop, s.evidence.samples]), [[lineOf('do braced'), 'do-while', 2]]);
});

test('yield: nested loops: each sample counts for the innermost loop around its line, the header line counting for its own loop', () => {
  const inner = lineOf('inner header, second line') - 1;
  const y = yieldsAt([
    { fn: 'nested', line: inner, count: 1 }, // the inner loop's header, a statement of the outer loop's body
    { fn: 'nested', line: lineOf('inner header, second line'), count: 2 },
    { fn: 'nested', line: lineOf('inner body'), count: 4 },
    { fn: 'nested', line: lineOf('outer body'), count: 1, runMaxNs: 70_000_000 },
    { fn: 'nested', line: lineOf('outer'), count: 1 },
  ]);
  assert.deepEqual(
    y.map((s) => ({ line: s.line, loop: s.evidence.loop, samples: s.evidence.samples, lines: s.evidence.lines })),
    [
      { line: inner, loop: 'for', samples: 7, lines: `${inner}, ${inner + 1}, ${lineOf('inner body')}` },
      { line: lineOf('outer'), loop: 'while', samples: 2, lines: `${lineOf('outer')}, ${lineOf('outer body')}` },
    ],
  );
  assert.equal(y[1]!.evidence.runMaxMs, 70);
});

test('yield: a loop that is the only statement of an unbraced loop, and a loop after else, are loops of their own', () => {
  const y = yieldsAt([
    { fn: 'nested', line: lineOf('body of the only statement'), count: 3 },
    { fn: 'nested', line: lineOf('only statement'), count: 1 },
    { fn: 'nested', line: lineOf('unbraced outer'), count: 1 },
    { fn: 'nested', line: lineOf('else loop'), count: 2 },
  ]);
  assert.deepEqual(
    y.map((s) => [s.line, s.column, s.evidence.loop, s.evidence.samples]),
    [
      [lineOf('only statement'), 3, 'for', 4],
      [lineOf('else loop'), 7, 'while', 2],
      [lineOf('unbraced outer'), 2, 'while', 1],
    ],
  );
});

test('yield: two loops on one line are told apart by their column', () => {
  const y = yieldsAt([{ fn: 'nested', line: lineOf('two loops on one line') }]);
  assert.deepEqual(y.map((s) => [s.line, s.column]), [[lineOf('two loops on one line'), 11]]);
});

test('yield: a function\'s samples outside every loop count for its most sampled loop; with no loop sampled they make one suggestion', () => {
  const opening = lineOf('outer') - 1; // "{" of nested(): where a sample lands when the walk lost its caller
  const y = yieldsAt([
    { fn: 'nested', line: lineOf('inner body'), count: 5, runMaxNs: 30_000_000 },
    { fn: 'nested', line: lineOf('outer body'), count: 1 },
    { fn: 'nested', line: opening, count: 2, runMaxNs: 90_000_000 },
  ]);
  assert.deepEqual(
    y.map((s) => [s.line, s.evidence.samples, s.evidence.outsideLoops, s.evidence.runMaxMs]),
    [
      [lineOf('inner header, second line') - 1, 7, 2, 90],
      [lineOf('outer'), 1, undefined, 20],
    ],
  );
  // Comments, strings and macros are no loops.
  const none = yieldsAt([
    { fn: 'nested', line: lineOf('string'), count: 1 },
    { fn: 'nested', line: lineOf('macro loop'), count: 3 },
  ]);
  assert.deepEqual(none, [
    {
      kind: 'yield',
      function: 'nested',
      file: LOOPS_C,
      line: lineOf('macro loop'),
      message: `thread ran 20 ms without blocking at ${where('nested', lineOf('macro loop'))}, outside any loop: add a yield point here or in its callers`,
      evidence: { samples: 4, runMaxMs: 20, quantumMs: 10, loop: 'none', lines: `${lineOf('string')}, ${lineOf('macro loop')}` },
    },
  ]);
});

test('yield: a sample in a function without a loop counts for the loop of its caller', () => {
  const y = yieldsAt([{ fn: 'work', line: lineOf('callee body'), count: 3, caller: { fn: 'caller', line: lineOf('the call') } }]);
  assert.deepEqual(
    y.map((s) => [s.function, s.line, s.evidence.loop, s.evidence.lines]),
    [['caller', lineOf('calls work'), 'for', `${lineOf('the call')}`]],
  );
});

// samples/hog: now_ms() is inlined into the header of hog's `while (now_ms() < end)`; a sample at
// one of its instructions is named by addr2line -i "now_ms (hog.c:19), inlined in hog (hog.c:41)".
test('yield, from a recording: a sample in a function inlined into a loop header counts for that loop', async () => {
  const src = resolve(__dirname, '..', '..', 'samples', 'hog', 'hog.c');
  const lines = readFileSync(src, 'utf8').split('\n');
  const at = (marker: string): number => lines.findIndex((l) => l.includes(marker)) + 1;
  const [clock, header, hot, body] = [at('clock_gettime(CLOCK_MONOTONIC'), at('while (now_ms() < end)'), at('the hot loop'), at('x = x * 2862933555777941757UL')];
  const symbols: SymbolEntry[] = [
    { addr: '0x1000', own: true, line: body, function: 'hog', file: src },
    { addr: '0x1100', own: true, line: clock, function: 'now_ms', file: src }, // inlined into hog
    { addr: '0x1fff', own: false, line: 0, function: 'start_thread', file: '??' }, // ret 0x2000
  ];
  const inlined: InlinedEntry[] = [{ addr: '0x1100', callers: [{ line: header, function: 'hog', file: src }] }];
  const samples = [
    { id: 1, count: 40, runMaxNs: 900_000_000, frames: ['0x1000', '0x2000'] },
    { id: 2, count: 3, runMaxNs: 900_000_000, frames: ['0x1100', '0x2000'] },
  ];
  const yields = async (chains: readonly Buffer[]): Promise<[string, number, unknown, unknown][]> => {
    const bytes = Buffer.concat([MAGIC, helloFrame(hello({ quantumUs: 10_000 })), snapshotFrame(snapshot({ samples })), ...symbolsFrames(symbols), ...chains]);
    const m = replay(decodeRecording('hog.cap', bytes));
    const { table, source } = await symbolsFor(m);
    assert.equal(source, 'symbols-frame');
    return suggest(m, table).flatMap((y) => (y.kind === 'yield' ? [[y.function, y.line, y.evidence.loop, y.evidence.lines] as [string, number, unknown, unknown]] : []));
  };
  assert.deepEqual(await yields(inlinedFrames(inlined)), [
    ['hog', hot, 'for', `${body}`],
    ['hog', header, 'while', `${header}`],
  ]);
  // What a recording without its inline chains said: a second suggestion, at now_ms, outside any loop.
  assert.deepEqual(await yields([]), [
    ['hog', hot, 'for', `${body}`],
    ['now_ms', clock, 'none', `${clock}`],
  ]);
});

test('yield: the same lines without their source fall back to one suggestion per line, saying so', () => {
  const header = lineOf('for unbraced');
  const y = yieldsAt([{ line: header }, { line: header + 1, count: 2 }], '/nowhere/loops.c');
  assert.deepEqual(
    y.map((s) => [s.line, s.column, s.evidence.loop, s.evidence.samples]),
    [
      [header + 1, undefined, 'unknown', 2],
      [header, undefined, 'unknown', 1],
    ],
  );
  assert.match(y[0]!.message, /the source cannot be read here, so each sampled line is listed/);
  assert.match(String(y[0]!.evidence.sourceError), /ENOENT.*\/nowhere\/loops\.c/);
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
      message: 'legacy_lookup stalled the whole scheduler 3 times, max 40 ms, in poll (made by __poll) (called from handler (p/srv.c:41)): annotate legacy_lookup as blocking',
      evidence: { stalls: 3, maxMs: 40, totalMs: 90, calledFrom: 'handler (p/srv.c:41)', syscall: 'poll', madeBy: '__poll' },
    },
    {
      kind: 'annotate-blocking',
      function: '__poll',
      file: '/p/srv.c',
      line: 41,
      message: '__poll stalled the whole scheduler 2 times, max 30 ms, in poll (called from handler (p/srv.c:41)): annotate __poll as blocking',
      evidence: { stalls: 2, maxMs: 30, totalMs: 50, calledFrom: 'handler (p/srv.c:41)', syscall: 'poll' },
    },
  ]);
});

test('annotate-stack: hot splits from own code, and from library code calling into the program, with at least 10 splits', () => {
  const { m, t } = model({
    hotSplits: [
      { callsite: '0x7000', count: 25, frameBytes: 1_059_864, mapped: 0 },
      { callsite: '0x7000', count: 25, frameBytes: 1_059_864, mapped: 0 },
      { callsite: '0x7f0000002000', count: 12, frameBytes: 20000, mapped: 0 }, // a library's call site: kept, named truthfully
      { callsite: '0x8000', count: 500, frameBytes: 1_059_864, mapped: 0 }, // runtime code: not own
      { callsite: '0x6000', count: 9, frameBytes: 1_059_864, mapped: 0 }, // below 10
      { callsite: '0x2000', count: 40, frameBytes: 65536, mapped: 0 }, // under the linker's 1 MiB: main's callee's own frame, nothing to annotate
    ],
  });
  const s = suggest(m, t).filter((x) => x.kind === 'annotate-stack');
  assert.deepEqual(s, [
    {
      kind: 'annotate-stack',
      function: 'parse',
      file: '/p/srv.c',
      line: 50,
      message: 'calls into external code at parse (p/srv.c:50) need a big chunk (1059864 bytes, split 25 times): annotate its stack need',
      evidence: { splits: 25, frameBytes: 1_059_864 },
    },
    {
      kind: 'annotate-stack',
      message:
        'calls from library code at libcb.so.1+0x1fff into the program need a big chunk (20000 bytes, split 12 times): annotate the stack need of the library function the program calls there',
      evidence: { splits: 12, frameBytes: 20000 },
    },
  ]);
});

test('hot splits as shown: why each split, read from the size asked for when the code is not here; the runtime’s own left out', () => {
  const { m, t } = model({
    hotSplits: [
      { callsite: '0x7000', count: 25, frameBytes: 1_059_864, mapped: 0 },
      { callsite: '0x7f0000002000', count: 12, frameBytes: 20000, mapped: 0 },
      { callsite: '0x8000', count: 500, frameBytes: 1_059_864, mapped: 0 }, // cap__x: the runtime's own
      { callsite: '0x2000', count: 40, frameBytes: 65536, mapped: 0 },
    ],
  });
  assert.deepEqual(
    hotSplitsOf(m, t).map((h) => [h.function, h.cause, h.label, h.reason, h.callees]),
    [
      ['main', 'frame', 'main', "64.0 KiB for the called function's own frame, more than was left in the chunk: split-stack code (for a call into code without split stacks the linker demands 1 MiB more)", []],
      ['parse', 'linker', 'parse', "1.0 MiB demanded by the linker for a call into code without split stacks (its callee is not named: the program's code cannot be read here)", []],
      ['libcb.so.1+0x1fff', 'callback', 'libcb.so.1+0x1fff', "19.5 KiB for the program's code called back from libcb.so.1+0x1fff, which has no split stacks", []],
    ],
  );
  assert.equal(calleesText([{ name: 'snprintf', origin: 'library', library: 'libc' }]), 'snprintf (libc)');
  assert.equal(
    calleesText([
      { name: 'memchr', origin: 'library', library: 'libc' },
      { name: 'ext_frame', origin: 'program', library: '' },
      { name: 'free', origin: 'library', library: 'libc' },
      { name: 'puts', origin: 'runtime', library: '' },
      { name: 'lookup', origin: 'library', library: '' }, // its library is not here
    ]),
    "memchr, free (libc), ext_frame (linked in without split stacks), puts (the Capriccio runtime's, without split stacks), lookup",
  );
  // serve in knot calls thirteen libc functions: three named, the others counted
  const libc = ['free', 'memchr', 'memmove', 'strncasecmp', 'memcmp'].map((name) => ({ name, origin: 'library' as const, library: 'libc' }));
  assert.equal(calleesText(libc.slice(0, 4)), 'free, memchr, memmove, strncasecmp (libc)');
  assert.equal(calleesText(libc), 'free, memchr, memmove and 2 more (libc)');
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
    untouchedBytes: 0,
    ...over,
  });
  const { m, t } = model({
    spawnSites: [
      site('0x9000', { chunksLinked: 10, usedBytesMax: 9000, splitFrameMax: 9500 }), // own frames outgrow the chunk
      site('0x9100', { untouchedBytes: 20000 }), // uses 1000 of 3840 bytes: oversized
      site('0x9200', { usedBytesMax: 3000, untouchedBytes: 8400, chunksLinked: 9 }), // neither
      site('0x9300', { threadsTotal: 0, chunksLinked: 10 }), // no thread yet
      site('0x9400', { chunksLinked: 10, usedBytesMax: 9000, splitFrameMax: 1_060_000 }), // splits for calls into libc: not a chunk size matter
      site('0x7f0000002000', { untouchedBytes: 20000 }), // a library's own threads: not the program's to size
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
      evidence: { threads: 10, chunksLinked: 10, usedMax: 9000, untouchedBytes: 0, firstChunk: 3840, suggestedBytes: 10240 },
    },
    {
      kind: 'chunk-size',
      message: 'set the first chunk of threads spawned at 0x9100 to 2560 bytes',
      evidence: { threads: 10, chunksLinked: 0, usedMax: 1000, untouchedBytes: 20000, firstChunk: 3840, suggestedBytes: 2560 },
    },
  ]);
});

test('no suggestions for a quiet model', () => {
  const { m, t } = model({});
  assert.deepEqual(suggest(m, t), []);
});
