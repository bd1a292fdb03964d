// The annotate suggestions applied exactly as they read (suggestedAnnotation, as the quick fix
// writes them into capriccio.annotations.json), the program rebuilt with capcc, run again: the
// stall is gone, the chunk is gone. Real calls: the C library's semtimedop (whose debug name is
// __semtimedop), libaio's io_getevents (a Debian library), and a precompiled function with a big
// frame, as a shared library and as an archive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { annotate, suggestedAnnotation } from '../src/fixes/fixes.ts';
import type { Suggestion } from '../src/analysis/suggest.ts';
import { have, LIBAIO, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');
const capcc = join(root, 'bin', 'capcc');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');

interface Summary {
  stacks: { hotSplits: { function: string; count: number }[] };
  suggestions: Suggestion[];
}

function run(file: string, args: readonly string[], cwd: string): string {
  const r = spawnSync(file, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Builds with capcc in `dir` (which reads capriccio.annotations.json there), runs under the profiler. */
function buildAndProfile(dir: string, build: readonly string[], n: number): Summary & { stdout: string } {
  run(capcc, ['-O2', '-g', ...build, '-o', 'prog'], dir);
  const rec = join(dir, `run${n}.caprec`);
  const stdout = run(process.execPath, ['--import', 'tsx', mainTs, 'run', '--record', rec, '--interval', '50', '--', join(dir, 'prog')], root);
  return { ...(JSON.parse(run(process.execPath, ['--import', 'tsx', mainTs, 'summary', rec, '--json'], root)) as Summary), stdout };
}

/** The annotations file holding every suggestion of `kind`, applied as written. */
function apply(dir: string, suggestions: readonly Suggestion[]): string {
  let text: string | undefined;
  for (const s of suggestions) {
    const a = suggestedAnnotation(s);
    assert.ok(a, `a suggestion that does not say what to write: ${JSON.stringify(s)}`);
    text = annotate(text, a.name, a.annotation);
  }
  assert.ok(text !== undefined, 'nothing to apply');
  writeFileSync(join(dir, 'capriccio.annotations.json'), text);
  return text;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-apply-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const WAITS = `#define _GNU_SOURCE
#include <libaio.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>
/* A ticker wants to run every 5 ms while main waits 100 ms at a time, four times in the C
 * library's semtimedop and four in libaio's io_getevents. */
static volatile int done, in_call;
static long ticks_in_calls;
static void *ticker(void *a)
{
	while (!done) {
		usleep(5000);
		if (in_call)
			ticks_in_calls++;
	}
	return a;
}
int main(void)
{
	int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	io_context_t ctx = 0;
	if (sem < 0 || io_setup(1, &ctx) != 0)
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	for (int i = 0; i < 4; i++) {
		struct sembuf down = { 0, -1, 0 };
		struct timespec ts = { 0, 100000000 };
		struct io_event ev;
		in_call = 1;
		semtimedop(sem, &down, 1, &ts);
		in_call = 0;
		usleep(10000);
		in_call = 1;
		io_getevents(ctx, 1, 1, &ev, &ts);
		in_call = 0;
		usleep(10000);
	}
	done = 1;
	pthread_join(t, NULL);
	semctl(sem, 0, IPC_RMID);
	printf("ticks during calls: %ld\\n", ticks_in_calls);
	return 0;
}
`;

const ticks = (stdout: string): number => Number(/ticks during calls: (\d+)/.exec(stdout)?.[1] ?? NaN);

test('annotate-blocking applied as written: the stalls in semtimedop (glibc) and io_getevents (libaio) are gone', (t) => {
  if (!have(t, RUNTIME, LIBAIO)) return;
  const dir = tempDir(t);
  writeFileSync(join(dir, 'waits.c'), WAITS);
  const before = buildAndProfile(dir, ['waits.c', '-laio'], 1);
  const b = before.suggestions.filter((s) => s.kind === 'annotate-blocking');
  // Named as the program links them: glibc's debug information calls semtimedop __semtimedop.
  assert.deepEqual(b.map((s) => s.function).sort(), ['io_getevents', 'semtimedop'], JSON.stringify(before.suggestions));
  assert.equal(ticks(before.stdout), 0, 'every call stalled the ticker');
  assert.deepEqual(JSON.parse(apply(dir, b)), { functions: { io_getevents: { blocking: true }, semtimedop: { blocking: true } } });
  const after = buildAndProfile(dir, ['waits.c', '-laio'], 2);
  assert.deepEqual(after.suggestions.filter((s) => s.kind === 'annotate-blocking'), []);
  assert.ok(ticks(after.stdout) > 0, `the ticker ran during the calls: ${after.stdout}`);
});

const EXT = `/* A precompiled function with a big frame: plain gcc, no split stacks. */
int ext_frame(int bytes)
{
	volatile char *buf = __builtin_alloca((unsigned long)bytes);
	for (int i = 0; i < bytes; i += 64)
		buf[i] = (char)i;
	return buf[bytes / 2];
}
`;
const STACKCALL = `#include <pthread.h>
#include <stdio.h>
/* Two threads call parse, which calls ext_frame, 20,000 times each. */
int ext_frame(int bytes);
__attribute__((noinline)) static int parse(int i) { return ext_frame(8192) + i; }
static void *worker(void *a)
{
	long s = 0;
	for (int i = 0; i < 20000; i++)
		s += parse(i);
	return (void *)s;
}
int main(void)
{
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	long total = 0;
	for (int i = 0; i < 2; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)r;
	}
	printf("total %ld\\n", total);
	return 0;
}
`;

for (const form of ['shared', 'archive'] as const) {
  test(`annotate-stack applied as written: the chunk for a call into a ${form === 'shared' ? 'shared library' : 'static archive'} is gone`, (t) => {
    if (!have(t, RUNTIME)) return;
    const dir = tempDir(t);
    writeFileSync(join(dir, 'ext.c'), EXT);
    writeFileSync(join(dir, 'stackcall.c'), STACKCALL);
    if (form === 'shared') run('gcc', ['-O2', '-fPIC', '-shared', 'ext.c', '-o', 'libext.so'], dir);
    else {
      run('gcc', ['-O2', '-c', 'ext.c', '-o', 'ext.o'], dir);
      run('ar', ['rcs', 'libext.a', 'ext.o'], dir);
    }
    const build = ['stackcall.c', '-L.', '-lext', ...(form === 'shared' ? [`-Wl,-rpath,${dir}`] : [])];
    const before = buildAndProfile(dir, build, 1);
    const want = 'total 399980000';
    assert.match(before.stdout, new RegExp(want));
    const hot = before.stacks.hotSplits.find((h) => h.function === 'worker');
    assert.ok(hot && hot.count >= 40000, `every call to parse linked a big chunk: ${JSON.stringify(before.stacks.hotSplits)}`);
    const s = before.suggestions.filter((x) => x.kind === 'annotate-stack');
    assert.equal(s.length, 1, JSON.stringify(before.suggestions));
    assert.equal(s[0]!.function, 'ext_frame');
    assert.equal(s[0]!.line, 5, 'at the call to ext_frame, in parse');
    assert.match(s[0]!.message, /annotate ext_frame with stackBytes \d+/);
    apply(dir, s);
    const after = buildAndProfile(dir, build, 2);
    assert.match(after.stdout, new RegExp(want));
    assert.deepEqual(after.stacks.hotSplits.filter((h) => h.function === 'worker'), []);
    assert.deepEqual(after.suggestions.filter((x) => x.kind === 'annotate-stack'), []);
  });
}

test('a hot split from a function with a big frame of its own names nothing to annotate', (t) => {
  if (!have(t, RUNTIME)) return;
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'own.c'),
    `#include <pthread.h>
/* fill needs 64 KiB of its own, more than any first chunk: a new chunk each call, no external code. */
__attribute__((noinline)) static int fill(int i)
{
	volatile char buf[65536];
	for (int k = 0; k < (int)sizeof buf; k += 4096)
		buf[k] = (char)(i + k);
	return buf[i % 4096];
}
static void *worker(void *a)
{
	long s = 0;
	for (int i = 0; i < 2000; i++)
		s += fill(i);
	return (void *)s;
}
int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	return pthread_join(t, NULL);
}
`,
  );
  const s = buildAndProfile(dir, ['own.c'], 1);
  assert.ok(
    s.stacks.hotSplits.some((h) => h.function === 'worker' && h.count >= 2000),
    `every call to fill linked a chunk: ${JSON.stringify(s.stacks.hotSplits)}`,
  );
  assert.deepEqual(s.suggestions.filter((x) => x.kind === 'annotate-stack'), []);
});
