// Tests of the telemetry decoder (extension/src/protocol/decode.ts) on frames built by frames.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameDecoder, decodeRecording, readRecording, RecordingError, type DecodeEvent } from '../src/protocol/decode.ts';
import { endFrame, inlinedFrame, inlinedFrames, recordingHeader, symbolsFrame, symbolsFrames } from '../src/protocol/encode.ts';
import type { EndFrame, Frame, InlinedEntry, SymbolEntry } from '../../shared/protocol.ts';
import {
  MAGIC,
  W,
  exit,
  exitFrame,
  fullSnapshot,
  hello,
  helloFrame,
  helloPayload,
  rawFrame,
  snapshot,
  snapshotFrame,
  snapshotPayload,
  stacks,
  stacksFrame,
  stacksPayload,
  sync,
  syncFrame,
  syncPayload,
} from './frames.ts';

function decodeAll(bytes: Buffer, chunk = bytes.length): { frames: Frame[]; errors: DecodeEvent[]; offsets: number[] } {
  const d = new FrameDecoder();
  const events: DecodeEvent[] = [];
  for (let i = 0; i < bytes.length; i += chunk) events.push(...d.push(bytes.subarray(i, i + chunk)));
  const tail = d.end();
  const errors = events.filter((e) => e.kind === 'error');
  if (tail) errors.push({ kind: 'error', error: tail });
  const decoded = events.flatMap((e) => (e.kind === 'frame' ? [e.frame] : []));
  return { frames: decoded.map((f) => f.frame), errors, offsets: decoded.map((f) => f.offset) };
}

/** Replaces the UTF-8 of 'ö' (c3 b6) with two bytes that are not UTF-8. */
function badUtf8(b: Buffer): Buffer {
  const at = b.indexOf(Buffer.from('ö'));
  assert.ok(at >= 0);
  const out = Buffer.from(b);
  out[at] = 0xff;
  out[at + 1] = 0xfe;
  return out;
}

const reasons = (errors: DecodeEvent[]): string[] => errors.map((e) => (e.kind === 'error' ? e.error.reason : ''));

test('valid frames of every type decode to their typed form, whole or byte by byte', () => {
  const symbols: SymbolEntry[] = [
    { addr: '0x555555555233', own: true, line: 12, function: 'worker', file: '/src/prog.c' },
    { addr: '0x7ffff7c10000', own: false, line: 0, function: '??', file: '??' },
  ];
  const end: EndFrame = { type: 'end', how: 'signaled', status: 9, stop: 'killed', signal: 15, killAfterMs: 10_000, unfinishedBytes: 12, reason: '--duration 5 ended ö' };
  const inlined: InlinedEntry[] = [
    { addr: '0x555555555233', callers: [{ line: 41, function: 'hog', file: '/src/prog.c' }] },
    {
      addr: '0x555555555240',
      callers: [
        { line: 7, function: 'mix_ö', file: '/src/mix.h' },
        { line: 0, function: 'outer', file: '??' },
      ],
    },
  ];
  const frames: Frame[] = [hello({ version: 4 }), fullSnapshot(), stacks(), sync(), snapshot({ seq: 2 }), exit(), end, { type: 'symbols', symbols }, { type: 'inlined', inlined }];
  const bytes = Buffer.concat([
    helloFrame(hello({ version: 4 })),
    snapshotFrame(fullSnapshot()),
    stacksFrame(stacks()),
    syncFrame(sync()),
    snapshotFrame(snapshot({ seq: 2 })),
    exitFrame(exit()),
    endFrame(end),
    symbolsFrame(symbols),
    inlinedFrame(inlined),
  ]);
  for (const chunk of [bytes.length, 1, 7]) {
    const r = decodeAll(bytes, chunk);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.frames, frames);
  }
  const r = decodeAll(bytes);
  const h = helloFrame(hello({ version: 4 })).length;
  assert.deepEqual(r.offsets.slice(0, 2), [0, h]);
});

