// Contention and wakes from synthetic SYNC frames (protocol version 4), without the runtime: how
// the model keeps them (model/model.ts: a later record replaces its key's, a HELLO resets, caps
// count what was dropped), how they become `locks` and `wakes` (analysis/sync.ts), what
// `capriccio summary` prints of them (--json and text, and why they were not recorded), and
// ViewData's caps on them (report/viewdata.ts). sync.test.ts covers the real runtime's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { syncOf } from '../src/analysis/sync.ts';
import { summarize, textReport } from '../src/analysis/summary.ts';
import { DEFAULT_CAPS, Model, type ModelCaps } from '../src/model/model.ts';
import { symbolsFrame } from '../src/protocol/encode.ts';
import { buildViewData, VIEW_CAPS } from '../src/report/viewdata.ts';
import { SymbolTable } from '../src/symbols/symbols.ts';
import type { Frame, Hold, KindCode, NodeDef, NodeStat, SymbolEntry, Wake } from '../../shared/protocol.ts';
import { MAGIC, exeAddr, hello, helloFrame, snapshot, snapshotFrame, sync, syncFrame } from './frames.ts';

// ---- a program with locks: its blocking points, its symbols, its holds and wakes ----

const FILE = '/src/app.c';
const at = (fn: string, line: number) => ({ function: fn, file: FILE, line });
/** A symbol for the call whose return address is `ret` (looked up at ret − 1). */
const call = (ret: number, fn: string, line: number): SymbolEntry => ({ addr: exeAddr(ret - 1), own: true, ...at(fn, line) });

const SYMBOLS: SymbolEntry[] = [
  call(0x2001, 'lock_a', 10),
  call(0x2009, 'lock_a', 10), // another call on the same line: the same site
  call(0x2101, 'unlock_a', 12),
  call(0x2109, 'unlock_a', 12),
  call(0x2201, 'lock_b', 20),
  call(0x2301, 'unlock_b', 22),
  call(0x2401, 'producer', 30),
  call(0x2409, 'producer', 30),
  call(0x2501, 'consumer', 40),
  call(0x3001, 'take', 50),
  call(0x3101, 'wait_ready', 60),
  call(0x3201, 'sem_take', 70),
  call(0x3301, 'rd_take', 80),
  call(0x3401, 'nap', 90),
  call(0x3501, 'idle_lock', 100),
  // at the return addresses themselves: what a lookup at the address, not address − 1, would find
  { addr: exeAddr(0x2001), own: true, ...at('after_lock_a', 11) },
  { addr: exeAddr(0x2401), own: true, ...at('after_producer', 31) },
];

/** Return addresses no symbol names. */
const UNNAMED_1 = exeAddr(0x9001);
const UNNAMED_2 = exeAddr(0x9011);

const point = (id: number, kind: KindCode, ret: number, count: number, waitTotalNs: number): { def: NodeDef; stat: NodeStat } => ({
  def: { id, kind, frames: [exeAddr(ret)] },
  stat: { id, count, waitTotalNs, waitMaxNs: waitTotalNs, fdDelta: 0 },
});

const POINTS = [
  point(3, 3, 0x3001, 170, 500_000_000), // mutex
  point(4, 4, 0x3101, 66, 100), // condvar: woken, not a lock
  point(5, 5, 0x3201, 12, 900_000_000), // semaphore
  point(6, 6, 0x3301, 4, 700_000_000), // rwlock
  point(7, 1, 0x3401, 9, 2_000_000_000), // sleep: the most wait, not a lock
  point(8, 3, 0x3501, 0, 0), // a mutex nobody waited at
];

const hold = (node: number, acquire: string, release: string, count: number, holdTotalNs: number, holdMaxNs: number, waitTotalNs: number): Hold => ({
  node,
  acquire,
  release,
  count,
  holdTotalNs,
  holdMaxNs,
  waitTotalNs,
});
const wake = (node: number, fromNode: number | null, waker: string, count: number): Wake => ({ node, fromNode, waker, count });

