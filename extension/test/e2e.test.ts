// End to end: C programs built with bin/capcc, run under `capriccio run --record`, summarized
// by `capriccio summary --json` (after the binary is gone: the recording carries its symbols);
// and programs stopped by `capriccio run` (--duration, a forwarded signal) that shut down in time
// or are killed after --kill-after, as the run, the summary and the report tell it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeRecording } from '../src/protocol/decode.ts';
import type { EndSummary } from '../src/analysis/end.ts';
import { DATA_ID } from '../../shared/domids.ts';
import type { ViewData } from '../../shared/view.ts';
import { have, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');
const capcc = join(root, 'bin', 'capcc');

/**
 * A thread that computes ~3 ms then sleeps 15 ms, 20 times, and prints how long its computing and
 * sleeping really took by its own clock (a loaded machine stretches them; the profiler must agree).
 */
const PROG_C = `#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static volatile unsigned long sink;

static void compute(double ms)
{
	double end = now_ms() + ms;
	while (now_ms() < end)
		sink++;
}

static double computed, slept;

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++) {
		double t0 = now_ms();
		compute(3);
		double t1 = now_ms();
		usleep(15000); /* SLEEP_LINE */
		if (i > 0)
			computed += t1 - t0; /* the runs between two sleeps */
		slept += now_ms() - t1;
	}
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, worker, NULL);
	pthread_join(t, NULL);
	printf("compute_ms=%.4f sleep_ms=%.4f\\n", computed / 19, slept / 20);
	return 0;
}
`;
const SLEEP_LINE = PROG_C.split('\n').findIndex((l) => l.includes('SLEEP_LINE')) + 1;

function run(file: string, args: readonly string[], env: Record<string, string> = {}): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return r;
}

const capriccio = (args: readonly string[]): SpawnSyncReturns<string> => run(process.execPath, ['--import', 'tsx', mainTs, ...args]);

/** `source` built by capcc in a fresh directory (removed after the test). */
function buildProgram(t: TestContext, source: string): { dir: string; src: string; exe: string } {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'prog.c');
  const exe = join(dir, 'prog');
  writeFileSync(src, source);
  const cc = run(capcc, ['-g', '-O1', src, '-o', exe]);
  assert.equal(cc.status, 0, cc.stderr);
  return { dir, src, exe };
}

interface SummaryJson {
  nodes: { id: number; kind: string; function: string; file: string; line: number; count: number; waitAvgNs: number; waitMaxNs: number }[];
  edges: { from: number; to: number; count: number; avgNs: number; maxNs: number }[];
  snapshots: number;
  stacks: { chunksLinked: number; maxThreadUsedBytes: number; usedBytes: number; sites: { function: string; file: string; threadsLive: number; threadsTotal: number; usedBytesTotal: number }[] };
  exit?: { how: string; status: number };
  end: EndSummary | null;
  suggestions: { kind: string; function?: string; file?: string; line?: number; message: string }[];
  symbols: string;
  workers: { id: number; busyNs: number; parkedNs: number; utilisation: number; runnable: number; threads: number; switches: number; steals: number; migrations: number }[];
}

const within = (actual: number, expected: number, frac: number): boolean => Math.abs(actual - expected) <= expected * frac;