test('negative values: exit status, fdDelta; big values beyond 2^53 make the frame invalid', () => {
  const s = fullSnapshot();
  const r = decodeAll(Buffer.concat([exitFrame(exit({ how: 'signaled', status: -9 })), snapshotFrame(s)]));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.frames[0], exit({ how: 'signaled', status: -9 }));
  assert.equal((r.frames[1] as typeof s).nodeStats[1]!.fdDelta, -2);

  const big = snapshotPayload(snapshot());
  big.writeBigUInt64LE(1n << 60n, 8); // tNs
  const bad = decodeAll(Buffer.concat([rawFrame(2, big), exitFrame(exit())]));
  assert.match(reasons(bad.errors)[0]!, /tNs .* beyond 2\^53/);
  assert.deepEqual(bad.frames, [exit()]);
});

/** Each corrupted frame sits between two good ones: it is reported with its offset and type and skipped. */
test('every validation failure is reported and skipped; the next frames still decode', () => {
  const good = helloFrame(hello());
  const snap = snapshotPayload(fullSnapshot());
  const cases: { name: string; frame: Buffer; type?: number; reason: RegExp }[] = [
    { name: 'unknown type', frame: rawFrame(9, Buffer.from([1, 2, 3])), type: 9, reason: /unknown frame type 9/ },
    { name: 'size below 4', frame: new W().u32(2).u16(0).done(), reason: /frame size 2 is out of bounds/ },
    { name: 'payload too long', frame: rawFrame(3, Buffer.concat([new W().u8(0).u8(0).u16(0).i32(0).u64(1).done(), Buffer.from([0])])), type: 3, reason: /1 bytes left after the payload/ },
    { name: 'payload too short', frame: rawFrame(3, new W().u8(0).u8(0).u16(0).i32(0).done()), type: 3, reason: /payload ends inside tNs/ },
    { name: 'snapshot cut short', frame: rawFrame(2, snap.subarray(0, snap.length - 3)), type: 2, reason: /payload ends inside|needs at least/ },
    { name: 'bad exit how', frame: rawFrame(3, new W().u8(7).u8(0).u16(0).i32(0).u64(1).done()), type: 3, reason: /unknown exit how 7/ },
    { name: 'hello version 5 (newer than this reader)', frame: helloFrame(hello({ version: 5 })), type: 1, reason: /protocol version 5 \(this reader knows 1, 2, 3, 4; the runtime writes 4\)/ },
    { name: 'stacks cut short', frame: rawFrame(5, stacksPayload(stacks()).subarray(0, 36)), type: 5, reason: /payload ends inside wasteBytes/ },
    { name: 'stacks beyond 2^53', frame: rawFrame(5, Buffer.concat([new W().u32(1).u32(1).u64(1).done(), new W().u64(1n << 60n).u64(0).u64(0).done()])), type: 5, reason: /reservedBytes .* beyond 2\^53/ },
    { name: 'sync cut short', frame: rawFrame(6, syncPayload(sync()).subarray(0, syncPayload(sync()).length - 4)), type: 6, reason: /wakes count 2 needs at least 48 bytes, 44 left/ },
    { name: 'sync holds beyond the bytes left', frame: rawFrame(6, new W().u32(1).u32(1000).u32(0).done()), type: 6, reason: /holds count 1000 needs at least 56000 bytes, 4 left/ },
    { name: 'sync without its wakes', frame: rawFrame(6, new W().u32(1).u32(0).done()), type: 6, reason: /payload ends inside wakes count/ },
    {
      name: 'sync hold beyond 2^53',
      frame: rawFrame(6, syncPayload(sync({ holds: [{ ...sync().holds[0]!, holdTotalNs: 2 ** 60 }], wakes: [] }))),
      type: 6,
      reason: /holds\[0\] holdTotalNs .* beyond 2\^53/,
    },
    { name: 'sync with bytes after its wakes', frame: rawFrame(6, Buffer.concat([syncPayload(sync()), Buffer.from([0])])), type: 6, reason: /1 bytes left after the payload/ },
    {
      name: 'invalid UTF-8',
      frame: rawFrame(1, badUtf8(helloPayload(hello({ executable: '/tmp/prög' })))),
      type: 1,
      reason: /executable is not valid UTF-8/,
    },
    {
      name: 'string longer than the payload',
      frame: rawFrame(16, new W().u32(1).u64(1).u8(1).u8(0).u16(0).u32(1).u16(500).str('abc').done()),
      type: 16,
      reason: /payload ends inside symbols\[0\] function/,
    },
    {
      name: 'count beyond the bytes left',
      frame: rawFrame(16, new W().u32(1_000_000).u64(0).done()),
      type: 16,
      reason: /symbols count 1000000 needs at least 20000000 bytes, 8 left/,
    },
    {
      name: 'unknown node kind',
      frame: snapshotFrame(snapshot({ nodeDefs: [{ id: 1, kind: 15 as 1, frames: [] }] })),
      type: 2,
      reason: /nodeDefs\[0\] has unknown kind 15/,
    },
    {
      name: 'too many frames',
      frame: snapshotFrame(snapshot({ nodeDefs: [{ id: 1, kind: 1, frames: Array.from({ length: 17 }, () => '0x1') }] })),
      type: 2,
      reason: /nodeDefs\[0\] has 17 frames \(at most 16\)/,
    },
    {
      name: 'bad thread state',
      frame: snapshotFrame(snapshot({ threads: [{ id: 1, spawnSite: '0x0', allocatedBytes: 0, usedBytes: 1000, chunksLinked: 0, state: 4 as 1, kind: 0, name: 'x' }] })),
      type: 2,
      reason: /threads\[0\] has unknown state 4/,
    },
    {
      name: 'module start above end',
      frame: helloFrame(hello({ modules: [{ bias: '0x0', start: '0x2000', end: '0x1000', path: '/x' }] })),
      type: 1,
      reason: /module 0 start 0x2000 is above its end 0x1000/,
    },
    { name: 'bad end how', frame: rawFrame(17, new W().u8(2).u8(0).u8(0).u8(0).i32(0).u32(0).u32(0).str('').done()), type: 17, reason: /unknown end how 2/ },
    { name: 'bad end stop', frame: rawFrame(17, new W().u8(0).u8(3).u8(15).u8(0).i32(0).u32(0).u32(0).str('x').done()), type: 17, reason: /unknown end stop 3/ },
    { name: 'end without its reason', frame: rawFrame(17, new W().u8(0).u8(0).u8(0).u8(0).i32(0).u32(0).u32(0).done()), type: 17, reason: /payload ends inside reason length/ },
    { name: 'own not 0/1', frame: rawFrame(16, new W().u32(1).u64(1).u8(2).u8(0).u16(0).u32(1).str('f').str('g').done()), type: 16, reason: /own is 2/ },
    {
      name: 'inlined entry without callers',
      frame: rawFrame(18, new W().u32(2).u64(0x10).u16(1).u32(3).str('f').str('a.c').u64(0x20).u16(0).u64(0).done()),
      type: 18,
      reason: /inlined\[1\] \(0x20\) has no callers/,
    },
    {
      name: 'inlined callers beyond the bytes left',
      frame: rawFrame(18, new W().u32(1).u64(0x10).u16(3).u32(3).str('f').str('a.c').done()),
      type: 18,
      reason: /inlined\[0\] callers count 3 needs at least 24 bytes, 12 left/,
    },
    {
      name: 'inlined caller file cut short',
      frame: rawFrame(18, new W().u32(1).u64(0x10).u16(1).u32(3).str('f').u16(9).str('a.c').done()),
      type: 18,
      reason: /payload ends inside inlined\[0\] callers\[0\] file/,
    },
    {
      name: 'inlined caller function not UTF-8',
      frame: rawFrame(18, badUtf8(new W().u32(1).u64(0x10).u16(1).u32(3).str('fö').str('a.c').done())),
      type: 18,
      reason: /inlined\[0\] callers\[0\] function is not valid UTF-8/,
    },
    { name: 'inlined count beyond the bytes left', frame: rawFrame(18, new W().u32(2).u64(0x10).done()), type: 18, reason: /inlined count 2 needs at least 36 bytes, 8 left/ },
    {
      name: 'inlined with bytes after its entries',
      frame: rawFrame(18, new W().u32(1).u64(0x10).u16(1).u32(3).str('f').str('a.c').u8(0).done()),
      type: 18,
      reason: /1 bytes left after the payload/,
    },
  ];
  for (const c of cases) {
    const bytes = Buffer.concat([good, c.frame, exitFrame(exit())]);
    for (const chunk of [bytes.length, 3]) {
      const r = decodeAll(bytes, chunk);
      assert.deepEqual(r.frames, [hello(), exit()], c.name);
      assert.equal(r.errors.length, 1, `${c.name}: ${reasons(r.errors).join('; ')}`);
      const e = r.errors[0]!;
      assert.ok(e.kind === 'error');
      assert.match(e.error.reason, c.reason, c.name);
      assert.equal(e.error.offset, good.length, c.name);
      assert.equal(e.error.type, c.type, c.name);
    }
  }
});