const HOLDS: Hold[] = [
  // lock_a's holders released at unlock_a 20 + 20 times (two addresses), at unlock_b 30 times
  hold(3, exeAddr(0x2001), exeAddr(0x2101), 20, 2_000_000, 150_000, 1_000_000),
  hold(3, exeAddr(0x2009), exeAddr(0x2109), 20, 200_000, 20_000, 2_000_000),
  hold(3, exeAddr(0x2001), exeAddr(0x2301), 30, 5_000_000, 400_000, 3_000_000),
  hold(3, exeAddr(0x2201), exeAddr(0x2301), 100, 10_000_000, 250_000, 4_000_000),
  // no symbol: grouped by address
  hold(5, UNNAMED_1, exeAddr(0x2101), 3, 300, 100, 30),
  hold(5, UNNAMED_1, exeAddr(0x2301), 4, 400, 100, 40),
  hold(5, UNNAMED_2, exeAddr(0x2101), 5, 500, 100, 50),
];

const WAKES: Wake[] = [
  // producer (two addresses, one line) woke #4: 30 times from #1, 1 before blocking, 20 + 15 from #2
  wake(4, 1, exeAddr(0x2401), 30),
  wake(4, null, exeAddr(0x2401), 1),
  wake(4, 2, exeAddr(0x2409), 20),
  wake(4, 2, exeAddr(0x2401), 15),
  wake(3, 1, exeAddr(0x2401), 5),
  wake(4, 1, exeAddr(0x2501), 10),
  wake(4, 1, UNNAMED_1, 3),
  wake(4, 1, UNNAMED_2, 2),
];

const SNAPSHOT = snapshot({ nodeDefs: POINTS.map((p) => p.def), nodeStats: POINTS.map((p) => p.stat) });
const SYNC = sync({ seq: 1, holds: HOLDS, wakes: WAKES });

function modelOf(frames: readonly Frame[], caps: Partial<ModelCaps> = {}): Model {
  const m = new Model(caps);
  for (const f of frames) m.apply(f);
  return m;
}
const table = (): SymbolTable => SymbolTable.fromEntries(SYMBOLS);

// ---- the CLI on recordings ----

const root = resolve(__dirname, '..', '..');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');

function summaryOf(file: string, json: boolean): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', mainTs, 'summary', file, ...(json ? ['--json'] : [])], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function writeRecording(t: { after(fn: () => void): void }, frames: readonly Buffer[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-sync-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rec.caprec');
  writeFileSync(file, Buffer.concat([MAGIC, ...frames, symbolsFrame(SYMBOLS)]));
  return file;
}

interface SyncJson {
  syncRecorded: boolean;
  syncMeasured: string;
  locks: { id: number; kind: string; holders: { function: string; count: number }[] }[];
  wakes: { from: { function: string }; to: number; count: number }[];
}

// ---- the model ----

test('model: a later SYNC record replaces the figures of its key, not adds to them; other keys stay', () => {
  const first = sync();
  const m = modelOf([hello({ version: 4 }), snapshot(), first]);
  assert.equal(m.holds.size, 2);
  assert.equal(m.wakes.size, 2); // same waker and point, another waker's point: two keys
  m.apply(sync({ seq: 2, holds: [{ ...first.holds[0]!, count: 50, holdTotalNs: 250_000_000 }], wakes: [{ ...first.wakes[0]!, count: 35 }] }));
  assert.equal(m.syncSeq, 2);
  assert.deepEqual(
    [...m.holds.values()].map((h) => [h.acquire, h.count, h.holdTotalNs]),
    [
      [exeAddr(0x2001), 50, 250_000_000],
      [exeAddr(0x2201), 2, 2_000],
    ],
  );
  assert.deepEqual(
    [...m.wakes.values()].map((w) => [w.fromNode, w.count]),
    [
      [1, 35],
      [null, 1],
    ],
  );
  // another release site of the same acquisition, another waker's point: new keys
  m.apply(sync({ seq: 3, holds: [{ ...first.holds[0]!, release: exeAddr(0x2501) }], wakes: [{ ...first.wakes[0]!, fromNode: 2 }] }));
  assert.equal(m.holds.size, 3);
  assert.equal(m.wakes.size, 3);
});