test('capriccio run --record + summary --json on a real Capriccio program: the compute edge and the sleep wait at the usleep line, as the program timed them', (t) => {
  if (!have(t, RUNTIME)) return;
  const { dir, src, exe } = buildProgram(t, PROG_C);
  const rec = join(dir, 'prog.caprec');

  // One worker: its busy and parked times are then the one thread's computing and sleeping.
  const r = run(process.execPath, ['--import', 'tsx', mainTs, 'run', '--record', rec, '--interval', '50', '--', exe], { CAPRICCIO_WORKERS: '1' });
  assert.equal(r.status, 0, r.stderr);
  const own = /compute_ms=([\d.]+) sleep_ms=([\d.]+)/.exec(r.stdout);
  assert.ok(own, `the program did not report its own timings: ${r.stdout}`);
  const [computeNs, sleepNs] = [Number(own[1]) * 1e6, Number(own[2]) * 1e6];
  assert.match(r.stderr, /capriccio: recorded .* \(\d+ symbols\)/);

  rmSync(exe); // the recording's SYMBOLS frame is enough from now on
  const sr = capriccio(['summary', rec, '--json']);
  assert.equal(sr.status, 0, sr.stderr);
  const s = JSON.parse(sr.stdout) as SummaryJson;
  assert.equal(s.symbols, 'symbols-frame');
  assert.deepEqual(s.exit, { how: 'exited', status: 0, tNs: (s.exit as { tNs: number } | undefined)?.tNs });

  const sleep = s.nodes.find((n) => n.kind === 'sleep');
  assert.ok(sleep, `no sleep node in ${JSON.stringify(s.nodes)}`);
  assert.equal(sleep.function, 'worker');
  assert.equal(sleep.file, src);
  assert.equal(sleep.line, SLEEP_LINE);
  assert.equal(sleep.count, 20);
  // Within 10% of what the program itself saw: 15 ms on an idle machine, more on a loaded one
  // (a sleep never ends early).
  assert.ok(sleepNs >= 15e6 && sleep.waitAvgNs >= 15e6, `sleep wait avg ${sleep.waitAvgNs} ns, the program slept ${sleepNs} ns: less than 15 ms`);
  assert.ok(within(sleep.waitAvgNs, sleepNs, 0.1), `sleep wait avg ${sleep.waitAvgNs} ns, the program slept ${sleepNs} ns`);

  const loop = s.edges.find((e) => e.from === sleep.id && e.to === sleep.id);
  assert.ok(loop, `no sleep→sleep edge in ${JSON.stringify(s.edges)}`);
  assert.equal(loop.count, 19);
  // The run between two sleeps is the computing: within 10% of what the program itself measured.
  // That is 3 ms on an idle machine; on a loaded one the kernel may take the CPU away just before
  // the loop sees its 3 ms end, so it is at least 3 ms, not about 3 ms.
  assert.ok(computeNs >= 3e6 && loop.avgNs >= 3e6, `edge avg ${loop.avgNs} ns, the program computed ${computeNs} ns: less than 3 ms`);
  assert.ok(within(loop.avgNs, computeNs, 0.1), `edge avg ${loop.avgNs} ns, the program computed ${computeNs} ns`);
  assert.ok(s.stacks.maxThreadUsedBytes > 0);

  // One worker (WORKERS, protocol 2): parked while its one thread slept, busy while it computed.
  assert.equal(s.workers.length, 1, JSON.stringify(s.workers));
  const w = s.workers[0]!;
  assert.equal(w.id, 0);
  const exitNs = (s.exit as { tNs: number }).tNs;
  assert.ok(w.parkedNs >= 0.8 * 20 * sleepNs, `parked ${w.parkedNs} ns, the program slept 20 × ${sleepNs} ns`);
  assert.ok(w.busyNs >= 20 * computeNs, `busy ${w.busyNs} ns, the program computed 20 × ${computeNs} ns`);
  assert.ok(w.busyNs + w.parkedNs <= exitNs * 1.05 + 50e6, `busy + parked ${w.busyNs + w.parkedNs} ns outlast the program's ${exitNs} ns`);
  assert.ok(Math.abs(w.utilisation - w.busyNs / (w.busyNs + w.parkedNs)) < 1e-9);
  assert.ok(w.switches >= 40, `${w.switches} switches`);
  assert.equal(w.steals, 0);
  const text = capriccio(['summary', rec]);
  assert.match(text.stdout, /workers \(1\)\n {2}worker 0 {2}busy [\d.]+% \(.+\), parked .+, run queue \d+, threads \d+, \d+ switches, 0 steals, 0 migrations/);
});

/**
 * A thread that computes without blocking in a loop whose work is all in a function inlined into
 * it (always_inline), while main waits: nearly every sample lands on an instruction of the inlined
 * mix, which addr2line -i names "mix, inlined in spin at the loop body". A fixed amount of work,
 * and no call out of the loop: a clock call there would make hot splits into code without split
 * stacks, whose annotate-stack suggestion reads the binary's code, not only its symbols.
 */
