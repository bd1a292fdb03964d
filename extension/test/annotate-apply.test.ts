// The annotate suggestions applied exactly as they read (suggestedAnnotation, as the quick fix
// writes them into capriccio.annotations.json), the program rebuilt with capcc, run again: the
// stall is gone, the chunk is gone; and a chunk-size suggestion, as its quick fix edits the source. Real calls: the C library's mq_timedreceive (whose debug name
// is __mq_timedreceive_time64), libaio's io_getevents (a Debian library), a futex wait made with a raw syscall()
// from the program's own code and from a prebuilt library, and a precompiled function with a big
// frame, as a shared library and as an archive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { annotate, applyEdits, chunkFix, suggestedAnnotations } from '../src/fixes/fixes.ts';
import type { StallSummary } from '../src/analysis/stalls.ts';
import type { Suggestion } from '../src/analysis/suggest.ts';
import { have, LIBAIO, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');
const capcc = join(root, 'bin', 'capcc');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');

interface SiteSummary {
  threadsTotal: number;
  chunksLinked: number;
}
interface HotSplit {
  function: string;
  count: number;
  demandedBy?: string;
  cause: string;
  callees: { name: string; origin: string; library: string }[];
  label: string;
  reason: string;
  mapped: number | null;
}
interface Summary {
  stacks: { hotSplits: HotSplit[]; sites: SiteSummary[]; reservedBytes: number | null };
  suggestions: Suggestion[];
  stalls: StallSummary[];
}

/**
 * One worker: a call that stalls its worker then stalls every thread, which the ticker shows
 * (with more workers the others run on, and the watchdog still reports the stall, per worker).
 */
const ONE_WORKER = { ...process.env, CAPRICCIO_WORKERS: '1' };

function run(file: string, args: readonly string[], cwd: string): string {
  const r = spawnSync(file, args, { cwd, encoding: 'utf8', timeout: 120_000, env: ONE_WORKER });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, `${file} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Builds with capcc in `dir` (which reads capriccio.annotations.json there), runs under the profiler. */
function buildAndProfile(dir: string, build: readonly string[], n: number, args: readonly string[] = []): Summary & { stdout: string } {
  run(capcc, ['-O2', '-g', ...build, '-o', 'prog'], dir);
  const rec = join(dir, `run${n}.caprec`);
  const stdout = run(process.execPath, ['--import', 'tsx', mainTs, 'run', '--record', rec, '--interval', '50', '--', join(dir, 'prog'), ...args], root);
  return { ...(JSON.parse(run(process.execPath, ['--import', 'tsx', mainTs, 'summary', rec, '--json'], root)) as Summary), stdout };
}

/** The annotations file holding every suggestion of `kind`, applied as written. */
function apply(dir: string, suggestions: readonly Suggestion[]): string {
  let text: string | undefined;
  for (const s of suggestions) {
    const a = suggestedAnnotations(s);
    assert.ok(a.length > 0, `a suggestion that does not say what to write: ${JSON.stringify(s)}`);
    for (const x of a) text = annotate(text, x.name, x.annotation);
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
#include <fcntl.h>
#include <libaio.h>
#include <mqueue.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
/* A ticker wants to run every 5 ms while main waits 100 ms at a time, four times in the C
 * library's mq_timedreceive (on an empty queue) and four in libaio's io_getevents. */
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
	char name[32];
	snprintf(name, sizeof name, "/capriccio-apply-%d", (int)getpid());
	struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = 8 };
	mqd_t q = mq_open(name, O_CREAT | O_RDWR, 0600, &attr);
	io_context_t ctx = 0;
	if (q == (mqd_t)-1 || io_setup(1, &ctx) != 0)
		return 1;
	mq_unlink(name);
	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	for (int i = 0; i < 4; i++) {
		char buf[8];
		struct timespec ts = { 0, 100000000 }, until;
		struct io_event ev;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100000000;
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		in_call = 1;
		mq_timedreceive(q, buf, sizeof buf, NULL, &until);
		in_call = 0;
		usleep(10000);
		in_call = 1;
		io_getevents(ctx, 1, 1, &ev, &ts);
		in_call = 0;
		usleep(10000);
	}
	done = 1;
	pthread_join(t, NULL);
	mq_close(q);
	printf("ticks during calls: %ld\\n", ticks_in_calls);
	return 0;
}
`;

const ticks = (stdout: string): number => Number(/ticks during calls: (\d+)/.exec(stdout)?.[1] ?? NaN);

test('annotate-blocking applied as written: the stalls in mq_timedreceive (glibc) and io_getevents (libaio) are gone', (t) => {
  if (!have(t, RUNTIME, LIBAIO)) return;
  const dir = tempDir(t);
  writeFileSync(join(dir, 'waits.c'), WAITS);
  const before = buildAndProfile(dir, ['waits.c', '-laio'], 1);
  const b = before.suggestions.filter((s) => s.kind === 'annotate-blocking');
  // Named as the program links them: glibc's debug information calls mq_timedreceive
  // __mq_timedreceive_time64.
  assert.deepEqual(b.map((s) => s.function).sort(), ['io_getevents', 'mq_timedreceive'], JSON.stringify(before.suggestions));
  assert.equal(ticks(before.stdout), 0, 'every call stalled the ticker');
  assert.deepEqual(JSON.parse(apply(dir, b)), { functions: { io_getevents: { blocking: true }, mq_timedreceive: { blocking: true } } });
  const after = buildAndProfile(dir, ['waits.c', '-laio'], 2);
  assert.deepEqual(after.suggestions.filter((s) => s.kind === 'annotate-blocking'), []);
  assert.ok(ticks(after.stdout) > 0, `the ticker ran during the calls: ${after.stdout}`);
});

/* A futex-based event, as programs and libraries carry their own: compiled into the program with
 * capcc, and into a prebuilt shared library with plain gcc. */
const EVENT = `#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
/* Waits until *ev is set, or ms milliseconds: 0 when set, -1 when the time ran out. */
int ev_wait(unsigned *ev, int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000 + (until.tv_nsec + ms % 1000 * 1000000L) / 1000000000;
	until.tv_nsec = (until.tv_nsec + ms % 1000 * 1000000L) % 1000000000;
	while (!__atomic_load_n(ev, __ATOMIC_SEQ_CST))
		if (syscall(SYS_futex, ev, FUTEX_WAIT_BITSET_PRIVATE, 0, &until, NULL, FUTEX_BITSET_MATCH_ANY) != 0 && errno == ETIMEDOUT)
			return -1;
	return 0;
}
void ev_set(unsigned *ev)
{
	__atomic_store_n(ev, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, ev, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
`;
const EVENT_WAIT_LINE = EVENT.split('\n').findIndex((l) => l.includes('syscall(SYS_futex, ev, FUTEX_WAIT')) + 1;

const EVENTS = `#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int ev_wait(unsigned *ev, int ms);
void ev_set(unsigned *ev);
/* main waits four times for an event that a ticker thread, ticking every 5 ms, sets at its second
 * tick inside a wait; a wait gives up after argv[1] ms. Stalled, the ticker never ticks in one. */
static unsigned event;
static volatile int done, in_call;
static long ticks_in_calls;
static void *ticker(void *a)
{
	while (!done) {
		usleep(5000);
		if (in_call && ++ticks_in_calls % 2 == 0)
			ev_set(&event);
	}
	return a;
}
int main(int argc, char **argv)
{
	int ms = atoi(argv[1]), set = 0, timed_out = 0;
	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	for (int i = 0; i < 4; i++) {
		__atomic_store_n(&event, 0, __ATOMIC_SEQ_CST);
		in_call = 1;
		int r = ev_wait(&event, ms);
		in_call = 0;
		*(r == 0 ? &set : &timed_out) += 1;
		usleep(10000);
	}
	done = 1;
	pthread_join(t, NULL);
	printf("set %d, timed out %d, ticks during calls: %ld\\n", set, timed_out, ticks_in_calls);
	return 0;
}
`;
const EVENTS_WAIT_LINE = EVENTS.split('\n').findIndex((l) => l.includes('int r = ev_wait(')) + 1;

const outcome = (stdout: string): string => /set \d+, timed out \d+/.exec(stdout)?.[0] ?? stdout;

for (const where of ['program', 'library'] as const) {
  test(`annotate-blocking applied as written: a raw futex wait (syscall(SYS_futex, ...)) ${where === 'program' ? 'in the program’s own code' : 'in a prebuilt library'} no longer stalls`, (t) => {
    if (!have(t, RUNTIME)) return;
    const dir = tempDir(t);
    writeFileSync(join(dir, 'event.c'), EVENT);
    writeFileSync(join(dir, 'events.c'), EVENTS);
    if (where === 'library') run('gcc', ['-O2', '-fPIC', '-shared', 'event.c', '-o', 'libevent1.so'], dir);
    const build = where === 'program' ? ['events.c', 'event.c'] : ['events.c', '-L.', '-levent1', `-Wl,-rpath,${dir}`];
    // 100 ms waits to see the stall; then 10 s, which only a stall would wait out.
    const before = buildAndProfile(dir, build, 1, ['100']);
    assert.equal(outcome(before.stdout), 'set 0, timed out 4', 'every wait stalled the ticker, which could not set the event');
    const futex = before.stalls.filter((s) => s.syscallName === 'futex');
    assert.ok(futex.length > 0 && futex.every((s) => s.syscall === 202 && s.madeBy === 'syscall'), JSON.stringify(before.stalls));
    const b = before.suggestions.filter((s) => s.kind === 'annotate-blocking');
    assert.equal(b.length, 1, JSON.stringify(before.suggestions));
    const s = b[0]!;
    if (where === 'program') {
      // The program's own call: syscall itself is what it can annotate (the C library's syscall(),
      // which the runtime then sends to a helper only for calls that can wait).
      assert.equal(s.function, 'syscall');
      assert.deepEqual([s.file?.endsWith('/event.c'), s.line], [true, EVENT_WAIT_LINE]);
      assert.match(s.message, /^syscall stalled the whole scheduler \d+ times?, max [\d.]+ ms, in futex \(called from ev_wait \(.*event\.c:\d+\)\): annotate syscall as blocking$/);
    } else {
      // The library's call to syscall() is its own: the program annotates the library function.
      assert.equal(s.function, 'ev_wait');
      assert.deepEqual([s.file?.endsWith('/events.c'), s.line], [true, EVENTS_WAIT_LINE]);
      assert.match(s.message, /^ev_wait stalled the whole scheduler \d+ times?, max [\d.]+ ms, in futex \(made by syscall\) \(called from main \(.*events\.c:\d+\)\): annotate ev_wait as blocking$/);
    }
    assert.equal(s.kind === 'annotate-blocking' && s.evidence.syscall, 'futex');
    apply(dir, b);
    const after = buildAndProfile(dir, build, 2, ['10000']);
    assert.equal(outcome(after.stdout), 'set 4, timed out 0', 'the ticker ran during each wait and set the event');
    assert.deepEqual(after.suggestions.filter((x) => x.kind === 'annotate-blocking'), []);
    assert.deepEqual(after.stalls.filter((x) => x.syscallName === 'futex'), []);
  });
}

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
/* 200 threads call parse, which calls ext_frame and then waits, inside parse, until all of them
 * have: each holds the chunk parse linked while it waits, so no thread can take another's. */
int ext_frame(int bytes);
#define N 200
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_in = PTHREAD_COND_INITIALIZER;
static int arrived;
__attribute__((noinline)) static int parse(int i)
{
	int r = ext_frame(8192) + i;
	pthread_mutex_lock(&mu);
	if (++arrived == N)
		pthread_cond_broadcast(&all_in);
	while (arrived < N)
		pthread_cond_wait(&all_in, &mu);
	pthread_mutex_unlock(&mu);
	return r;
}
static void *worker(void *a) { return (void *)(long)parse((int)(long)a); }
int main(void)
{
	pthread_t t[N];
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	long total = 0;
	for (int i = 0; i < N; i++) {
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
    const want = 'total 19900';
    assert.match(before.stdout, new RegExp(want));
    const hot = before.stacks.hotSplits.find((h) => h.function === 'worker');
    assert.ok(hot && hot.count >= 200, `every call to parse linked a big chunk: ${JSON.stringify(before.stacks.hotSplits)}`);
    // Held while its thread waited: most of them had to be mapped, none could come from the pool.
    assert.ok(hot.mapped !== null && hot.mapped * 2 >= hot.count, `mapped ${hot.mapped} of ${hot.count}`);
    assert.ok((before.stacks.reservedBytes ?? 0) >= 150 * (1 << 20), `reserved ${before.stacks.reservedBytes}: a megabyte for each waiting thread`);
    // named by what to act on: parse, whose prologue asked for the chunk, and the callee without split stacks
    assert.equal(hot.label, form === 'shared' ? 'parse → ext_frame (libext)' : 'parse → ext_frame (linked in without split stacks)');
    assert.equal(hot.reason, '1.0 MiB demanded by the linker for a call into code without split stacks');
    assert.deepEqual([hot.demandedBy, hot.cause], ['parse', 'linker']);
    const s = before.suggestions.filter((x) => x.kind === 'annotate-stack');
    assert.equal(s.length, 1, JSON.stringify(before.suggestions));
    assert.equal(s[0]!.function, 'ext_frame');
    assert.equal(s[0]!.line, STACKCALL.split('\n').findIndex((l) => l.includes('ext_frame(8192)')) + 1, 'at the call to ext_frame, in parse');
    assert.match(s[0]!.message, /annotate ext_frame with stackBytes \d+/);
    apply(dir, s);
    const after = buildAndProfile(dir, build, 2);
    assert.match(after.stdout, new RegExp(want));
    assert.deepEqual(after.stacks.hotSplits.filter((h) => h.function === 'worker'), []);
    assert.deepEqual(after.suggestions.filter((x) => x.kind === 'annotate-stack'), []);
    // The effect in memory: the waiting threads hold no megabyte each any more.
    t.diagnostic(`stack reserved ${before.stacks.reservedBytes} before, ${after.stacks.reservedBytes} after; splits ${hot.count}, mapped ${hot.mapped}`);
    assert.ok((after.stacks.reservedBytes ?? Infinity) * 10 <= (before.stacks.reservedBytes ?? 0), `reserved ${before.stacks.reservedBytes} before, ${after.stacks.reservedBytes} after`);
  });
}

test('a thread function that calls the C library itself: its hot split names it, not the runtime’s trampoline, and the C library function to annotate', (t) => {
  if (!have(t, RUNTIME)) return;
  const dir = tempDir(t);
  writeFileSync(
    join(dir, 'direct.c'),
    `#include <pthread.h>
#include <stdio.h>
/* 2,000 threads whose own function calls snprintf: gold makes each one's start ask for a big chunk,
 * at the runtime's call through a pointer. */
static char out[64];
static void *worker(void *a)
{
	snprintf(out, sizeof out, "thread %ld", (long)a);
	return a;
}
int main(void)
{
	for (long i = 0; i < 2000; i++) {
		pthread_t t;
		pthread_create(&t, NULL, worker, (void *)i);
		pthread_join(t, NULL);
	}
	puts(out);
	return 0;
}
`,
  );
  const s = buildAndProfile(dir, ['direct.c'], 1);
  assert.match(s.stdout, /thread 1999/);
  const hot = s.stacks.hotSplits.find((h) => h.function === 'worker');
  assert.ok(hot && hot.count >= 2000, `every start of worker linked a big chunk, named by worker: ${JSON.stringify(s.stacks.hotSplits)}`);
  assert.deepEqual(s.stacks.hotSplits.filter((h) => h.function === 'cap__thread_main'), [], 'not the runtime’s trampoline');
  assert.ok(s.stacks.hotSplits.some((h) => h.function === 'main'), `main, which calls puts, named too: ${JSON.stringify(s.stacks.hotSplits)}`);
  // What the user can act on: the callee without split stacks, its library, and why the chunk.
  assert.equal(hot.label, 'worker → snprintf (libc)');
  assert.equal(hot.reason, '1.0 MiB demanded by the linker for a call into code without split stacks');
  assert.deepEqual(hot.callees, [{ name: 'snprintf', origin: 'library', library: 'libc' }]);
  // The runtime's own splits (its exit path, cap__main_entry calling exit) are none of the program's.
  const runtime = /^cap__/;
  assert.deepEqual(
    s.stacks.hotSplits.filter((h) => runtime.test(h.function) || runtime.test(h.demandedBy ?? '')),
    [],
    'no runtime function is a hot split',
  );
  const text = run(process.execPath, ['--import', 'tsx', mainTs, 'summary', join(dir, 'run1.caprec')], root);
  assert.match(text, /^ {2}hot split worker → snprintf \(libc\): 1\.0 MiB demanded by the linker for a call into code without split stacks {2}×\d+ \(\d+ mapped a chunk\) {2}at worker \(.*direct\.c:\d+\)$/m);
  assert.doesNotMatch(text, /hot split cap__/);
  // Each thread ended before the next began, and gave its chunk back for the next to take: the
  // splits cost no system call, and an annotation would not beat that. Nothing to suggest.
  assert.ok(hot.mapped !== null && hot.mapped * 10 < hot.count, `mapped ${hot.mapped} of ${hot.count}`);
  assert.deepEqual(s.suggestions.filter((x) => x.kind === 'annotate-stack'), [], JSON.stringify(s.suggestions));
});

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
  const hot = s.stacks.hotSplits.find((h) => h.function === 'worker' && h.count >= 2000);
  assert.ok(hot, `every call to fill linked a chunk: ${JSON.stringify(s.stacks.hotSplits)}`);
  // Said so: fill's own frame, split-stack code, not a call into code without split stacks.
  assert.deepEqual([hot.label, hot.cause, hot.callees], ['fill', 'frame', []]);
  assert.match(hot.reason, /^\d+\.\d KiB for fill's own frame, more than was left in the chunk: split-stack code, no call into code without split stacks$/);
  assert.deepEqual(s.suggestions.filter((x) => x.kind === 'annotate-stack'), []);
});