test('model: a new HELLO resets holds, wakes and the SYNC seq', () => {
  const m = modelOf([hello({ version: 4 }), snapshot(), sync({ seq: 7 })]);
  assert.equal(m.syncSeq, 7);
  m.apply(hello({ version: 4, pid: 9 }));
  assert.equal(m.holds.size, 0);
  assert.equal(m.wakes.size, 0);
  assert.equal(m.syncSeq, undefined);
  assert.equal(summarize(m, table()).syncRecorded, false);
});

test('model: holds and wakes beyond their caps are counted as dropped; replacing a kept key is not', () => {
  assert.equal(DEFAULT_CAPS.holds, 10_000);
  assert.equal(DEFAULT_CAPS.wakes, 10_000);
  const m = modelOf([hello({ version: 4 }), snapshot(), SYNC], { holds: 4, wakes: 5 });
  assert.equal(m.holds.size, 4);
  assert.equal(m.wakes.size, 5);
  assert.equal(m.dropped.holds, HOLDS.length - 4);
  assert.equal(m.dropped.wakes, WAKES.length - 5);
  m.apply(sync({ seq: 2, holds: [{ ...HOLDS[0]!, count: 99 }], wakes: [{ ...WAKES[0]!, count: 99 }] }));
  assert.equal(m.dropped.holds, HOLDS.length - 4);
  assert.equal(m.dropped.wakes, WAKES.length - 5);
  assert.equal([...m.holds.values()][0]!.count, 99);
  assert.equal([...m.wakes.values()][0]!.count, 99);
  const s = summarize(m, table());
  assert.deepEqual({ holds: s.dropped.model.holds, wakes: s.dropped.model.wakes }, { holds: HOLDS.length - 4, wakes: WAKES.length - 5 });
});

// ---- the analysis ----

/** syncOf over the summary's points given in reverse (least wait first), so its order is its own. */
function analysed(frames: readonly Frame[] = [hello({ version: 4 }), SNAPSHOT, SYNC]): ReturnType<typeof syncOf> {
  const m = modelOf(frames);
  const t = table();
  return syncOf(m, t, [...summarize(m, t).nodes].reverse());
}

test('analysis: locks are the mutex, semaphore and rwlock points waited at, most wait first', () => {
  const s = analysed();
  assert.equal(s.syncRecorded, true);
  assert.deepEqual(
    s.locks.map((l) => [l.id, l.kind, l.label, l.waits, l.waitNs]),
    [
      [5, 'sem', 'sem_take (src/app.c:70)', 12, 900_000_000],
      [6, 'rwlock', 'rd_take (src/app.c:80)', 4, 700_000_000],
      [3, 'mutex', 'take (src/app.c:50)', 170, 500_000_000],
    ],
  );
  assert.deepEqual(s.locks.find((l) => l.id === 6)!.holders, []);
});

test("analysis: holders are grouped by the symbolized acquire site, with the release site that handed over most, most hand-overs first", () => {
  const lock = analysed().locks.find((l) => l.id === 3)!;
  assert.deepEqual(lock.holders, [
    { ...at('lock_b', 20), count: 100, holdAvgNs: 100_000, holdMaxNs: 250_000, waitNs: 4_000_000, release: at('unlock_b', 22) },
    // 20 + 20 + 30 hand-overs, 7.2 ms held in all; released at unlock_a 40 times (two addresses), at unlock_b 30
    { ...at('lock_a', 10), count: 70, holdAvgNs: Math.round(7_200_000 / 70), holdMaxNs: 400_000, waitNs: 6_000_000, release: at('unlock_a', 12) },
  ]);
});