test('a frame size above 16 MiB is reported and its bytes skipped without buffering them', () => {
  const huge = 16 * 1024 * 1024 + 1;
  const d = new FrameDecoder();
  const events: DecodeEvent[] = [];
  events.push(...d.push(helloFrame(hello())));
  events.push(...d.push(new W().u32(huge).done()));
  for (let left = huge; left > 0; left -= 1 << 20) events.push(...d.push(Buffer.alloc(Math.min(left, 1 << 20))));
  events.push(...d.push(exitFrame(exit())));
  assert.equal(d.end(), undefined);
  assert.deepEqual(
    events.map((e) => (e.kind === 'frame' ? e.frame.frame.type : e.error.reason)),
    ['hello', `frame size ${huge} is out of bounds (4..16777216)`, 'exit'],
  );
  assert.equal(d.position, helloFrame(hello()).length + 4 + huge + exitFrame(exit()).length);
});

test('a stream that ends inside a frame reports a truncated tail; everything before stands', () => {
  const full = Buffer.concat([helloFrame(hello()), snapshotFrame(fullSnapshot())]);
  for (const cut of [full.length - 1, helloFrame(hello()).length + 2, helloFrame(hello()).length + 6]) {
    const r = decodeAll(full.subarray(0, cut));
    assert.deepEqual(r.frames, [hello()]);
    assert.equal(r.errors.length, 1);
    const e = r.errors[0]!;
    assert.ok(e.kind === 'error');
    assert.match(e.error.reason, /^truncated: /);
    assert.equal(e.error.offset, helloFrame(hello()).length);
  }
  assert.equal(new FrameDecoder().end(), undefined);
});

