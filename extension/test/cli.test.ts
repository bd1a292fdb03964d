// Tests of the `capriccio` CLI (run from source through tsx) and of bin/capcc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { have, CLI, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');
const capcc = join(root, 'bin', 'capcc');

type Result = SpawnSyncReturns<string>;

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = root): Result {
  const r = spawnSync(file, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return r;
}

/** `capriccio ARGS` from source: node --import tsx extension/src/cli/main.ts ARGS */
function capriccio(args: readonly string[], env: NodeJS.ProcessEnv = {}): Result {
  return run(process.execPath, ['--import', 'tsx', mainTs, ...args], env);
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable NAME on the PATH, like `command -v`. */
function which(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir !== '' && isExecutable(candidate)) return candidate;
  }
  throw new Error(`${name} not found on PATH (${process.env.PATH})`);
}

function writeExecutable(path: string, text: string): void {
  writeFileSync(path, text);
  chmodSync(path, 0o755);
}

const SMALL_C = `int work(int n) {
  char buf[256];
  for (int i = 0; i < n && i < 256; i++) buf[i] = (char)i;
  return n > 0 ? buf[n % 256] + work(n - 1) : 0;
}
`;

const HELLO_C = `#include <stdio.h>
int main(void) { puts("hello from capriccio"); return 0; }
`;

/**
 * A copy of bin/capcc in a fake installation root, with a fake gcc that prints
 * its arguments one per line (and can exit or kill itself on request).
 */
function fakeInstall(dir: string, withLib: boolean): { root: string; capcc: string; gcc: string } {
  const fakeRoot = join(dir, 'root');
  mkdirSync(join(fakeRoot, 'bin'), { recursive: true });
  copyFileSync(capcc, join(fakeRoot, 'bin', 'capcc'));
  chmodSync(join(fakeRoot, 'bin', 'capcc'), 0o755);
  if (withLib) {
    mkdirSync(join(fakeRoot, 'runtime', 'build'), { recursive: true });
    writeFileSync(join(fakeRoot, 'runtime', 'build', 'libcapriccio.a'), '!<arch>\n');
    writeFileSync(join(fakeRoot, 'runtime', 'build', 'tls_mark.o'), '');
    writeFileSync(join(fakeRoot, 'runtime', 'build', 'interpose.list'), '{ read; };\n');
  }
  const gcc = join(dir, 'fake-gcc');
  writeExecutable(
    gcc,
    `#!/bin/sh
case "$1" in -print-prog-name=*) echo "\${1#-print-prog-name=}"; exit 0 ;; esac
printf '%s\\n' "$@"
[ -n "\${FAKE_GCC_KILL:-}" ] && kill -"$FAKE_GCC_KILL" $$
exit "\${FAKE_GCC_EXIT:-0}"
`,
  );
  return { root: fakeRoot, capcc: join(fakeRoot, 'bin', 'capcc'), gcc };
}

const COMPILE_FLAGS = ['-fsplit-stack', '-fno-omit-frame-pointer', '-fcallgraph-info=su'];
const linkFlags = (r: string): string[] => [
  '-fuse-ld=gold',
  '-Wl,--wrap=main',
  '-Wl,--wrap=__generic_morestack',
  '-Wl,-z,now',
  join(r, 'runtime', 'build', 'tls_mark.o'),
  '-Wl,--whole-archive',
  join(r, 'runtime', 'build', 'libcapriccio.a'),
  '-Wl,--no-whole-archive',
  `-Wl,--dynamic-list=${join(r, 'runtime', 'build', 'interpose.list')}`,
  '-luring',
  '-ldl',
  '-pthread',
];

test('capriccio --help lists the cc command', () => {
  for (const flag of ['--help', 'help', '-h']) {
    const r = capriccio([flag]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: capriccio <command>/m);
    assert.match(r.stdout, /^ {2}cc \[gcc args\.\.\.\] +\S/m);
  }
});

test('capriccio --version prints the package version', () => {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const r = capriccio(['--version']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `capriccio ${version}\n`);
});

