// Truthfulness: samples of known behaviour, run under `capriccio run --record` and summarized,
// must show the figures their code implies.
//  - samples/deep: recursion of known depth and frame size -> the stack high-water it implies
//    (the frame size read from the call graph that capcc wrote, deep.ci);
//  - samples/hog: a thread that never yields -> a `yield` suggestion on its loop's line;
//  - samples/extlib: a library function blocking in the kernel -> an `annotate-blocking`
//    suggestion naming it, at the line that calls it;
//  - samples/prodcons: a bounded buffer -> the producers' and consumers' condition-variable
//    waits, at their lines, and every item moved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { have, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');

interface Site {
  function: string;
  usedBytesMax: number;
  chunksLinked: number;
  threadsTotal: number;
}
interface Summary {
  nodes: { kind: string; function: string; line: number; count: number }[];
  edges: { from: number; to: number; count: number }[];
  stacks: { maxThreadUsedBytes: number; sites: Site[] };
  suggestions: { kind: string; function?: string; file?: string; line?: number; message: string; evidence: Record<string, unknown> }[];
}

/**
 * The samples run on one worker: what each shows (a bounded buffer's two condition-variable
 * waits, a hog's run) is then the program's alone; with two, threads also meet on the mutexes
 * around them, which a profile then rightly shows.
 */
function run(file: string, args: readonly string[]): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CAPRICCIO_WORKERS: '1' } });
  if (r.error) throw r.error;
  return r;
}