const INLINE_C = `#include <pthread.h>
#include <stdio.h>

static inline __attribute__((always_inline)) unsigned long mix(unsigned long x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdUL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53UL;
	return x ^ (x >> 33);
}

static volatile unsigned long sink;

static void *spin(void *arg)
{
	unsigned long x = (unsigned long)arg;
	for (long i = 0; i < 200000000L; i++) /* HOT_LOOP */
		x = mix(x + i);
	sink = x;
	return NULL;
}

int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, spin, (void *)1);
	pthread_join(t, NULL);
	printf("sink=%lu\\n", sink);
	return 0;
}
`;
const HOT_LOOP = INLINE_C.split('\n').findIndex((l) => l.includes('HOT_LOOP')) + 1;

test('a recording names inlined code as a live session does: the summary read without the binary equals the one symbolized by addr2line -i', (t) => {
  if (!have(t, RUNTIME)) return;
  const { dir, src, exe } = buildProgram(t, INLINE_C);
  const rec = join(dir, 'inline.caprec');
  const r = capriccio(['run', '--record', rec, '--interval', '50', '--', exe]);
  assert.equal(r.status, 0, r.stderr);

  // The same recording without the frames the tool wrote at the end: symbolized live, from the binary.
  const bytes = readFileSync(rec);
  const recording = decodeRecording(rec, bytes);
  const types = recording.frames.map((f) => f.frame.type);
  assert.deepEqual(types.slice(types.indexOf('end')), ['end', 'symbols', 'inlined']);
  const live = join(dir, 'live.caprec');
  writeFileSync(live, bytes.subarray(0, recording.frames[types.indexOf('symbols')]!.offset));
  const fromBinary = summaryOf(live);
  assert.equal(fromBinary.symbols, 'addr2line');

  // The samples did land in the inlined mix: a recording that kept only its innermost locations
  // would name them "mix, outside any loop".
  const inlined = recording.frames.flatMap((f) => (f.frame.type === 'inlined' ? f.frame.inlined : []));
  const mixSymbols = new Set(recording.frames.flatMap((f) => (f.frame.type === 'symbols' ? f.frame.symbols : [])).filter((e) => e.function === 'mix').map((e) => e.addr));
  const sampledPcs = recording.frames.flatMap((f) => (f.frame.type === 'snapshot' ? f.frame.samples.map((p) => p.frames[0]!) : []));
  assert.ok(
    sampledPcs.some((pc) => mixSymbols.has(pc) && inlined.some((e) => e.addr === pc && e.callers[0]?.function === 'spin')),
    `no sample in mix inlined into spin: ${JSON.stringify(fromBinary.suggestions)}`,
  );

  rmSync(exe); // the recording's SYMBOLS and INLINED frames are enough from now on
  const fromRecording = summaryOf(rec);
  assert.equal(fromRecording.symbols, 'symbols-frame');
  assert.deepEqual({ ...fromRecording, symbols: undefined }, { ...fromBinary, symbols: undefined });

  // One yield suggestion, on spin's hot loop; none at mix.
  const y = fromRecording.suggestions.filter((x) => x.kind === 'yield');
  assert.ok(y.length >= 1, JSON.stringify(y));
  assert.deepEqual([y[0]!.function, y[0]!.file, y[0]!.line], ['spin', src, HOT_LOOP]);
  assert.ok(y.every((x) => x.function === 'spin'), `a yield suggestion outside spin: ${JSON.stringify(y)}`);
});

/**
 * A server's shape: four workers serve (sleep 20 ms at a time) until SIGTERM or SIGINT, then need
 * 3 s to finish (30 steps of 100 ms), and main returns 7 once they are done, printing how long the
 * shutdown took by its own clock. With "stubborn" the workers never stop: only SIGKILL ends it.
 */
const SHUTDOWN_C = `#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;
static double stop_ms;
static int stubborn;

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void on_stop(int sig)
{
	(void)sig;
	if (!stopping)
		stop_ms = now_ms();
	stopping = 1;
}

static void *worker(void *arg)
{
	(void)arg;
	while (!stopping || stubborn)
		usleep(20000); /* SERVE_LINE */
	for (int i = 0; i < 30; i++)
		usleep(100000);
	return NULL;
}

int main(int argc, char **argv)
{
	stubborn = argc > 1 && strcmp(argv[1], "stubborn") == 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	printf("ready\\n");
	fflush(stdout);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("shutdown_ms=%.0f\\n", now_ms() - stop_ms);
	return 7;
}
`;
const SERVE_LINE = SHUTDOWN_C.split('\n').findIndex((l) => l.includes('SERVE_LINE')) + 1;

