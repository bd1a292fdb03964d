// The weighted call graph: linking objects, deepest paths, recursion, annotation candidates,
// first-chunk sizes and checkpoints — on GCC's own output where it matters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCi, type CiGraph } from '../src/analysis/stack/ci.ts';
import {
  CHUNK_RESERVE,
  UnknownEntryError,
  analyzeStacks,
  linkProgram,
  recommendedChunk,
  stronglyConnected,
} from '../src/analysis/stack/graph.ts';
import { stackSuggestions } from '../src/analysis/stack/report.ts';
import { FIXTURE_C, OTHER_C, buildDeep, compile, tempDir } from './analyze-fixtures.ts';

const read = (ci: string): CiGraph => parseCi(readFileSync(ci, 'utf8'), ci);

/** A .ci in GCC's format from [name, bytes | 'ext'] nodes and [from, to] edges. */
function synthetic(path: string, nodes: [string, number | 'ext'][], edges: [string, string][]): CiGraph {
  const lines = ['graph: { title: "s.c"'];
  nodes.forEach(([name, bytes], i) =>
    lines.push(
      bytes === 'ext'
        ? `node: { title: "${name}" label: "${name}\\nlib.h:${i + 1}:5" shape : ellipse }`
        : `node: { title: "${name}" label: "${name}\\ns.c:${i + 1}:5\\n${bytes} bytes (static)" }`,
    ),
  );
  edges.forEach(([from, to], i) => lines.push(`edge: { sourcename: "${from}" targetname: "${to}" label: "s.c:${100 + i}:3" }`));
  lines.push('}', '');
  return parseCi(lines.join('\n'), path);
}

test('deepest path: exactly the sum of the frames the .ci gives, along the real call chain', (t) => {
  const dir = tempDir(t);
  const g = read(compile(dir, 'fixture', FIXTURE_C));
  const a = analyzeStacks(linkProgram([g]));
  const top = a.entries.find((e) => e.name === 'top')!;
  assert.equal(top.reason, 'no callers');
  assert.deepEqual(top.path.map((s) => s.function), ['top', 'middle', 'leaf']);
  const sum = ['top', 'middle', 'leaf'].reduce((n, name) => n + g.functions.get(name)!.bytes!, 0);
  assert.equal(top.deepestBytes, sum);
  assert.equal(top.boundedBytes, sum);
  assert.deepEqual(top.path.map((s) => s.bytes), ['top', 'middle', 'leaf'].map((n) => g.functions.get(n)!.bytes));
  assert.deepEqual(top.path.slice(1).map((s) => s.callLine), [6, 5]);
  assert.equal(top.recommendedChunkBytes, recommendedChunk(sum).bytes);
  // middle and leaf are called: not entries.
  assert.ok(!a.entries.some((e) => e.name === 'middle' || e.name === 'leaf'));
});

test('recursion: the cycle is found, depth is unbounded, and a checkpoint breaks it', (t) => {
  const dir = tempDir(t);
  const g = read(compile(dir, 'fixture', FIXTURE_C));
  const a = analyzeStacks(linkProgram([g]));
  assert.equal(a.cycles.length, 1);
  assert.deepEqual([...a.cycles[0]!.functions].sort(), ['ping', 'pong']);
  // Nobody calls ping or pong from outside the cycle: both are roots of their own.
  const pong = a.entries.find((e) => e.name === 'pong')!;
  assert.equal(pong.deepestBytes, null);
  assert.deepEqual(pong.recursion, ['pong', 'ping', 'pong']);
  assert.deepEqual(pong.path.map((s) => s.function), ['pong', 'ping']);
  assert.equal(pong.boundedBytes, g.functions.get('pong')!.bytes! + g.functions.get('ping')!.bytes!);
  const marks = a.checkpoints.filter((c) => c.function === 'ping' || c.function === 'pong');
  assert.equal(marks.length, 1, JSON.stringify(a.checkpoints));
  assert.match(marks[0]!.reason, /^recursion: back edge/);
  // Nothing else needs one: every other path fits its chunk.
  assert.equal(a.checkpoints.length, 1);
});