test('readRecording: frames, errors and truncation of a file; a file that is not a recording', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-decode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'rec.caprec');
  const body = Buffer.concat([helloFrame(hello()), rawFrame(99, Buffer.alloc(0)), snapshotFrame(fullSnapshot())]);
  writeFileSync(file, Buffer.concat([recordingHeader(), body, exitFrame(exit()).subarray(0, 5)]));
  const rec = await readRecording(file);
  assert.deepEqual(
    rec.frames.map((f) => [f.offset, f.frame.type]),
    [
      [8, 'hello'],
      [8 + helloFrame(hello()).length + 8, 'snapshot'],
    ],
  );
  assert.deepEqual(rec.errors.map((e) => [e.offset, e.type, e.reason]), [[8 + helloFrame(hello()).length, 99, 'unknown frame type 99']]);
  assert.match(rec.truncated?.reason ?? '', /truncated/);
  assert.equal(rec.truncated?.offset, 8 + body.length);
  assert.deepEqual(recordingHeader(), MAGIC);

  const whole = decodeRecording('x', Buffer.concat([MAGIC, helloFrame(hello())]));
  assert.equal(whole.truncated, undefined);

  const notRec = join(dir, 'notes.txt');
  writeFileSync(notRec, 'hello world\n');
  await assert.rejects(readRecording(notRec), (err: Error) => {
    assert.ok(err instanceof RecordingError);
    assert.equal(err.message, `${notRec}: not a Capriccio recording (bad magic)`);
    return true;
  });
  writeFileSync(join(dir, 'short'), 'CAP');
  await assert.rejects(readRecording(join(dir, 'short')), /short: not a Capriccio recording \(bad magic\)/);
  await assert.rejects(readRecording(join(dir, 'missing')), /missing: no such file/);
});