/** Builds samples/NAME with capcc, runs PROGRAM ARGS under the profiler, returns the summary and what the program printed. */
function profileSample(t: { after: (fn: () => void) => void }, name: string, program: string, args: readonly string[]): Summary & { stdout: string } {
  const mk = run('make', ['-s', '-C', join(root, 'samples', name)]);
  assert.equal(mk.status, 0, mk.stderr);
  const dir = mkdtempSync(join(tmpdir(), `capriccio-truth-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rec = join(dir, `${name}.caprec`);
  const exe = join(root, 'samples', name, 'build', program);
  const r = run(process.execPath, ['--import', 'tsx', mainTs, 'run', '--record', rec, '--interval', '50', '--', exe, ...args]);
  assert.equal(r.status, 0, r.stderr);
  const s = run(process.execPath, ['--import', 'tsx', mainTs, 'summary', rec, '--json']);
  assert.equal(s.status, 0, s.stderr);
  return { ...(JSON.parse(s.stdout) as Summary), stdout: r.stdout };
}

/** The 1-based line of `source` holding `marker`. */
function lineOf(source: string, marker: string): number {
  const i = readFileSync(source, 'utf8').split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `no "${marker}" in ${source}`);
  return i + 1;
}

test('deep recursion shows the stack high-water its depth and frame size imply', (t) => {
  if (!have(t, RUNTIME)) return;
  const DEPTH = 200;
  const s = profileSample(t, 'deep', 'deep', [String(DEPTH), '2']);
  // capcc's call graph (-fcallgraph-info=su) gives descend's frame: "N bytes (static)".
  const ci = readFileSync(join(root, 'samples', 'deep', 'build', 'deep.ci'), 'utf8');
  const m = /descend\\n[^"]*\\n(\d+) bytes \(static\)/.exec(ci);
  assert.ok(m, 'descend has no stack size in deep.ci');
  const frame = Number(m[1]) + 8; // plus the return address its call pushes
  const expected = DEPTH * frame;
  const site = s.stacks.sites.find((p) => p.threadsTotal === 2);
  assert.ok(site, `no site with the 2 recursing threads in ${JSON.stringify(s.stacks.sites)}`);
  assert.ok(
    Math.abs(site.usedBytesMax - expected) <= expected * 0.1,
    `high-water ${site.usedBytesMax} bytes, expected ~${expected} (${DEPTH} x ${frame})`,
  );
  assert.ok(site.chunksLinked >= 2 * Math.floor(expected / 65536), 'recursion that deep must link chunks');
  assert.ok(s.stacks.maxThreadUsedBytes >= site.usedBytesMax);
});

test('a thread that never yields gets a yield suggestion on its loop', (t) => {
  if (!have(t, RUNTIME)) return;
  const s = profileSample(t, 'hog', 'hog', ['1']);
  const src = join(root, 'samples', 'hog', 'hog.c');
  const loop = lineOf(src, 'the hot loop');
  const y = s.suggestions.filter((x) => x.kind === 'yield');
  assert.ok(y.length >= 1, `no yield suggestion in ${JSON.stringify(s.suggestions)}`);
  assert.equal(y[0]!.function, 'hog');
  assert.equal(y[0]!.file, src);
  // One suggestion for the loop, on its header, whichever of its lines the samples landed on.
  assert.equal(y[0]!.line, loop, `yield suggested at line ${y[0]!.line}, the loop is at ${loop}: ${JSON.stringify(y)}`);
  assert.equal(y[0]!.evidence.loop, 'for');
  assert.ok(!y.some((x) => x.line === loop + 1), `a second suggestion for the loop, on its body: ${JSON.stringify(y)}`);
  // It ran a second without blocking; the sampler sees a run once it has used a whole quantum of
  // the worker's CPU time, which a loaded machine may give it late.
  assert.ok((y[0]!.evidence.runMaxMs as number) >= 250, `the hog ran for a second without blocking: ${JSON.stringify(y[0]!.evidence)}`);
  // Nothing else runs that long: no yield suggestion anywhere else.
  assert.ok(y.every((x) => x.function === 'hog'), `a yield suggestion outside hog: ${JSON.stringify(y)}`);
});

test('a library call that blocks in the kernel gets an annotate-blocking suggestion naming it', (t) => {
  if (!have(t, RUNTIME)) return;
  // 100 ms calls: the watchdog sees a stall once it has lasted 20 ms, and on a loaded machine its
  // thread may not run for a while; a 40 ms call left it too short a window to look.
  const s = profileSample(t, 'extlib', 'lookup', ['4', '100']);
  const src = join(root, 'samples', 'extlib', 'lookup.c');
  const b = s.suggestions.filter((x) => x.kind === 'annotate-blocking');
  assert.equal(b.length, 1, JSON.stringify(s.suggestions));
  assert.equal(b[0]!.function, 'slow_lookup');
  assert.equal(b[0]!.file, src);
  assert.equal(b[0]!.line, lineOf(src, 'sum += slow_lookup('));
  assert.equal(b[0]!.evidence.stalls, 4);
  // Each call sleeps 100 ms in the kernel, and stalls the scheduler for the run it is in (longer
  // on a loaded machine): the longest stall is within 10% of the longest such run by the
  // program's own clock.
  const own = /longest run with a lookup ([\d.]+) ms/.exec(s.stdout);
  assert.ok(own, `the program did not report its own timing: ${s.stdout}`);
  const maxMs = b[0]!.evidence.maxMs as number;
  const ownMs = Number(own[1]);
  assert.ok(ownMs >= 100, `a 100 ms call took ${ownMs} ms`);
  assert.ok(Math.abs(maxMs - ownMs) <= ownMs * 0.1, `the longest stall measured ${maxMs} ms, the longest call took ${ownMs} ms`);
});

test('prodcons: a bounded buffer shows as two condition-variable waits, every item moved', (t) => {
  if (!have(t, RUNTIME)) return;
  const s = profileSample(t, 'prodcons', 'prodcons', ['4', '4', '20000', '8']);
  const src = join(root, 'samples', 'prodcons', 'prodcons.c');
  const full = s.nodes.find((n) => n.function === 'producer');
  const empty = s.nodes.find((n) => n.function === 'consumer');
  assert.ok(full && empty, `no producer/consumer waits in ${JSON.stringify(s.nodes)}`);
  assert.equal(full.kind, 'condvar');
  assert.equal(empty.kind, 'condvar');
  assert.equal(full.line, lineOf(src, 'pthread_cond_wait(&not_full'));
  assert.equal(empty.line, lineOf(src, 'pthread_cond_wait(&not_empty'));
  // 80,000 items through an 8-slot buffer: both sides wait again and again.
  assert.ok(full.count > 1000 && empty.count > 1000, `waits: producer ${full.count}, consumer ${empty.count}`);
});