// ---- chunk-size, applied the same way: the quick fix's edit to the source, exactly ----

test('chunk-size applied as written: threads whose frames outgrow the first chunk link none', (t) => {
  if (!have(t, RUNTIME)) return;
  const dir = tempDir(t);
  const source = `#include <pthread.h>
#include <string.h>
/* Each thread's work needs about 6 KiB of stack of its own, more than the 3.75 KiB first chunk. */
__attribute__((noinline)) static int work(int i)
{
	volatile char buf[6000];
	memset((char *)buf, i, sizeof buf);
	return buf[i % 6000];
}
static void *worker(void *a)
{
	return (void *)(long)work((int)(long)a);
}
int main(void)
{
	pthread_t t[50];
	for (long i = 0; i < 50; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 50; i++)
		pthread_join(t[i], NULL);
	return 0;
}
`;
  writeFileSync(join(dir, 'threads.c'), source);
  const before = buildAndProfile(dir, ['threads.c'], 1);
  const site = (s: Summary): SiteSummary | undefined => s.stacks.sites.find((p) => p.threadsTotal === 50);
  assert.ok((site(before)?.chunksLinked ?? 0) >= 50, `every thread linked a chunk: ${JSON.stringify(before.stacks.sites)}`);
  const c = before.suggestions.filter((x) => x.kind === 'chunk-size');
  assert.equal(c.length, 1, JSON.stringify(before.suggestions));
  const s = c[0]!;
  assert.ok(s.kind === 'chunk-size' && s.line !== undefined);
  const fix = chunkFix(source, s.line, s.evidence.suggestedBytes);
  assert.ok(fix, `no edit for ${JSON.stringify(s)}`);
  writeFileSync(join(dir, 'threads.c'), applyEdits(source, fix.edits));
  const after = buildAndProfile(dir, ['threads.c'], 2);
  assert.equal(site(after)?.chunksLinked, 0, `threads still link chunks: ${JSON.stringify(after.stacks.sites)}`);
  assert.deepEqual(after.suggestions.filter((x) => x.kind === 'chunk-size'), []);
});