test('symbolsFrames splits a huge table into frames within the size limit', () => {
  const long = 'f'.repeat(60000);
  const entries: SymbolEntry[] = Array.from({ length: 600 }, (_, i) => ({ addr: `0x${i.toString(16)}`, own: false, line: i, function: long, file: 'x.c' }));
  const frames = symbolsFrames(entries);
  assert.ok(frames.length >= 2);
  const r = decodeAll(Buffer.concat(frames));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.frames.flatMap((f) => (f.type === 'symbols' ? f.symbols : [])),
    entries,
  );
});

test('inlinedFrames splits a huge table into frames within the size limit; no entries, no frame', () => {
  const long = 'g'.repeat(60000);
  const entries: InlinedEntry[] = Array.from({ length: 300 }, (_, i) => ({
    addr: `0x${i.toString(16)}`,
    callers: [
      { line: i, function: long, file: 'x.c' },
      { line: i + 1, function: 'main', file: 'y.c' },
    ],
  }));
  const frames = inlinedFrames(entries);
  assert.ok(frames.length >= 2);
  for (const f of frames) assert.ok(f.length - 4 <= 16 * 1024 * 1024);
  const r = decodeAll(Buffer.concat(frames));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(
    r.frames.flatMap((f) => (f.type === 'inlined' ? f.inlined : [])),
    entries,
  );
  assert.deepEqual(inlinedFrames([]), []);
  assert.throws(() => inlinedFrame([{ addr: '0x1', callers: [] }]), /inlined entry 0x1 has 0 callers/);
});

// What a reader that predates INLINED reads: SYMBOLS entries laid out as they always were, and the
// inline chains in a frame of a type it skips whole.
test('SYMBOLS keeps its layout: the inline chains are in INLINED frames of their own', () => {
  const entries: SymbolEntry[] = [{ addr: '0x401136', own: true, line: 19, function: 'now_ms', file: '/p/hog.c' }];
  const old = rawFrame(16, new W().u32(1).u64(0x401136).u8(1).u8(0).u16(0).u32(19).str('now_ms').str('/p/hog.c').done());
  assert.deepEqual(symbolsFrames(entries), [old]);
  const chain = inlinedFrame([{ addr: '0x401136', callers: [{ line: 41, function: 'hog', file: '/p/hog.c' }] }]);
  assert.equal(chain.readUInt8(4), 18);
  assert.deepEqual(chain.subarray(8), new W().u32(1).u64(0x401136).u16(1).u32(41).str('hog').str('/p/hog.c').done());
});

test('SYNC: holds and wakes in wire order; from_node 0xffffffff is null, addresses are hex strings', () => {
  const bytes = new W()
    .u32(7)
    .u32(1)
    .u32(3)
    .u32(0)
    .u64(0x401001n)
    .u64(0x401101n)
    .u64(40)
    .u64(200_000_000)
    .u64(5_200_000)
    .u64(150_000_000)
    .u32(2)
    .u32(4)
    .u32(1)
    .u64(0x401201n)
    .u64(30)
    .u32(4)
    .u32(0xffffffff)
    .u64(0x401301n)
    .u64(1)
    .done();
  assert.deepEqual(bytes, syncPayload(sync({ seq: 7, holds: [{ node: 3, acquire: '0x401001', release: '0x401101', count: 40, holdTotalNs: 200_000_000, holdMaxNs: 5_200_000, waitTotalNs: 150_000_000 }], wakes: [{ node: 4, fromNode: 1, waker: '0x401201', count: 30 }, { node: 4, fromNode: null, waker: '0x401301', count: 1 }] })));
  const r = decodeAll(rawFrame(6, bytes));
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.frames, [
    {
      type: 'sync',
      seq: 7,
      holds: [{ node: 3, acquire: '0x401001', release: '0x401101', count: 40, holdTotalNs: 200_000_000, holdMaxNs: 5_200_000, waitTotalNs: 150_000_000 }],
      wakes: [
        { node: 4, fromNode: 1, waker: '0x401201', count: 30 },
        { node: 4, fromNode: null, waker: '0x401301', count: 1 },
      ],
    },
  ]);
  // none of either: still a frame (cumulative: nothing recorded yet)
  assert.deepEqual(decodeAll(syncFrame(sync({ holds: [], wakes: [] }))).frames, [sync({ holds: [], wakes: [] })]);
});
