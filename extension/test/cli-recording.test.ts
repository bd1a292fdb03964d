// Tests of `capriccio summary` and `capriccio export` on recordings built in the test and on the
// protocol fixtures, of the Perfetto trace shape, and of `capriccio run`'s live view.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { symbolsFrame } from '../src/protocol/encode.ts';
import { decodeRecording } from '../src/protocol/decode.ts';
import { replay } from '../src/recording/load.ts';
import { perfettoTrace, type TraceEvent } from '../src/export/perfetto.ts';
import { summarize } from '../src/analysis/summary.ts';
import { liveBlock, statusLine } from '../src/cli/live.ts';
import { SymbolTable } from '../src/symbols/symbols.ts';
import type { SymbolEntry } from '../../shared/protocol.ts';
import { MAGIC, exeAddr, exit, exitFrame, fullSnapshot, hello, helloFrame, rawFrame, snapshot, snapshotFrame, RESOURCES } from './frames.ts';

const root = resolve(__dirname, '..', '..');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');

function capriccio(args: readonly string[]): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, ['--import', 'tsx', mainTs, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return r;
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-rec-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// Symbols for fullSnapshot()'s addresses (return addresses minus 1).
const SYMBOLS: SymbolEntry[] = [
  { addr: exeAddr(0x1233), own: false, line: 80, function: 'cap__park', file: '/x/runtime/src/sched.c' },
  { addr: exeAddr(0x12ff), own: true, line: 12, function: 'worker', file: '/src/prog.c' },
  { addr: exeAddr(0x13ff), own: true, line: 20, function: 'serve', file: '/src/prog.c' },
  { addr: exeAddr(0x14ff), own: true, line: 31, function: 'main', file: '/src/prog.c' },
  { addr: exeAddr(0x15ff), own: true, line: 33, function: 'main', file: '/src/prog.c' },
  { addr: exeAddr(0x1700), own: true, line: 40, function: 'spin', file: '/src/prog.c' },
];

const second = () =>
  snapshot({
    seq: 2,
    tNs: 200_000_000,
    resources: { ...RESOURCES, blockingOps: 1800, stackAllocatedBytes: 12000 },
    nodeStats: [{ id: 1, count: 40, waitTotalNs: 600_000_000, waitMaxNs: 16_500_000, fdDelta: 0 }],
    edgeStats: [{ from: 1, to: 1, count: 39, totalNs: 117_000_000, ewmaNs: 3_000_000, maxNs: 3_600_000 }],
  });

function recording(withSymbols: boolean, tail = Buffer.alloc(0)): Buffer {
  return Buffer.concat([
    MAGIC,
    helloFrame(hello()),
    snapshotFrame(fullSnapshot()),
    rawFrame(42, Buffer.from('junk')),
    snapshotFrame(second()),
    exitFrame(exit()),
    withSymbols ? symbolsFrame(SYMBOLS) : Buffer.alloc(0),
    tail,
  ]);
}

/** The fields of `summary --json` (cli/summary.ts) that these tests read. */
interface SummaryJson {
  snapshots: number;
  nodes: { id: number; function: string; count: number }[];
  edges: unknown[];
  stacks: object;
  suggestions: { kind: string; function?: string; line?: number; message: string }[];
  exit?: unknown;
  end: unknown;
  symbols: string;
  errors: unknown[];
  truncated: { reason: string } | null;
}

test('summary --json: nodes, edges, stacks and suggestions of a recording with SYMBOLS', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'rec.caprec');
  writeFileSync(file, recording(true));
  const r = capriccio(['summary', file, '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /1 bad frame\(s\) skipped .*unknown frame type 42/);
  const s = JSON.parse(r.stdout) as SummaryJson;
  assert.deepEqual(s.nodes[0], {
    id: 1,
    kind: 'sleep',
    function: 'worker',
    file: '/src/prog.c',
    line: 12,
    label: 'worker (src/prog.c:12)',
    chain: [
      { addr: exeAddr(0x1233), function: 'cap__park', file: '/x/runtime/src/sched.c', line: 80, own: false },
      { addr: exeAddr(0x12ff), function: 'worker', file: '/src/prog.c', line: 12, own: true },
    ],
    count: 40,
    waitAvgNs: 15_000_000,
    waitMaxNs: 16_500_000,
    waitTotalNs: 600_000_000,
    fdDelta: 0,
  });
  assert.equal(s.nodes[1]?.function, 'serve');
  assert.equal(s.nodes[1]?.count, 5);
  assert.deepEqual(s.edges, [{ from: 1, to: 1, count: 39, avgNs: 3_000_000, maxNs: 3_600_000, ewmaNs: 3_000_000, totalNs: 117_000_000 }]);
  assert.deepEqual(
    { ...s.stacks, sites: undefined },
    {
      allocatedBytes: 12000,
      usedBytes: 40000,
      untouchedBytes: 20000,
      maxThreadUsedBytes: 9000,
      chunksLinked: 12,
      // a recording of protocol version 1: memory unknown, and said so (never 0)
      reservedBytes: null,
      residentBytes: null,
      wasteBytes: null,
      measured: 'not measured: recorded by protocol version 1',
      hotSplits: [
        {
          callsite: exeAddr(0x1600),
          function: 'main',
          file: '/src/prog.c',
          line: 33,
          count: 50,
          frameBytes: 1_059_864,
          cause: 'linker',
          callees: [],
          label: 'main',
          reason: "1.0 MiB demanded by the linker for a call into code without split stacks (its callee is not named: the program's code cannot be read here)",
          mapped: null,
        },
      ],
      sites: undefined,
    },
  );
  assert.deepEqual(
    s.suggestions.map((g) => g.kind),
    ['yield', 'annotate-stack', 'chunk-size'],
  );
  assert.equal(s.suggestions[0]?.function, 'spin');
  assert.equal(s.suggestions[1]?.line, 33);
  assert.equal(s.suggestions[2]?.message, 'set the first chunk of threads spawned at main (src/prog.c:31) to 10240 bytes');
  assert.deepEqual(s.exit, { how: 'exited', status: 3, tNs: 2_000_000_000 });
  assert.equal(s.end, null); // made before END frames, like this one: still read
  assert.equal(s.symbols, 'symbols-frame');
  assert.equal(s.errors.length, 1);
  assert.equal(s.truncated, null);
});

test('summary without --json prints a readable report', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'rec.caprec');
  writeFileSync(file, recording(true));
  const r = capriccio(['summary', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^program {3}\/tmp\/prog --port 8080 \(pid 4242\)$/m);
  assert.match(r.stdout, /#1 sleep +worker \(src\/prog\.c:12\) +×40 +wait avg 15\.00 ms max 16\.50 ms/);
  assert.match(r.stdout, /#1 worker \(src\/prog\.c:12\) → #1 worker \(src\/prog\.c:12\) +×39 +avg 3\.00 ms/);
  assert.match(r.stdout, /\[chunk-size\] set the first chunk/);
});

const fixture = (name: string): string => join(root, 'protocol', 'fixtures', name);

test('summary of a version 3 recording: stack memory resident of reserved, waste, and how it was measured', () => {
  const r = capriccio(['summary', fixture('recording-v3.cap'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const s = JSON.parse(r.stdout) as { stacks: Record<string, unknown> };
  const measured =
    "resident and reserved: mincore(2) over every stack mapping (2 mappings) by the runtime's telemetry thread at t=300.00 ms; " +
    'waste: resident bytes no live thread holds (free first chunks and chunks kept with them, pooled chunks)';
  // the latest STACKS frame's figures, apart from what live threads hold and what finished threads never touched
  assert.deepEqual(
    { ...s.stacks, hotSplits: undefined, sites: undefined },
    {
      allocatedBytes: 49152,
      usedBytes: 40000,
      untouchedBytes: 56000,
      maxThreadUsedBytes: 3900,
      chunksLinked: 4,
      reservedBytes: 1_052_672,
      residentBytes: 94_208,
      wasteBytes: 20_480,
      measured,
      hotSplits: undefined,
      sites: undefined,
    },
  );
  const text = capriccio(['summary', fixture('recording-v3.cap')]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(
    text.stdout,
    /^stacks {4}resident 92\.0 KiB of 1\.0 MiB reserved, waste 20\.0 KiB \(resident, held by no live thread\); live threads hold 48\.0 KiB reserved; largest thread 3\.8 KiB, 4 chunks linked$/m,
  );
  assert.ok(text.stdout.includes(`\n          how: ${measured}\n`), text.stdout);
  assert.match(text.stdout, /^ {10}finished threads: used 39\.1 KiB \(high-waters\); 54\.7 KiB of their address space untouched \(never resident\)$/m);
});

test('summary of a version 2 recording: stack memory not measured, said so rather than 0', () => {
  const r = capriccio(['summary', fixture('recording-v2.cap'), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { stacks: { reservedBytes: unknown; residentBytes: unknown; wasteBytes: unknown; measured: string; untouchedBytes: number } };
  assert.deepEqual([s.stacks.reservedBytes, s.stacks.residentBytes, s.stacks.wasteBytes], [null, null, null]);
  assert.equal(s.stacks.measured, 'not measured: recorded by protocol version 2');
  assert.equal(s.stacks.untouchedBytes, 56000);
  const text = capriccio(['summary', fixture('recording-v2.cap')]);
  assert.match(text.stdout, /^stacks {4}resident, reserved and waste not measured: recorded by protocol version 2; live threads hold 48\.0 KiB reserved;/m);
  assert.doesNotMatch(text.stdout, /how: /);
});

test('a truncated recording: summary shows everything before the cut, says so, and exits 1', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'cut.caprec');
  const full = recording(false);
  writeFileSync(file, full.subarray(0, full.length - 5)); // inside the EXIT frame
  const r = capriccio(['summary', file, '--json']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^capriccio: ${file}: truncated: .*showing everything before it$`, 'm'));
  const s = JSON.parse(r.stdout) as SummaryJson;
  assert.equal(s.snapshots, 2);
  assert.equal(s.exit, undefined);
  assert.equal(s.nodes.find((n) => n.id === 1)?.count, 40);
  assert.ok(s.truncated);
  assert.match(s.truncated.reason, /^truncated/);
});

test('a file that is not a recording, a missing file, and wrong arguments', (t) => {
  const dir = tempDir(t);
  const notRec = join(dir, 'notes.txt');
  writeFileSync(notRec, 'just text\n');
  for (const args of [['summary', notRec], ['export', '--format', 'perfetto', notRec, '-o', join(dir, 'o.json')]]) {
    const r = capriccio(args);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `capriccio: ${notRec}: not a Capriccio recording (bad magic)\n`);
    assert.equal(r.stdout, '');
  }
  const missing = capriccio(['summary', join(dir, 'nope')]);
  assert.equal(missing.status, 1);
  assert.equal(missing.stderr, `capriccio: ${join(dir, 'nope')}: no such file\n`);
  // report --compare names the earlier recording it cannot read, and writes no report.
  const html = join(dir, 'compare.html');
  const compare = capriccio(['report', join(root, 'protocol', 'fixtures', 'recording-v3.cap'), '--compare', join(dir, 'nope'), '-o', html]);
  assert.equal(compare.status, 1);
  assert.equal(compare.stderr, `capriccio: --compare ${join(dir, 'nope')}: no such file\n`);
  assert.ok(!existsSync(html), 'a report was written');

  const usage: [string[], RegExp][] = [
    [['summary'], /^capriccio summary: missing recording FILE$/m],
    [['summary', 'a', 'b'], /one recording FILE expected, got 2/],
    [['summary', '--frob', 'a'], /^capriccio summary: unknown option --frob$/m],
    [['export', 'a', '-o', 'x.json'], /missing --format/],
    [['export', '--format', 'svg', 'a', '-o', 'x'], /unknown format 'svg'/],
    [['export', '--format', 'perfetto', 'a'], /missing -o OUT\.json/],
    [['export', '--format', 'pprof', 'a'], /missing -o OUT\.pb\.gz/],
    [['diff', 'a'], /^capriccio diff: two recordings expected, BEFORE and AFTER, got 1$/m],
    [['diff', 'a', 'b', '--frob'], /^capriccio diff: unknown option --frob$/m],
    [['run'], /missing -- PROGRAM/],
    [['run', '--duration', 'soon', '--', 'true'], /--duration needs a positive number, not 'soon'/],
    [['run', '--interval', '2.5', '--', 'true'], /--interval needs a positive whole number/],
    [['run', '--kill-after', '-1', '--', 'true'], /^capriccio run: --kill-after needs a non-negative number, not '-1'$/m],
    [['run', '--kill-after', 'soon', '--', 'true'], /--kill-after needs a non-negative number, not 'soon'/],
    [['run', '--kill-after', '', '--', 'true'], /--kill-after needs a non-negative number, not ''/],
    [['run', '--kill-after', '1e9', '--', 'true'], /--kill-after can be at most 2147483, not '1e9'/],
    [['run', '--kill-after'], /option --kill-after needs a value/],
    [['run', '--duration', '0', '--', 'true'], /--duration needs a positive number, not '0'/],
    [['run', '--duration', '3e6', '--', 'true'], /--duration can be at most 2147483, not '3e6'/],
    [['run', 'prog'], /unexpected 'prog' before --/],
    [['run', '--record'], /option --record needs a value/],
    [['run', '--scheduler', 'lottery', '--', 'true'], /unknown scheduler 'lottery' \(known: fifo, resource-aware\)/],
    // every command: an unknown option is named, a missing value is refused
    [['export', '--format', 'perfetto', '--frob', 'a', '-o', 'x'], /^capriccio export: unknown option --frob$/m],
    [['export', '--format'], /^capriccio export: option --format needs a value$/m],
    [['export', '--format', 'perfetto', 'a', '-o'], /^capriccio export: option -o needs a value$/m],
    [['report', 'a', '-o', 'x', '-q'], /^capriccio report: unknown option -q$/m],
    [['report', 'a', '--output'], /^capriccio report: option --output needs a value$/m],
    [['report', 'a', '-o', 'x', '--compare'], /^capriccio report: option --compare needs a value$/m],
    [['run', '--durations', '1', '--', 'true'], /^capriccio run: unknown option --durations$/m],
    [['run', '--scheduler'], /^capriccio run: option --scheduler needs a value$/m],
    [['run', '--interval', '10', '--interval', '20', '--', 'true'], /^capriccio run: option --interval given twice$/m],
    [['summary', 'a', '--json=yes'], /^capriccio summary: option --json takes no value$/m],
  ];
  for (const [args, re] of usage) {
    const r = capriccio(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.match(r.stderr, new RegExp(`^usage: capriccio ${args[0]} `, 'm'));
  }
});

test('export --format perfetto writes a trace with counters and metadata', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'rec.caprec');
  const out = join(dir, 'trace.json');
  writeFileSync(file, recording(true));
  const r = capriccio(['export', '--format', 'perfetto', file, '-o', out]);
  assert.equal(r.status, 0, r.stderr);
  // (unknown fields until checkTraceShape has looked at the events)
  const trace = JSON.parse(readFileSync(out, 'utf8')) as { displayTimeUnit: unknown; traceEvents: unknown };
  assert.equal(trace.displayTimeUnit, 'ns');
  const events = trace.traceEvents;
  checkTraceShape(events);
  const counters = events.filter((e) => e.ph === 'C');
  const rss = counters.filter((e) => e.name === 'rss bytes');
  assert.deepEqual(
    rss.map((e) => [e.ts, e.args]),
    [
      [100_000, { rssBytes: 4_000_000 }],
      [200_000, { rssBytes: 4_000_000 }],
    ],
  );
  const edge = counters.filter((e) => e.name.startsWith('edge avg ms:'));
  const [first, second, ...more] = edge;
  assert.ok(first && second && more.length === 0, `2 edge series, not ${edge.length}`);
  assert.match(first.name, /#1 sleep worker:12 → #1 sleep worker:12/);
  assert.deepEqual(second.args, { avg_ms: 3, ewma_ms: 3 });
  const ops = counters.filter((e) => e.name === 'blocking ops (cumulative)');
  assert.deepEqual(
    ops.map((e) => e.args.blockingOps),
    [900, 1800],
  );
  assert.ok(events.some((e) => e.ph === 'M' && e.name === 'process_name'));
  assert.ok(events.some((e) => e.ph === 'i' && e.name === 'exit 3'));
});

/** Every event has the fields its phase needs, with the right types. */
function checkTraceShape(events: unknown): asserts events is TraceEvent[] {
  assert.ok(Array.isArray(events) && events.length > 0);
  for (const e of events as Record<string, unknown>[]) {
    assert.equal(typeof e.name, 'string');
    assert.equal(typeof e.pid, 'number');
    assert.equal(typeof e.tid, 'number');
    switch (e.ph) {
      case 'M':
        assert.equal(typeof e.args, 'object');
        break;
      case 'C':
        assert.equal(typeof e.ts, 'number');
        assert.ok((e.ts as number) >= 0);
        assert.ok(Object.values(e.args as object).length > 0);
        for (const v of Object.values(e.args as object)) assert.ok(Number.isFinite(v), `${String(e.name)}: ${String(v)}`);
        break;
      case 'i':
        assert.equal(typeof e.ts, 'number');
        assert.ok(['g', 'p', 't'].includes(e.s as string));
        break;
      default:
        assert.fail(`unexpected phase ${String(e.ph)}`);
    }
  }
}

test('perfettoTrace: threads by state add up and per-node series for the top nodes', () => {
  const rec = decodeRecording('mem', recording(false));
  const model = replay(rec);
  const trace = perfettoTrace(rec.frames, model, new SymbolTable());
  checkTraceShape(trace.traceEvents);
  const states = trace.traceEvents.filter((e) => e.ph === 'C' && e.name === 'threads by state');
  assert.equal(states.length, 2);
  for (const e of states) {
    assert.ok(e.ph === 'C');
    assert.equal(Object.values(e.args).reduce((a, b) => a + b, 0), RESOURCES.threads);
  }
  const nodes = trace.traceEvents.filter((e) => e.ph === 'C' && e.name.startsWith('node wait avg ms: #1'));
  assert.deepEqual(
    nodes.map((e) => (e.ph === 'C' ? e.args.avg_ms : -1)),
    [15, 15],
  );
});

test('perfettoTrace: stack memory as counter tracks of its own, at the time each measurement was taken', () => {
  const file = fixture('recording-v3.cap');
  const rec = decodeRecording(file, readFileSync(file));
  const trace = perfettoTrace(rec.frames, replay(rec), new SymbolTable());
  checkTraceShape(trace.traceEvents);
  const track = (name: string) => trace.traceEvents.flatMap((e) => (e.ph === 'C' && e.name === name ? [[e.ts, e.args]] : []));
  assert.deepEqual(track('stack resident bytes'), [
    [200_000, { residentBytes: 126_976 }],
    [300_000, { residentBytes: 94_208 }],
  ]);
  assert.deepEqual(track('stack reserved bytes'), [
    [200_000, { reservedBytes: 2_101_248 }],
    [300_000, { reservedBytes: 1_052_672 }],
  ]);
  assert.equal(track('stack waste bytes (resident, held by no live thread)').length, 2);
});

test('the live view of capriccio run: stack memory resident of reserved, or what live threads reserve when it is not measured', () => {
  const model = (name: string) => {
    const file = fixture(name);
    return replay(decodeRecording(file, readFileSync(file)));
  };
  const v3 = model('recording-v3.cap');
  assert.match(statusLine(v3), / stacks 92\.0 KiB resident of 1\.0 MiB reserved nodes /);
  assert.ok(
    liveBlock(v3, summarize(v3, new SymbolTable()), 400).includes(
      'stacks: resident 92.0 KiB of 1.0 MiB reserved, waste 20.0 KiB (resident, held by no live thread); live threads hold 48.0 KiB reserved, 4 chunks linked, 1 hot split sites',
    ),
  );
  const v2 = model('recording-v2.cap');
  assert.match(statusLine(v2), / stacks 48\.0 KiB reserved by live threads nodes /);
  assert.ok(liveBlock(v2, summarize(v2, new SymbolTable()), 400).some((l) => l.startsWith('stacks: resident, reserved and waste not measured: recorded by protocol version 2;')));
});
