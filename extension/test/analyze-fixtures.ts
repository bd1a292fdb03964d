// Shared by the analyze*.test.ts files: C fixtures compiled with bin/capcc -c into a temporary
// directory, so the tests read what GCC really writes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(__dirname, '..', '..');
export const capcc = join(root, 'bin', 'capcc');
export const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-analyze-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Compiles DIR/NAME.c (written from `source`) with capcc -c; returns the .ci path. */
export function compile(dir: string, name: string, source: string, flags: readonly string[] = ['-O0']): string {
  const c = join(dir, `${name}.c`);
  writeFileSync(c, source);
  const r = spawnSync(capcc, [...flags, '-c', c, '-o', join(dir, `${name}.o`)], { encoding: 'utf8', cwd: dir });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`capcc -c ${c} failed (${r.status}): ${r.stderr}`);
  return join(dir, `${name}.ci`);
}

/**
 * One line per construct the analysis must read: a straight chain top → middle → leaf with
 * frames of very different sizes, mutual recursion ping ⇄ pong, a call through a pointer, a libc
 * call (srand) and one the Capriccio runtime provides (usleep), a static function, and a
 * variable-length array (a dynamic frame).
 * The line numbers are asserted by the tests.
 */
export const FIXTURE_C = `#include <stdlib.h>
#include <unistd.h>
typedef int (*op_fn)(int);
int leaf(int x) { volatile char b[1000]; b[0] = (char)x; return b[0]; }
int middle(int x) { volatile char b[2000]; b[0] = (char)x; return leaf(b[0]) + 1; }
int top(int x) { volatile char b[500]; b[0] = (char)x; return middle(b[0]) + 2; }
int ping(int n);
int pong(int n) { volatile char b[100]; b[0] = (char)n; return n > 0 ? ping(n - 1) : b[0]; }
int ping(int n) { volatile char b[200]; b[0] = (char)n; return n > 0 ? pong(n - 1) : b[0]; }
int apply(op_fn f, int x) { return f(x); }
static int helper(int x) { return x * 2; }
int sleeper(int x) { srand((unsigned)x); usleep((unsigned)x); return helper(x); }
int vla(int n) { volatile char b[n]; b[0] = 1; return b[0]; }
`;

/** A second object: calls leaf (defined in the fixture) and has its own static helper. */
export const OTHER_C = `int leaf(int x);
static int helper(int x) { volatile char b[300]; b[0] = (char)x; return b[0] + leaf(x); }
int other(int x) { return helper(x) + 1; }
`;

/** GCC's -fstack-usage lines for the same compile: NAME → [bytes, qualifier]. */
export function stackUsage(suPath: string): Map<string, { bytes: number; kind: string }> {
  const out = new Map<string, { bytes: number; kind: string }>();
  for (const line of readFileSync(suPath, 'utf8').split('\n')) {
    const m = /^.*:(\d+):(\d+):(\S+)\t(\d+)\t(\S+)$/.exec(line);
    if (m) out.set(m[3]!, { bytes: Number(m[4]), kind: m[5]! });
  }
  return out;
}

/** Builds samples/deep (make -s -C samples/deep) and returns its build directory. */
export function buildDeep(): string {
  const r = spawnSync('make', ['-s', '-C', join(root, 'samples', 'deep')], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`make -C samples/deep failed (${r.status}): ${r.stderr}`);
  return join(root, 'samples', 'deep', 'build');
}