test('analysis: holders at addresses no symbol names are grouped by address', () => {
  const lock = analysed().locks.find((l) => l.id === 5)!;
  assert.deepEqual(
    lock.holders.map((h) => [h.function, h.count, h.release.function]),
    [
      ['??', 7, 'unlock_b'],
      ['??', 5, 'unlock_a'],
    ],
  );
});

test('analysis: wakes are grouped by waker site and woken point, from the waker point with most wakes, most first', () => {
  assert.deepEqual(analysed().wakes, [
    // producer woke #4 from #2 35 times (two addresses), from #1 30 times, before blocking once
    { from: at('producer', 30), to: 4, fromNode: 2, count: 66 },
    { from: at('consumer', 40), to: 4, fromNode: 1, count: 10 },
    { from: at('producer', 30), to: 3, fromNode: 1, count: 5 },
    { from: { function: '??', file: '??', line: 0 }, to: 4, fromNode: 1, count: 3 },
    { from: { function: '??', file: '??', line: 0 }, to: 4, fromNode: 1, count: 2 },
  ]);
});

test('analysis: sites are looked up at the return address − 1 (the call), never at the address', () => {
  const s = analysed();
  const named = [...s.locks.flatMap((l) => l.holders.flatMap((h) => [h.function, h.release.function])), ...s.wakes.map((w) => w.from.function)];
  assert.ok(!named.includes('after_lock_a') && !named.includes('after_producer'), named.join(', '));
  assert.ok(named.includes('lock_a') && named.includes('producer'));
});

// ---- `capriccio summary` ----

test('summary of a version 3 recording: contention and wakes not recorded, and why', () => {
  const file = join(root, 'protocol', 'fixtures', 'recording-v3.cap');
  const s = JSON.parse(summaryOf(file, true)) as SyncJson;
  assert.deepEqual(
    { syncRecorded: s.syncRecorded, syncMeasured: s.syncMeasured, locks: s.locks, wakes: s.wakes },
    { syncRecorded: false, syncMeasured: 'not recorded: protocol version 3', locks: [], wakes: [] },
  );
  assert.match(summaryOf(file, false), /^contended locks and wakes: not recorded: protocol version 3$/m);
});

test('summary of a version 4 stream without a SYNC frame: not recorded yet', (t) => {
  const file = writeRecording(t, [helloFrame(hello({ version: 4 })), snapshotFrame(SNAPSHOT)]);
  const s = JSON.parse(summaryOf(file, true)) as SyncJson;
  const why = 'not recorded yet: no SYNC frame received (the runtime sends one after each snapshot)';
  assert.deepEqual({ syncRecorded: s.syncRecorded, syncMeasured: s.syncMeasured, locks: s.locks, wakes: s.wakes }, { syncRecorded: false, syncMeasured: why, locks: [], wakes: [] });
  assert.ok(summaryOf(file, false).includes(`\ncontended locks and wakes: ${why}\n`));
});

test('summary --json of a version 4 recording with SYNC: syncRecorded, how, locks and wakes', (t) => {
  const file = writeRecording(t, [helloFrame(hello({ version: 4 })), snapshotFrame(SNAPSHOT), syncFrame(SYNC)]);
  const s = JSON.parse(summaryOf(file, true)) as SyncJson;
  assert.equal(s.syncRecorded, true);
  assert.equal(s.syncMeasured, "recorded by the runtime at every lock hand-over and every wake by another thread's call (cumulative, as of snapshot 1)");
  assert.deepEqual(
    s.locks.map((l) => [l.id, l.kind, l.holders.map((h) => [h.function, h.count])]),
    [
      [
        5,
        'sem',
        [
          ['??', 7],
          ['??', 5],
        ],
      ],
      [6, 'rwlock', []],
      [
        3,
        'mutex',
        [
          ['lock_b', 100],
          ['lock_a', 70],
        ],
      ],
    ],
  );
  assert.deepEqual(s.wakes[0], { from: at('producer', 30), to: 4, fromNode: 2, count: 66 });
});

