// What the stall watchdog saw, named (extension/src/analysis/stalls.ts), and the system call
// table it names them with (extension/src/symbols/syscalls.ts, runtime/build/syscalls.tsv).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { stallsOf, stallText } from '../src/analysis/stalls.ts';
import { summarize, textReport } from '../src/analysis/summary.ts';
import { fmtNs } from '../src/analysis/units.ts';
import { Model } from '../src/model/model.ts';
import { SymbolTable } from '../src/symbols/symbols.ts';
import { parseSyscallTable, syscallSource, syscallTablePath } from '../src/symbols/syscalls.ts';
import type { SnapshotFrame, SymbolEntry } from '../../shared/protocol.ts';
import { hello, snapshot } from './frames.ts';
import { have, RUNTIME } from './prerequisites.ts';
import { syscallFixture } from './syscalls-fixture.ts';

syscallSource.path = syscallFixture(after);

const SYMS: SymbolEntry[] = [
  { addr: '0x1000', own: true, line: 14, function: 'spin', file: '/p/app.c' }, // pc in own code (an inline syscall)
  { addr: '0x3000', own: false, line: 0, function: 'syscall', file: '??' }, // pc in libc's syscall
  { addr: '0x5000', own: false, line: 0, function: 'ev_wait', file: '??' }, // a library function the program calls
  { addr: '0x5fff', own: true, line: 41, function: 'handler', file: '/p/app.c' }, // ret 0x6000
  { addr: '0x6fff', own: true, line: 50, function: 'main', file: '/p/app.c' }, // ret 0x7000
];

function model(s: Partial<SnapshotFrame>): { m: Model; t: SymbolTable } {
  const m = new Model();
  m.apply(hello());
  m.apply(snapshot(s));
  return { m, t: SymbolTable.fromEntries(SYMS) };
}

const STALLS: Partial<SnapshotFrame> = {
  stalls: [
    // a library's wait: glibc's syscall made futex inside ev_wait, called from handler
    { id: 1, syscall: 202, count: 4, totalNs: 400_000_000, maxNs: 101_000_000, pc: '0x3000', callsite: '0x6000', target: '0x5000' },
    // the program's own raw syscall(SYS_nanosleep)
    { id: 2, syscall: 35, count: 2, totalNs: 200_000_000, maxNs: 100_000_000, pc: '0x3000', callsite: '0x7000', target: '0x3000' },
    // a system call made in the program's own code (inline assembly): nothing to annotate
    { id: 3, syscall: 999, count: 1, totalNs: 50_000_000, maxNs: 50_000_000, pc: '0x1000', callsite: '0x0', target: '0x0' },
    // the watchdog could not read the system call
    { id: 4, syscall: 0xffffffff, count: 1, totalNs: 30_000_000, maxNs: 30_000_000, pc: '0xdead', callsite: '0x0', target: '0x0' },
  ],
};

test('each stall is named: the system call, the function that made it, the external function and its caller', () => {
  const { m, t } = model(STALLS);
  assert.deepEqual(stallsOf(m, t), [
    { id: 1, syscall: 202, syscallName: 'futex', madeBy: 'syscall', own: false, external: 'ev_wait', calledFrom: 'handler (p/app.c:41)', file: '/p/app.c', line: 41, count: 4, maxNs: 101_000_000, totalNs: 400_000_000 },
    { id: 2, syscall: 35, syscallName: 'nanosleep', madeBy: 'syscall', own: false, external: 'syscall', calledFrom: 'main (p/app.c:50)', file: '/p/app.c', line: 50, count: 2, maxNs: 100_000_000, totalNs: 200_000_000 },
    { id: 3, syscall: 999, madeBy: 'spin', own: true, count: 1, maxNs: 50_000_000, totalNs: 50_000_000 },
    { id: 4, syscall: null, madeBy: '??', own: false, count: 1, maxNs: 30_000_000, totalNs: 30_000_000 },
  ]);
  assert.deepEqual(
    stallsOf(m, t).map((s) => stallText(s, fmtNs)),
    [
      'futex in syscall inside ev_wait, called from handler (p/app.c:41)  ×4  max 101.00 ms, total 400.00 ms',
      'nanosleep in syscall, called from main (p/app.c:50)  ×2  max 100.00 ms, total 200.00 ms',
      'system call 999 in spin (in the program’s own code)  ×1  max 50.00 ms, total 50.00 ms',
      'an unknown system call in ??  ×1  max 30.00 ms, total 30.00 ms',
    ],
  );
});

test('summary: stalls in --json and in the text, and the suggestions name the system call and who made it', () => {
  const { m, t } = model(STALLS);
  const s = summarize(m, t);
  assert.deepEqual(
    s.stalls.map((x) => x.id),
    [1, 2, 3, 4],
  );
  const text = textReport(s);
  assert.match(text, /stalls: the whole scheduler blocked in a system call \(4\)\n {2}futex in syscall inside ev_wait, called from handler \(p\/app\.c:41\)/);
  const b = s.suggestions.filter((x) => x.kind === 'annotate-blocking');
  assert.deepEqual(
    b.map((x) => [x.function, x.message, x.evidence.syscall, x.evidence.madeBy]),
    [
      ['ev_wait', 'ev_wait stalled the whole scheduler 4 times, max 101 ms, in futex (made by syscall) (called from handler (p/app.c:41)): annotate ev_wait as blocking', 'futex', 'syscall'],
      ['syscall', 'syscall stalled the whole scheduler 2 times, max 100 ms, in nanosleep (called from main (p/app.c:50)): annotate syscall as blocking', 'nanosleep', undefined],
    ],
  );
});

test('the system call table: "NUMBER<TAB>NAME" lines; anything else is an error naming the line', () => {
  assert.deepEqual([...parseSyscallTable('0\tread\n202\tfutex\n')], [
    [0, 'read'],
    [202, 'futex'],
  ]);
  assert.throws(() => parseSyscallTable('0\tread\n#define __NR_write 1\n', 'x.tsv'), /x\.tsv:2: expected "NUMBER<TAB>NAME", got "#define __NR_write 1"/);
});

test('the runtime build writes the table from the kernel headers', (t) => {
  if (!have(t, RUNTIME)) return;
  const table = parseSyscallTable(readFileSync(syscallTablePath(), 'utf8'));
  for (const [nr, name] of [
    [0, 'read'],
    [35, 'nanosleep'],
    [202, 'futex'],
    [230, 'clock_nanosleep'],
    [232, 'epoll_wait'],
    [247, 'waitid'],
  ] as const)
    assert.equal(table.get(nr), name);
  assert.ok(table.size > 300, `${table.size} system calls`);
});
