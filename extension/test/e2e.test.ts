// End to end: a C program built with bin/capcc, run under `capriccio run --record`, summarized
// by `capriccio summary --json` (after the binary is gone: the recording carries its symbols).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

function run(file: string, args: readonly string[]): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}

interface SummaryJson {
  nodes: { id: number; kind: string; function: string; file: string; line: number; count: number; waitAvgNs: number; waitMaxNs: number }[];
  edges: { from: number; to: number; count: number; avgNs: number; maxNs: number }[];
  stacks: { chunksLinked: number; maxThreadUsedBytes: number };
  exit?: { how: string; status: number };
  symbols: string;
}

const within = (actual: number, expected: number, frac: number): boolean => Math.abs(actual - expected) <= expected * frac;

test('capriccio run --record + summary --json on a real Capriccio program: the compute edge and the sleep wait at the usleep line, as the program timed them', (t) => {
  if (!have(t, RUNTIME)) return;
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-e2e-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'prog.c');
  const exe = join(dir, 'prog');
  const rec = join(dir, 'prog.caprec');
  writeFileSync(src, PROG_C);
  const cc = run(capcc, ['-g', '-O1', src, '-o', exe]);
  assert.equal(cc.status, 0, cc.stderr);

  const r = run(process.execPath, ['--import', 'tsx', mainTs, 'run', '--record', rec, '--interval', '50', '--', exe]);
  assert.equal(r.status, 0, r.stderr);
  const own = /compute_ms=([\d.]+) sleep_ms=([\d.]+)/.exec(r.stdout);
  assert.ok(own, `the program did not report its own timings: ${r.stdout}`);
  const [computeNs, sleepNs] = [Number(own[1]) * 1e6, Number(own[2]) * 1e6];
  assert.match(r.stderr, /capriccio: recorded .* \(\d+ symbols\)/);

  rmSync(exe); // the recording's SYMBOLS frame is enough from now on
  const sr = run(process.execPath, ['--import', 'tsx', mainTs, 'summary', rec, '--json']);
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
});
