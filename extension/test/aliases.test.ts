// The name a program links against, read from the real C library, libaio and programs built
// here: where addr2line says `__libc_pause` or `_IO_getc`, the annotation must name `pause` or
// the `getc` / `fgetc` the program calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseName, elfSymbols, linkName, parseReadelfSymbols, type ElfSymbol } from '../src/symbols/aliases.ts';
import { have, LIBAIO } from './prerequisites.ts';

const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const LIBAIO_SO = '/usr/lib/x86_64-linux-gnu/libaio.so.1';

/** The address of NAME@@VERSION (or NAME@VERSION with `old`) in a shared object. */
function addressOf(lib: string, name: string, old = false): bigint {
  const s = elfSymbols(lib, 'dynamic')!.find((x) => x.name === name && !x.undefined && x.defaultVersion !== old);
  assert.ok(s, `${name} not in ${lib}`);
  return s.value;
}

const addr2lineName = (file: string, addr: bigint): string =>
  execFileSync('addr2line', ['-f', '-e', file, `0x${addr.toString(16)}`], { encoding: 'utf8' }).split('\n')[0]!;

/** Builds a C program calling `body` with plain gcc -O2 (as a user would); its path. */
function program(t: { after: (fn: () => void) => void }, body: string, libs: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-aliases-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'p.c'), `#define _GNU_SOURCE\n#include <stdio.h>\n#include <unistd.h>\n#include <sys/msg.h>\n#include <aio.h>\nint main(void) { ${body}; return 0; }\n`);
  execFileSync('gcc', ['-O2', '-o', join(dir, 'p'), join(dir, 'p.c'), ...libs], { stdio: 'pipe' });
  return join(dir, 'p');
}

test('readelf lines: versions (default and older), imports, sizes in hex', () => {
  const s = parseReadelfSymbols(`
Symbol table '.dynsym' contains 4 entries:
   Num:    Value          Size Type    Bind   Vis      Ndx Name
     1: 0000000000000000     0 FUNC    GLOBAL DEFAULT  UND getc@GLIBC_2.2.5 (2)
   716: 000000000007dce0   271 FUNC    WEAK   DEFAULT   16 getc@@GLIBC_2.2.5
   828: 0000000000150070    33 FUNC    GLOBAL DEFAULT   16 realpath@GLIBC_2.2.5
   900: 0000000000001000 0x186a0 FUNC    GLOBAL DEFAULT   14 big
`);
  assert.deepEqual(
    s.map((x) => [x.name, x.version, x.defaultVersion, x.undefined, x.size]),
    [
      ['getc', 'GLIBC_2.2.5', false, true, 0n],
      ['getc', 'GLIBC_2.2.5', true, false, 271n],
      ['realpath', 'GLIBC_2.2.5', false, false, 33n],
      ['big', undefined, true, false, 100000n],
    ],
  );
});

test('glibc: pause and msgrcv, not their internal names; an address inside the function', (t) => {
  const p = program(t, 'pause()');
  const pause = addressOf(LIBC, 'pause');
  // What addr2line calls it with glibc's debug information (Debian's libc6-dbg) installed.
  const debugName = addr2lineName(LIBC, pause);
  assert.ok(debugName === 'pause' || debugName === '__libc_pause', debugName);
  assert.equal(linkName(LIBC, pause, p), 'pause');
  assert.equal(linkName(LIBC, pause + 7n, p), 'pause');
  // msgrcv's other name is exported too, but in GLIBC_PRIVATE: never linked against.
  const msgrcv = addressOf(LIBC, 'msgrcv');
  assert.ok(elfSymbols(LIBC, 'dynamic')!.some((s) => s.name === '__libc_msgrcv' && s.value === msgrcv));
  assert.equal(linkName(LIBC, msgrcv, p), 'msgrcv');
});