test('an unknown command exits 2 with a message and the usage', () => {
  const r = capriccio(['frobnicate', 'x']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^capriccio: unknown command 'frobnicate'$/m);
  assert.match(r.stderr, /usage: capriccio/);
  assert.equal(r.stdout, '');
});

test('no command exits 2 with the usage', () => {
  const r = capriccio([]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing command/);
  assert.match(r.stderr, /usage: capriccio/);
});

test('capriccio cc names a missing compiler (CAPRICCIO_GCC) and exits 2', () => {
  const r = capriccio(['cc', '-c', 'x.c'], { CAPRICCIO_GCC: '/nonexistent/gcc' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^capcc: .*\/nonexistent\/gcc.*Debian package gcc/m);
});

test('capriccio cc refuses another architecture than x86-64', () => {
  const r = capriccio(['cc', '-c', 'x.c'], { CAPCC_UNAME_M: 'aarch64' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^capcc: architecture aarch64 is not supported.*x86-64/m);
});

test('linking without ld.gold gives the gold error naming binutils', (t) => {
  const dir = tempDir(t);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  // Everything capcc and gcc need to get that far, but no ld.gold.
  for (const tool of ['gcc', 'uname', 'readlink']) symlinkSync(which(tool), join(bin, tool));
  const env = { PATH: bin, CAPRICCIO_GCC: join(bin, 'gcc') };

  // Precondition: this gcc can no longer find an executable ld.gold.
  const probe = run(join(bin, 'gcc'), ['-print-prog-name=ld.gold'], env);
  assert.equal(probe.status, 0, probe.stderr);
  const gold = probe.stdout.trim();
  assert.ok(gold.length > 0);
  assert.ok(
    gold.includes('/') ? !isExecutable(gold) : !isExecutable(join(bin, gold)),
    `precondition failed: gcc still finds ld.gold at ${gold}`,
  );

  writeFileSync(join(dir, 'hello.c'), HELLO_C);
  const r = capriccio(['cc', join(dir, 'hello.c'), '-o', join(dir, 'hello')], env);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^capcc: the gold linker \(ld\.gold\) was not found.*binutils/m);
  assert.equal(existsSync(join(dir, 'hello')), false);
});

test('capriccio cc -c builds a split-stack object and a .ci call graph next to it', (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'small.c');
  const obj = join(dir, 'small.o');
  writeFileSync(src, SMALL_C);
  const r = capriccio(['cc', '-O1', '-c', src, '-o', obj]);
  assert.equal(r.status, 0, r.stderr);
  const sections = run(which('readelf'), ['-SW', obj]);
  assert.equal(sections.status, 0, sections.stderr);
  assert.match(sections.stdout, /\s\.note\.GNU-split-stack\s/);
  const ci = join(dir, 'small.ci');
  assert.ok(existsSync(ci), `${ci} was not written`);
  assert.match(readFileSync(ci, 'utf8'), /title: "work".*bytes/);
});

test('capriccio cc passes the compiler exit status through', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'bad.c'), 'int f(void) { return syntax error; }\n');
  const r = capriccio(['cc', '-c', join(dir, 'bad.c'), '-o', join(dir, 'bad.o')]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /error/);

  const fake = fakeInstall(dir, true);
  const r7 = run(process.execPath, ['--import', 'tsx', mainTs, 'cc', '-c', 'x.c'], {
    CAPRICCIO_GCC: fake.gcc,
    FAKE_GCC_EXIT: '7',
  });
  assert.equal(r7.status, 7, r7.stderr);
});

test('capriccio cc ends with the signal that ended the compiler', (t) => {
  const fake = fakeInstall(tempDir(t), true);
  const r = capriccio(['cc', '-c', 'x.c'], { CAPRICCIO_GCC: fake.gcc, FAKE_GCC_KILL: 'TERM' });
  assert.equal(r.status, null);
  assert.equal(r.signal, 'SIGTERM');
});