test('annotation candidates: the libc function, with who calls it; indirect and dynamic calls are flagged', (t) => {
  const dir = tempDir(t);
  const g = read(compile(dir, 'fixture', FIXTURE_C));
  const a = analyzeStacks(linkProgram([g], { names: new Set(['usleep']) }));
  assert.deepEqual(a.annotationCandidates, [{ function: 'srand', callers: [{ function: 'sleeper', file: join(dir, 'fixture.c'), line: 12 }] }]);
  assert.deepEqual(a.indirectCalls, [{ function: 'apply', file: join(dir, 'fixture.c'), line: 10 }]);
  const sleeper = a.entries.find((e) => e.name === 'sleeper')!;
  assert.deepEqual(sleeper.lacking.map((l) => [l.function, l.kind]), [['srand', 'external']]);
  const apply = a.entries.find((e) => e.name === 'apply')!;
  assert.deepEqual(apply.lacking.map((l) => l.kind), ['indirect']);
  assert.equal(apply.path.at(-1)!.lacking, 'indirect');
  const vla = a.entries.find((e) => e.name === 'vla')!;
  assert.deepEqual(vla.lacking.map((l) => [l.function, l.kind]), [['vla', 'dynamic']]);
  // libgcc's dynamic-allocation helper is not a function to annotate.
  assert.ok(!a.annotationCandidates.some((c) => c.function.startsWith('__morestack')));
  const s = stackSuggestions(a).filter((x) => x.kind === 'annotate-stack');
  assert.deepEqual(s.map((x) => [x.function, x.file, x.line]), [['srand', join(dir, 'fixture.c'), 12]]);
  // A function the runtime provides is neither lacking nor a candidate; unknown to the linker, it is external.
  const alone = analyzeStacks(linkProgram([g]));
  assert.deepEqual(alone.annotationCandidates.map((c) => c.function), ['srand', 'usleep']);
  assert.deepEqual(linkProgram([g], { names: new Set(), missing: 'lib.a is not built' }).warnings, [
    'functions the Capriccio runtime provides are listed as external: lib.a is not built',
  ]);
});

test('linking objects: a global resolves to its definition in another file; statics stay in their unit', (t) => {
  const dir = tempDir(t);
  const fixture = read(compile(dir, 'fixture', FIXTURE_C));
  const other = read(compile(dir, 'other', OTHER_C));
  assert.equal(other.functions.get('leaf')!.kind, 'external');
  const p = linkProgram([other, fixture]);
  assert.deepEqual(p.warnings, []);
  const a = analyzeStacks(p);
  const entry = a.entries.find((e) => e.name === 'other')!;
  assert.deepEqual(entry.path.map((s) => [s.function, s.file]), [
    ['other', join(dir, 'other.c')],
    ['helper', join(dir, 'other.c')],
    ['leaf', join(dir, 'fixture.c')],
  ]);
  const bytes = (g: CiGraph, id: string): number => g.functions.get(id)!.bytes!;
  assert.equal(entry.deepestBytes, bytes(other, 'other') + bytes(other, `${join(dir, 'other.c')}:helper`) + bytes(fixture, 'leaf'));
  assert.ok(!a.annotationCandidates.some((c) => c.function === 'leaf'), 'leaf is defined: no annotation');
  // Two helpers, one per unit.
  assert.equal([...p.nodes.values()].filter((n) => n.name === 'helper').length, 2);
  // Without the fixture, leaf is external and the path ends there.
  const alone = analyzeStacks(linkProgram([other]));
  assert.deepEqual(alone.annotationCandidates.map((c) => c.function), ['leaf']);
});

test('the same global defined twice (two programs): each file keeps its own, with a warning', () => {
  const one = synthetic('one.ci', [['main', 100], ['work', 50]], [['main', 'work']]);
  const two = synthetic('two.ci', [['main', 300], ['work', 'ext']], [['main', 'work']]);
  const p = linkProgram([one, two]);
  assert.equal(p.warnings.length, 1);
  assert.match(p.warnings[0]!, /main is defined in 2 call graphs/);
  const a = analyzeStacks(p);
  assert.deepEqual(a.entries.map((e) => [e.name, e.reason, e.deepestBytes]), [['main', 'main', 150], ['main', 'main', 350]]);
});

test('recommended first chunk: round up to 256, add the runtime reserve, at least 2560, at most 64 KiB', () => {
  assert.equal(CHUNK_RESERVE, 1536 + 320);
  const cases: [number, number, boolean][] = [
    [0, 2560, false],
    [1, 2560, false],
    [704, 768 + 1856, false],
    [1048, 1280 + 1856, false],
    [4208, 4352 + 1856, false],
    [63488, 63488 + 1856, false],
    [63489, 65536, true], // 63744 + 1856 = 65600 > 64 KiB
    [1 << 20, 65536, true],
  ];
  for (const [frames, bytes, capped] of cases) assert.deepEqual(recommendedChunk(frames), { bytes, capped }, `${frames}`);
});