test('summary text: the contended locks with a line per holder, then the wakes', (t) => {
  const file = writeRecording(t, [helloFrame(hello({ version: 4 })), snapshotFrame(SNAPSHOT), syncFrame(SYNC)]);
  const text = summaryOf(file, false);
  assert.ok(
    text.includes(
      [
        '\ncontended locks (3)',
        '  #5 sem    sem_take (src/app.c:70)  ×12  wait total 900.00 ms',
        '    ← held by ?? avg 100 ns max 100 ns (7 times), released at unlock_b (src/app.c:22)',
        '    ← held by ?? avg 100 ns max 100 ns (5 times), released at unlock_a (src/app.c:12)',
        '  #6 rwlock rd_take (src/app.c:80)  ×4  wait total 700.00 ms',
        '  #3 mutex  take (src/app.c:50)  ×170  wait total 500.00 ms',
        '    ← held by lock_b (src/app.c:20) avg 100.0 µs max 250.0 µs (100 times), released at unlock_b (src/app.c:22)',
        '    ← held by lock_a (src/app.c:10) avg 102.9 µs max 400.0 µs (70 times), released at unlock_a (src/app.c:12)',
        '',
        'wakes (5)',
        '  producer (src/app.c:30) → #4 wait_ready (src/app.c:60)  ×66',
        '  consumer (src/app.c:40) → #4 wait_ready (src/app.c:60)  ×10',
        '  producer (src/app.c:30) → #3 take (src/app.c:50)  ×5',
        '  ?? → #4 wait_ready (src/app.c:60)  ×3',
        '  ?? → #4 wait_ready (src/app.c:60)  ×2',
        '',
      ].join('\n'),
    ),
    text,
  );
  // (the same text as textReport of the summary built here)
  const m = modelOf([hello({ version: 4 }), SNAPSHOT, SYNC]);
  assert.equal(textReport(summarize(m, table())), text);
});

// ---- ViewData ----

test('ViewData: locks and wakes as the summary gives them, capped, what the caps hide counted in health', () => {
  const m = modelOf([hello({ version: 4 }), SNAPSHOT, SYNC]);
  const t = table();
  const s = summarize(m, t);
  const all = buildViewData(m, t, { source: 'test' });
  assert.deepEqual(all.locks, s.locks);
  assert.deepEqual(all.wakes, s.wakes);
  assert.equal(all.syncRecorded, true);
  assert.equal(all.syncMeasured, s.syncMeasured);
  assert.deepEqual([all.health.hiddenLocks, all.health.hiddenWakes], [0, 0]);
  const capped = buildViewData(m, t, { source: 'test', caps: { locks: 1, wakes: 2 } });
  assert.deepEqual(capped.locks, s.locks.slice(0, 1)); // the most wait
  assert.deepEqual(capped.wakes, s.wakes.slice(0, 2)); // the most wakes
  assert.deepEqual([capped.health.hiddenLocks, capped.health.hiddenWakes], [2, 3]);
});

test('ViewData: by default at most 200 locks and 1000 wakes', () => {
  assert.deepEqual([VIEW_CAPS.locks, VIEW_CAPS.wakes], [200, 1000]);
  const locks = Array.from({ length: 205 }, (_, i) => point(100 + i, 3, 0x3001, 1, 1000 + i));
  const wakes = Array.from({ length: 1003 }, (_, i) => wake(100, null, exeAddr(0x4000 + 16 * i + 1), 1 + i));
  const m = modelOf([
    hello({ version: 4 }),
    snapshot({ nodeDefs: locks.map((p) => p.def), nodeStats: locks.map((p) => p.stat) }),
    sync({ holds: [], wakes }),
  ]);
  const v = buildViewData(m, new SymbolTable(), { source: 'test' });
  assert.equal(v.locks.length, 200);
  assert.equal(v.health.hiddenLocks, 5);
  assert.equal(v.locks[0]!.id, 304); // the most wait
  assert.equal(v.wakes.length, 1000);
  assert.equal(v.health.hiddenWakes, 3);
  assert.equal(v.wakes[0]!.count, 1003); // the most wakes
});