/** `capriccio summary --json` of a recording. */
function summaryOf(rec: string): SummaryJson {
  const sr = capriccio(['summary', rec, '--json']);
  assert.equal(sr.status, 0, sr.stderr);
  return JSON.parse(sr.stdout) as SummaryJson;
}

/** The run's own count of snapshots ("capriccio: N snapshots, ..."). */
const liveSnapshots = (stderr: string): number => Number(/^capriccio: (\d+) snapshots,/m.exec(stderr)?.[1]);

/**
 * `capriccio run ARGS`, sent `signal` once the program has printed "ready" (its handlers are in
 * place). In a process group of its own: after two minutes the whole group is killed, the program
 * with it, since a program left running would hold the pipes open and the test would never end.
 */
function runAndSignal(args: readonly string[], signal: NodeJS.Signals): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', mainTs, 'run', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let sent = false;
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!sent && stdout.includes('ready\n')) {
        sent = true;
        child.kill(signal);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

test('capriccio run --duration: a program that needs 3 s to shut down exits on its own within the default --kill-after (EXIT frame, its status, the stacks of its finished threads)', (t) => {
  if (!have(t, RUNTIME)) return;
  const { dir, src, exe } = buildProgram(t, SHUTDOWN_C);
  const rec = join(dir, 'clean.caprec');
  // --duration 2 leaves the program ample time to install its handlers (it prints "ready" then).
  const r = capriccio(['run', '--record', rec, '--duration', '2', '--interval', '50', '--', exe]);
  assert.match(r.stdout, /^ready$/m, `the program was not ready when --duration ended: ${r.stderr}`);
  const own = /shutdown_ms=(\d+)/.exec(r.stdout);
  assert.ok(own, `the program did not finish its shutdown: status ${r.status}, ${r.stderr}`);
  // By its own clock it took its 3 s (more than the 2 s SIGKILL used to allow), within the 10 s default.
  assert.ok(Number(own[1]) >= 2900 && Number(own[1]) < 10_000, `shutdown took ${own[1]} ms`);
  assert.equal(r.status, 7, r.stderr);
  assert.doesNotMatch(r.stderr, /no EXIT frame/);
  assert.match(r.stderr, new RegExp(`^capriccio: ${exe} exited with status 7 after SIGTERM, sent when --duration 2 ended$`, 'm'));

  const s = summaryOf(rec);
  assert.equal(s.exit?.status, 7);
  assert.deepEqual(s.end, {
    how: 'exited',
    status: 7,
    signal: null,
    stop: { reason: '--duration 2 ended', signal: 'SIGTERM', killAfterMs: 10_000, killed: false },
    unfinishedBytes: 0,
    statusText: 'exit status 7',
    text: 'exited with status 7 after SIGTERM, sent when --duration 2 ended',
  });
  // The final snapshot came: the four workers have finished, and their stack use is counted.
  const site = s.stacks.sites.find((p) => p.file === src && p.function === 'main');
  assert.ok(site, `no pthread_create site in main: ${JSON.stringify(s.stacks.sites)}`);
  assert.deepEqual([site.threadsTotal, site.threadsLive], [4, 0]);
  assert.ok(site.usedBytesTotal > 0 && s.stacks.usedBytes > 0, JSON.stringify(s.stacks));
});

test('capriccio run --duration --kill-after 1: a program that does not stop is killed; the run, summary (text and --json) and report say so and why; everything before is kept', (t) => {
  if (!have(t, RUNTIME)) return;
  const { dir, src, exe } = buildProgram(t, SHUTDOWN_C);
  const rec = join(dir, 'killed.caprec');
  const r = capriccio(['run', '--record', rec, '--duration', '2', '--kill-after', '1', '--interval', '50', '--', exe, 'stubborn']);
  assert.match(r.stdout, /^ready$/m, `the program was not ready when --duration ended: ${r.stderr}`);
  assert.equal(r.status, 137, r.stderr);
  const why = 'killed by the profiler with SIGKILL: it did not exit within 1 s of SIGTERM, sent when --duration 2 ended';
  assert.match(r.stderr, /\(no EXIT frame: the profiler killed the program\)\n/);
  assert.ok(r.stderr.includes(`capriccio: ${exe} ${why}\n`), r.stderr);
  assert.doesNotMatch(r.stderr, /ended abnormally/);
  assert.match(r.stderr, /capriccio: recorded .* \(\d+ symbols\)/);

  // Every frame received is in the recording, whole, then END, SYMBOLS and INLINED (the runtime's
  // usleep has nanosleep inlined into it).
  const recording = decodeRecording(rec, readFileSync(rec));
  assert.deepEqual(recording.errors, []);
  assert.equal(recording.truncated, undefined);
  const types = recording.frames.map((f) => f.frame.type);
  assert.deepEqual(types.slice(-3), ['end', 'symbols', 'inlined']);
  assert.equal(types[0], 'hello');
  assert.ok(!types.includes('exit'));

  const s = summaryOf(rec);
  assert.equal(s.snapshots, liveSnapshots(r.stderr));
  assert.ok(s.snapshots >= 3, `${s.snapshots} snapshots`);
  assert.equal(s.symbols, 'symbols-frame');
  assert.equal(s.exit, undefined);
  assert.deepEqual(s.end, {
    how: 'signaled',
    status: 9,
    signal: 'SIGKILL',
    stop: { reason: '--duration 2 ended', signal: 'SIGTERM', killAfterMs: 1000, killed: true },
    unfinishedBytes: s.end?.unfinishedBytes ?? 0,
    statusText: 'killed by SIGKILL',
    text: s.end?.unfinishedBytes ? `${why}; it ended while sending a frame (${s.end.unfinishedBytes} bytes, left out of the recording)` : why,
  });
  const serve = s.nodes.find((n) => n.kind === 'sleep' && n.line === SERVE_LINE);
  assert.ok(serve && serve.function === 'worker' && serve.count > 0, `no serving sleep in ${JSON.stringify(s.nodes)}`);
  assert.equal(s.stacks.sites.find((p) => p.file === src && p.function === 'main')?.threadsLive, 4); // still serving when killed

  const text = capriccio(['summary', rec]);
  assert.equal(text.status, 0, text.stderr);
  assert.ok(text.stdout.includes(`\nended     ${s.end.text}\n`), text.stdout);

  const html = join(dir, 'killed.html');
  const rep = capriccio(['report', rec, '-o', html]);
  assert.equal(rep.status, 0, rep.stderr);
  const embedded = new RegExp(`<script type="application/json" id="${DATA_ID}">(.*?)</script>`, 's').exec(readFileSync(html, 'utf8'));
  assert.ok(embedded, 'no embedded view data');
  const view = JSON.parse(embedded[1]!) as ViewData;
  assert.deepEqual(view.end, { status: 'killed by SIGKILL', text: s.end.text, stopped: true, killed: true });
  assert.ok(view.nodes.some((n) => n.label === 'worker'));
});

test('capriccio run passes SIGINT/SIGTERM on to the program: it finishes in time (default --kill-after), or is killed at once (--kill-after 0)', async (t) => {
  if (!have(t, RUNTIME)) return;
  const { dir, exe } = buildProgram(t, SHUTDOWN_C);
  const clean = join(dir, 'sigint.caprec');
  const a = await runAndSignal(['--record', clean, '--', exe], 'SIGINT');
  assert.equal(a.status, 7, a.stderr);
  assert.match(a.stdout, /shutdown_ms=\d+/);
  assert.match(a.stderr, new RegExp(`^capriccio: ${exe} exited with status 7 after SIGINT, sent when capriccio run received SIGINT$`, 'm'));
  assert.equal(summaryOf(clean).end?.stop?.killed, false);

  const killed = join(dir, 'sigterm.caprec');
  const b = await runAndSignal(['--record', killed, '--kill-after', '0', '--', exe, 'stubborn'], 'SIGTERM');
  assert.equal(b.status, 137, b.stderr);
  assert.match(b.stderr, new RegExp(`^capriccio: ${exe} killed by the profiler with SIGKILL right after SIGTERM, sent when capriccio run received SIGTERM \\(no time allowed to exit\\)`, 'm'));
  const s = summaryOf(killed);
  assert.deepEqual(s.end?.stop, { reason: 'capriccio run received SIGTERM', signal: 'SIGTERM', killAfterMs: 0, killed: true });
});