test('checkpoints: where the frames since the last check would outgrow the chunk', () => {
  // a → b → c → d, 30000 bytes each: 120000 bytes deep, so the chunk is capped at 64 KiB and the
  // budget for frames is 65536 - 1856 = 63680: checks at c (90000 > 63680) and none at d (60000).
  const g = synthetic('big.ci', [['a', 30000], ['b', 30000], ['c', 30000], ['d', 30000]], [['a', 'b'], ['b', 'c'], ['c', 'd']]);
  const a = analyzeStacks(linkProgram([g]));
  assert.deepEqual(a.entries.map((e) => [e.name, e.deepestBytes, e.recommendedChunkBytes, e.chunkCapped]), [['a', 120000, 65536, true]]);
  assert.deepEqual(a.checkpoints.map((c) => [c.function, c.line]), [['c', 3]]);
  assert.match(a.checkpoints[0]!.reason, /^budget: 60000 bytes since the last check \+ 30000 would exceed 63680/);
  // A capped entry gets no chunk-size suggestion: linking does it.
  assert.deepEqual(stackSuggestions(a).filter((s) => s.kind === 'chunk-size'), []);
});

test('entries: main, the functions nobody calls, and those named; an unknown name is an error', () => {
  const g = synthetic(
    'e.ci',
    [['main', 64], ['worker', 128], ['step', 32], ['pthread_create', 'ext']],
    [['main', 'pthread_create'], ['worker', 'step'], ['main', 'step']],
  );
  const a = analyzeStacks(linkProgram([g]), { entries: ['step'] });
  assert.deepEqual(a.entries.map((e) => [e.name, e.reason]), [['main', 'main'], ['step', 'named'], ['worker', 'no callers']]);
  assert.deepEqual(a.spawnSites.map((s) => [s.spawn, s.function]), [['pthread_create', 'main']]);
  // A program that spawns threads: worker (nobody calls it) gets a first-chunk suggestion.
  const chunks = stackSuggestions(a).filter((s) => s.kind === 'chunk-size');
  assert.deepEqual(chunks.map((s) => s.function), ['step', 'worker']);
  assert.throws(() => analyzeStacks(linkProgram([g]), { entries: ['nope'] }), UnknownEntryError);
});

test('a large recursive component: the search stays bounded and the path repeats no function', () => {
  const names = Array.from({ length: 14 }, (_, i) => `f${i}`);
  const edges: [string, string][] = [];
  for (const x of names) for (const y of names) if (x !== y) edges.push([x, y]);
  const g = synthetic('k.ci', [['main', 8], ...names.map((n, i): [string, number] => [n, 16 + i])], [['main', 'f0'], ...edges]);
  const started = process.hrtime.bigint();
  const a = analyzeStacks(linkProgram([g]));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  assert.ok(seconds < 20, `took ${seconds} s`);
  const main = a.entries.find((e) => e.name === 'main')!;
  assert.equal(main.deepestBytes, null);
  assert.equal(main.approximate, true, '14! paths: the search was cut short');
  const fns = main.path.map((s) => s.function);
  assert.equal(new Set(fns).size, fns.length, 'a simple path');
  assert.equal(main.boundedBytes, main.path.reduce((n, s) => n + (s.bytes ?? 0), 0));
  assert.equal(stronglyConnected(linkProgram([g])).find((c) => c.length > 1)!.length, 14);
  assert.equal(a.cycles.length, 1);
});

test('samples/deep: descend is in a cycle, usleep is an annotation candidate', () => {
  const build = buildDeep();
  const g = read(join(build, 'deep.ci'));
  const a = analyzeStacks(linkProgram([g]));
  assert.deepEqual(a.cycles.map((c) => c.functions), [['descend']]);
  const thread = a.entries.find((e) => e.name === 'thread')!;
  assert.equal(thread.deepestBytes, null);
  assert.deepEqual(thread.recursion, ['descend', 'descend']);
  const descend = [...g.functions.values()].find((f) => f.name === 'descend')!;
  assert.ok(descend.bytes! >= 1024, `descend keeps 1024 bytes of locals: ${descend.bytes}`);
  assert.equal(thread.boundedBytes, g.functions.get([...g.functions.keys()].find((k) => k.endsWith(':thread'))!)!.bytes! + descend.bytes!);
  const usleep = a.annotationCandidates.find((c) => c.function === 'usleep');
  assert.ok(usleep, JSON.stringify(a.annotationCandidates));
  assert.deepEqual(usleep.callers.map((c) => c.function), ['descend']);
  assert.deepEqual(a.checkpoints.map((c) => [c.function, c.reason.split(':')[0]]), [['descend', 'recursion']]);
  const main = a.entries.find((e) => e.name === 'main')!;
  assert.equal(main.deepestBytes, g.functions.get('main')!.bytes);
});