test('glibc: getc, fgetc and _IO_getc are one function: the name the program imports', (t) => {
  const getc = addressOf(LIBC, 'getc');
  assert.equal(addressOf(LIBC, 'fgetc'), getc);
  assert.equal(addressOf(LIBC, '_IO_getc'), getc);
  // getchar() at -O2 is glibc's inline getc(stdin): the program imports getc.
  const getchar = program(t, 'return getchar()');
  assert.equal(linkName(LIBC, getc, getchar), 'getc');
  const fgetc = program(t, 'return fgetc(stdin)');
  assert.equal(linkName(LIBC, getc, fgetc), 'fgetc');
  // A program importing none of them gets the public, shortest one.
  assert.equal(linkName(LIBC, getc, program(t, 'pause()')), 'getc');
});

test('symbol versions: the default version before an older one, the imported version first', (t) => {
  // res_send@@GLIBC_2.34 and __res_send@GLIBC_2.2.5 (older, kept for old programs) at one address.
  const resSend = addressOf(LIBC, 'res_send');
  assert.ok(elfSymbols(LIBC, 'dynamic')!.some((s) => s.name === '__res_send' && s.value === resSend && !s.defaultVersion));
  assert.equal(linkName(LIBC, resSend, program(t, 'pause()')), 'res_send');
  // aio_read and aio_read64 are one function in two versions each.
  const aioRead = addressOf(LIBC, 'aio_read');
  assert.equal(addressOf(LIBC, 'aio_read64'), aioRead);
  assert.equal(linkName(LIBC, aioRead, program(t, 'struct aiocb64 cb = {0}; return aio_read64(&cb)')), 'aio_read64');
  assert.equal(linkName(LIBC, aioRead, program(t, 'struct aiocb cb = {0}; return aio_read(&cb)')), 'aio_read');
  // An import of another version of the same name does not pick an alias of this address.
  const candidates: ElfSymbol[] = [
    { name: 'x_new', version: 'V2', defaultVersion: true, value: 1n, size: 1n, type: 'FUNC', bind: 'GLOBAL', undefined: false },
    { name: 'x', version: 'V1', defaultVersion: false, value: 1n, size: 1n, type: 'FUNC', bind: 'GLOBAL', undefined: false },
  ];
  const imports = (version: string): ElfSymbol[] => [{ ...candidates[1]!, version, undefined: true }];
  assert.equal(chooseName(candidates, imports('V1')), 'x');
  assert.equal(chooseName(candidates, imports('V3')), 'x_new');
});

test('libaio (a Debian library): io_getevents in both its versions, shared and linked in from libaio.a', (t) => {
  if (!have(t, LIBAIO)) return;
  const p = program(t, 'extern int io_getevents(); return io_getevents(0, 1, 1, 0, 0)', ['-laio']);
  assert.equal(linkName(LIBAIO_SO, addressOf(LIBAIO_SO, 'io_getevents'), p), 'io_getevents');
  assert.equal(linkName(LIBAIO_SO, addressOf(LIBAIO_SO, 'io_getevents', true), p), 'io_getevents');
  // Linked in from the archive, the program itself holds io_getevents and its alias io_getevents_0_4.
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-aliases-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 's.c'), '#include <libaio.h>\nint main(void) { return io_getevents(0, 1, 1, 0, 0) < 0; }\n');
  execFileSync('gcc', ['-O2', '-o', join(dir, 's'), join(dir, 's.c'), LIBAIO.path], { stdio: 'pipe' });
  const own = elfSymbols(join(dir, 's'), 'all')!;
  const at = own.find((s) => s.name === 'io_getevents' && !s.undefined)!.value;
  assert.ok(own.some((s) => s.name === 'io_getevents_0_4' && s.value === at));
  assert.equal(linkName(join(dir, 's'), at, join(dir, 's')), 'io_getevents');
});

test('a file that is not here, or no exported function at the address: no name', (t) => {
  assert.equal(linkName('/nonexistent/libc.so.6', 0x1000n, '/nonexistent/p'), undefined);
  assert.equal(linkName(LIBC, 0n, program(t, 'pause()')), undefined);
});