test('capcc adds compile flags always and link flags only when linking', (t) => {
  const fake = fakeInstall(tempDir(t), true);
  const env = { CAPRICCIO_GCC: fake.gcc };
  // capriccio.h's directory, then capcc's <errno.h> (runtime/include/capriccio/errno.h).
  const include = [`-I${join(fake.root, 'runtime', 'include')}`, `-I${join(fake.root, 'runtime', 'include', 'capriccio')}`];
  const argsOf = (r: Result): string[] => {
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').slice(0, -1);
  };

  for (const mode of ['-c', '-S', '-E', '-M', '-MM']) {
    assert.deepEqual(argsOf(run(fake.capcc, [mode, 'a.c'], env)), [...COMPILE_FLAGS, mode, 'a.c', ...include]);
  }
  for (const query of [['--version'], ['-v'], ['-dumpversion'], ['-print-file-name=libc.so']]) {
    assert.deepEqual(argsOf(run(fake.capcc, query, env)), [...COMPILE_FLAGS, ...query, ...include]);
  }
  assert.deepEqual(argsOf(run(fake.capcc, [], env)), [...COMPILE_FLAGS, ...include]);
  const user = ['-O2', 'a.o', 'b.c', '-o', 'prog', '-lm'];
  assert.deepEqual(argsOf(run(fake.capcc, user, env)), [...COMPILE_FLAGS, ...user, ...include, ...linkFlags(fake.root)]);
  assert.deepEqual(argsOf(run(fake.capcc, ['-v', 'a.o'], env)), [
    ...COMPILE_FLAGS,
    '-v',
    'a.o',
    ...include,
    ...linkFlags(fake.root),
  ]);
});

test('capcc finds its installation through symlinks (node_modules/.bin)', (t) => {
  const dir = tempDir(t);
  const fake = fakeInstall(dir, true);
  const binDir = join(dir, 'project', 'node_modules', '.bin');
  mkdirSync(binDir, { recursive: true });
  symlinkSync(join('..', '..', '..', 'root', 'bin', 'capcc'), join(binDir, 'capcc'));
  symlinkSync(join(binDir, 'capcc'), join(dir, 'cc-alias'));
  for (const via of [join(binDir, 'capcc'), join(dir, 'cc-alias')]) {
    const r = run(via, ['a.o'], { CAPRICCIO_GCC: fake.gcc });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes(`-I${join(fake.root, 'runtime', 'include')}\n`), r.stdout);
    assert.ok(r.stdout.includes(`${join(fake.root, 'runtime', 'build', 'libcapriccio.a')}\n`), r.stdout);
  }
});

test('capcc tells to run npm run build when linking without libcapriccio.a', (t) => {
  const dir = tempDir(t);
  const fake = fakeInstall(dir, false);
  writeFileSync(join(dir, 'hello.c'), HELLO_C);
  const r = run(fake.capcc, [join(dir, 'hello.c'), '-o', join(dir, 'hello')]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^capcc: .*libcapriccio\.a is missing; run npm run build/m);
  // Compiling alone does not need the library.
  const c = run(fake.capcc, ['-c', join(dir, 'hello.c'), '-o', join(dir, 'hello.o')]);
  assert.equal(c.status, 0, c.stderr);
});

test('bin/capriccio.js says to build first when dist/cli.js is missing', (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(root, 'bin', 'capriccio.js'), join(dir, 'bin', 'capriccio.js'));
  const r = run(process.execPath, [join(dir, 'bin', 'capriccio.js'), '--help']);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, 'capriccio: not built yet — run npm run build\n');
});

test('bin/capriccio.js runs the built CLI', (t) => {
  if (!have(t, CLI)) return;
  const r = run(process.execPath, [join(root, 'bin', 'capriccio.js'), '--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ {2}cc /m);
});

test('capriccio cc links and runs a program on the Capriccio runtime', (t) => {
  if (!have(t, RUNTIME)) return;
  const dir = tempDir(t);
  writeFileSync(join(dir, 'hello.c'), HELLO_C);
  const exe = join(dir, 'hello');
  const r = capriccio(['cc', '-O1', join(dir, 'hello.c'), '-o', exe]);
  assert.equal(r.status, 0, r.stderr);
  const out = run(exe, []);
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, 'hello from capriccio\n');
});
