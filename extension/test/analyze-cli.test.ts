// `capriccio analyze`: the JSON object, the text, and the errors (run from source through tsx).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalyzeJson } from '../src/analysis/stack/report.ts';
import { FIXTURE_C, OTHER_C, buildDeep, compile, mainTs, root, tempDir } from './analyze-fixtures.ts';

function capriccio(args: readonly string[]): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', mainTs, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}

/** A directory with the fixture and the other object compiled side by side, in a subdirectory. */
function program(t: { after(fn: () => void): void }): string {
  const dir = tempDir(t);
  const sub = join(dir, 'build', 'objs');
  mkdirSync(sub, { recursive: true });
  compile(sub, 'fixture', FIXTURE_C);
  compile(sub, 'other', OTHER_C);
  return dir;
}

test('analyze --json: one object of the documented shape; directories are searched recursively', (t) => {
  const dir = program(t);
  const r = capriccio(['analyze', '--json', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'one JSON line');
  const j = JSON.parse(lines[0]!) as AnalyzeJson;
  assert.deepEqual(j.callGraphs, [join(dir, 'build', 'objs', 'fixture.ci'), join(dir, 'build', 'objs', 'other.ci')]);
  for (const key of ['entries', 'cycles', 'annotationCandidates', 'checkpoints', 'suggestions'] as const) assert.ok(Array.isArray(j[key]), key);
  for (const e of j.entries) {
    assert.equal(typeof e.name, 'string');
    assert.equal(typeof e.file, 'string');
    assert.equal(typeof e.line, 'number');
    assert.ok(e.deepestBytes === null || typeof e.deepestBytes === 'number');
    assert.equal(typeof e.recommendedChunkBytes, 'number');
    assert.ok(e.path.length >= 1);
    for (const s of e.path) assert.deepEqual(Object.keys(s).slice(0, 4), ['function', 'file', 'line', 'bytes']);
    if (e.deepestBytes === null) assert.equal(e.unbounded, true);
    else assert.equal(e.unbounded, undefined);
  }
  const other = j.entries.find((e) => e.name === 'other')!;
  assert.deepEqual(other.path.map((s) => s.function), ['other', 'helper', 'leaf']);
  assert.equal(other.deepestBytes, other.path.reduce((n, s) => n + (s.bytes ?? 0), 0));
  assert.deepEqual(j.cycles, [['pong', 'ping']]);
  // srand is libc's; usleep is the runtime's (read from libcapriccio.a): nothing to annotate.
  assert.deepEqual(j.annotationCandidates, [{ function: 'srand', callers: [{ function: 'sleeper', file: join(dir, 'build', 'objs', 'fixture.c'), line: 12 }] }]);
  const sleeper = j.entries.find((e) => e.name === 'sleeper')!;
  assert.deepEqual(sleeper.lacking.map((l) => [l.function, l.kind]), [['srand', 'external']]);
  assert.deepEqual(j.checkpoints.map((c) => [c.function, c.line]), [['pong', 8]]);
  for (const c of j.checkpoints) assert.deepEqual(Object.keys(c), ['function', 'file', 'line', 'reason']);
  // Suggestions in the shape of analysis/suggest.ts: no thread is spawned here, so no chunk sizes.
  assert.deepEqual(j.suggestions.map((s) => [s.kind, s.function, s.line]), [['annotate-stack', 'srand', 12]]);
  assert.deepEqual(j.suggestions[0]!.evidence, { splits: 0, frameBytes: 0 });
  assert.match(j.suggestions[0]!.message, /srand .*annotate its stack need/);
});

test('analyze (text): per entry the deepest path and chunk, cycles, candidates, checkpoints', () => {
  const build = buildDeep();
  const r = capriccio(['analyze', join(build, 'deep.ci')]);
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /^stack analysis of 1 call graph: 3 functions, 2 thread entries, 1 recursion cycle/);
  assert.match(out, /entry thread \(.*deep\.c:\d+\) \[nobody calls it: a thread function\?\]: unbounded: recursion through descend → descend/);
  assert.match(out, /\n\s+\d+\s+descend\s+\S*deep\.c:\d+\n/);
  assert.match(out, /recommended first chunk: \d+ bytes/);
  assert.match(out, /recursion cycles:\n {2}descend → descend\n/);
  // deep.c's libc calls are candidates; its usleep is the runtime's, shown on the thread's path as such.
  assert.match(out, /annotation candidates \(external functions without a stack size\):\n {2}fwrite: called from main at \S*deep\.c:\d+\n {2}printf: [^\n]*\n {2}strtol: [^\n]*\n\n/);
  assert.match(out, /\n\s+-\s+usleep\s+\S*unistd\.h:\d+\s+Capriccio runtime: grows the stack it needs\n/);
  assert.match(out, /checkpoints \(where Capriccio would check the stack\):\n {2}descend \S*deep\.c:\d+: recursion: back edge descend → descend/);
  assert.match(out, /\[chunk-size\] set the first chunk of threads that start at thread/);
});

test('analyze --entry NAME (repeatable) adds entries; an unknown one is an error', (t) => {
  const dir = program(t);
  const r = capriccio(['analyze', '--json', '--entry', 'middle', `--entry=leaf`, dir]);
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as AnalyzeJson;
  assert.deepEqual(j.entries.filter((e) => e.reason === 'named').map((e) => e.name), ['middle', 'leaf']);
  const bad = capriccio(['analyze', '--entry', 'nosuch', dir]);
  assert.equal(bad.status, 1);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr, 'capriccio analyze: no function named nosuch is defined in the call graphs\n');
});

test('analyze errors: nothing to analyze or a bad .ci exits 1 with one line; bad usage exits 2', (t) => {
  const dir = tempDir(t);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'x.o'), '');
  let r = capriccio(['analyze', empty]);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^capriccio analyze: no \.ci files under .*empty \(capriccio cc writes one next to each object it compiles\)\n$/);

  r = capriccio(['analyze', join(dir, 'missing')]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, `capriccio analyze: ${join(dir, 'missing')}: no such file or directory\n`);

  const bad = join(dir, 'bad.ci');
  writeFileSync(bad, 'graph: { title: "u.c"\nnode: { title: "f" label: "f\\nu.c:1:5\\n16 bytes (static)" }\nedge: { sourcename: "f" \n');
  r = capriccio(['analyze', bad]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.split('\n').length, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`^capriccio analyze: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: `));

  const usage: [string[], string][] = [
    [['analyze'], 'missing PATH (.ci files, or directories to search for them)'],
    [['analyze', '--bogus', dir], 'unknown option --bogus'],
    [['analyze', '--entry'], 'option --entry needs a value'],
    [['analyze', '--entry=', dir], 'option --entry needs a function name'],
    [['analyze', '--json=1', dir], 'option --json takes no value'],
  ];
  for (const [args, message] of usage) {
    r = capriccio(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `capriccio analyze: ${message}\nusage: capriccio analyze [--json] [--entry NAME]... PATH...\n`);
  }
});

test('capriccio help lists analyze', () => {
  const r = capriccio(['help']);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /\n {2}analyze \[--json\] \[--entry NAME\]\.\.\. PATH\.\.\. +static stack analysis/);
});
