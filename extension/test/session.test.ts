// Tests of telemetry sessions (extension/src/session/) and `capriccio run`, against a fake
// "program": a node script that connects to $CAPRICCIO_TELEMETRY and writes prepared bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { attach, launch } from '../src/session/session.ts';
import { decodeRecording } from '../src/protocol/decode.ts';
import { endFrame } from '../src/protocol/encode.ts';
import type { DecodedFrame, DecodeError, EndFrame } from '../../shared/protocol.ts';
import { MAGIC, exit, exitFrame, fullSnapshot, hello, helloFrame, snapshot, snapshotFrame } from './frames.ts';

const root = resolve(__dirname, '..', '..');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-session-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The fake program: connects to $CAPRICCIO_TELEMETRY, records what it saw of its environment in
 * $FAKE_REPORT, writes $FAKE_BYTES in a few chunks, then ends as $FAKE_END says:
 * "exit:N", "kill" (SIGKILL itself, socket left open), "hang" (ignore SIGTERM, never exit), or
 * "term:N" (run until SIGTERM, then exit N a moment later).
 */
const FAKE = `
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const sock = process.env.CAPRICCIO_TELEMETRY;
const st = fs.statSync(sock), dst = fs.statSync(path.dirname(sock));
fs.writeFileSync(process.env.FAKE_REPORT, JSON.stringify({
  sock, interval: process.env.CAPRICCIO_INTERVAL_MS ?? null,
  sockMode: (st.mode & 0o777).toString(8), dirMode: (dst.mode & 0o777).toString(8), isSocket: st.isSocket(),
}));
const bytes = fs.readFileSync(process.env.FAKE_BYTES);
const end = process.env.FAKE_END || 'exit:3';
if (end === 'hang') process.on('SIGTERM', () => {});
if (end.startsWith('term:')) process.on('SIGTERM', () => setTimeout(() => process.exit(Number(end.split(':')[1])), 100));
const c = net.createConnection(sock, async () => {
  const step = Math.ceil(bytes.length / 3);
  for (let i = 0; i < bytes.length; i += step) {
    c.write(bytes.subarray(i, i + step));
    await new Promise((r) => setTimeout(r, 20));
  }
  if (end === 'kill') { setTimeout(() => process.kill(process.pid, 'SIGKILL'), 50); return; }
  if (end === 'hang' || end.startsWith('term:')) { setInterval(() => {}, 1000); return; }
  c.end(() => process.exit(Number(end.split(':')[1])));
});
`;

function fakeProgram(dir: string, bytes: Buffer, end: string): { args: string[]; env: NodeJS.ProcessEnv; report: string } {
  const script = join(dir, 'fake.cjs');
  writeFileSync(script, FAKE);
  writeFileSync(join(dir, 'bytes.bin'), bytes);
  const report = join(dir, 'report.json');
  return { args: [script], env: { FAKE_BYTES: join(dir, 'bytes.bin'), FAKE_END: end, FAKE_REPORT: report }, report };
}

/** The END frame of a program that ended on its own. */
const onItsOwn = (over: Partial<EndFrame>): EndFrame => ({ type: 'end', how: 'exited', status: 0, stop: 'none', signal: 0, killAfterMs: 0, unfinishedBytes: 0, reason: '', ...over });

const STREAM = (): Buffer =>
  Buffer.concat([helloFrame(hello()), snapshotFrame(fullSnapshot()), snapshotFrame(snapshot({ seq: 2, tNs: 200_000_000 })), exitFrame(exit())]);

test('launch: the program gets a private socket, the model fills, the recording keeps every byte, status 3', async (t) => {
  const dir = tempDir(t);
  const fake = fakeProgram(dir, STREAM(), 'exit:3');
  const rec = join(dir, 'run.caprec');
  const session = await launch(process.execPath, fake.args, { env: fake.env, intervalMs: 50, record: rec, stdio: 'ignore' });
  const frames: DecodedFrame[] = [];
  const errors: DecodeError[] = [];
  session.on('frame', (f) => frames.push(f));
  session.on('error', (e) => errors.push(e));
  const end = await session.done;
  assert.deepEqual(end, { status: { kind: 'code', code: 3 }, connected: true, exitFrame: true });
  assert.deepEqual(
    frames.map((f) => f.frame.type),
    ['hello', 'snapshot', 'snapshot', 'exit'],
  );
  assert.deepEqual(errors, []);
  const m = session.model;
  assert.equal(m.hello?.pid, 4242);
  assert.equal(m.snapshots, 2);
  assert.equal(m.nodes.get(1)?.stat?.count, 20);
  assert.equal(m.edges.size, 1);
  assert.equal(m.exit?.status, 3);
  // Every byte received, then the session's END: the status as the process ended.
  assert.deepEqual(m.end, onItsOwn({ status: 3 }));
  assert.deepEqual(readFileSync(rec), Buffer.concat([MAGIC, STREAM(), endFrame(onItsOwn({ status: 3 }))]));

  // (what FAKE writes to FAKE_REPORT)
  const report = JSON.parse(readFileSync(fake.report, 'utf8')) as { interval: string | null; sockMode: string; dirMode: string; isSocket: boolean; sock: string };
  assert.deepEqual([report.interval, report.sockMode, report.dirMode, report.isSocket], ['50', '600', '700', true]);
  assert.match(report.sock, /\/telemetry\.sock$/);
  await session.close();
  assert.equal(existsSync(report.sock), false);
  assert.equal(existsSync(resolve(report.sock, '..')), false);
});

test('launch: a program killed mid-frame — every whole frame is recorded, then END with the status and the unfinished bytes', async (t) => {
  const dir = tempDir(t);
  const stream = STREAM();
  const whole = helloFrame(hello()).length + snapshotFrame(fullSnapshot()).length;
  const cut = stream.length - exitFrame(exit()).length - 10; // inside the second snapshot
  const fake = fakeProgram(dir, stream.subarray(0, cut), 'kill');
  const rec = join(dir, 'crash.caprec');
  const session = await launch(process.execPath, fake.args, { env: fake.env, record: rec, stdio: 'ignore' });
  const end = await session.done;
  await session.close();
  assert.deepEqual(end, { status: { kind: 'signal', signal: 'SIGKILL' }, connected: true, exitFrame: false });
  assert.equal(session.model.snapshots, 1);
  assert.match(session.model.errors[0]?.reason ?? '', /^truncated/);
  // The unfinished frame is cut from the file: END (and SYMBOLS) after it would be read as its rest.
  const programEnd = onItsOwn({ how: 'signaled', status: 9, unfinishedBytes: cut - whole });
  assert.deepEqual(session.model.end, programEnd);
  const bytes = readFileSync(rec);
  assert.deepEqual(bytes, Buffer.concat([MAGIC, stream.subarray(0, whole), endFrame(programEnd)]));
  const r = decodeRecording(rec, bytes);
  assert.deepEqual(
    r.frames.map((f) => f.frame.type),
    ['hello', 'snapshot', 'end'],
  );
  assert.equal(r.truncated, undefined);
  assert.deepEqual(r.errors, []);
});

test('close() ends a program that ignores SIGTERM with SIGKILL after the kill-after time, and END says so', async (t) => {
  const dir = tempDir(t);
  const fake = fakeProgram(dir, Buffer.concat([helloFrame(hello())]), 'hang');
  const rec = join(dir, 'hang.caprec');
  const session = await launch(process.execPath, fake.args, { env: fake.env, stdio: 'ignore', killAfterMs: 300, record: rec });
  // The fake installs its SIGTERM handler before it connects: once a frame is here, it ignores SIGTERM.
  await new Promise<void>((r) => session.once('frame', () => r()));
  await session.close('the test closed it');
  const end = await session.done;
  assert.deepEqual(end.status, { kind: 'signal', signal: 'SIGKILL' });
  const killed: EndFrame = { type: 'end', how: 'signaled', status: 9, stop: 'killed', signal: 15, killAfterMs: 300, unfinishedBytes: 0, reason: 'the test closed it' };
  assert.deepEqual(session.model.end, killed);
  assert.deepEqual(
    decodeRecording(rec, readFileSync(rec)).frames.map((f) => f.frame),
    [hello(), killed],
  );
});

test('stop(): a program that exits on SIGTERM is asked, not killed; kill-after 0 kills it at once', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'hang'));
  const fake = fakeProgram(dir, helloFrame(hello()), 'term:5');
  const asked = await launch(process.execPath, fake.args, { env: fake.env, stdio: 'ignore' });
  t.after(() => asked.close());
  await new Promise<void>((r) => asked.once('frame', () => r()));
  asked.stop('the test asked');
  assert.deepEqual((await asked.done).status, { kind: 'code', code: 5 });
  await asked.close();
  assert.deepEqual(asked.model.end, { type: 'end', how: 'exited', status: 5, stop: 'asked', signal: 15, killAfterMs: 10_000, unfinishedBytes: 0, reason: 'the test asked' });

  // No time allowed: SIGKILL follows SIGTERM at once (here to a program that ignores SIGTERM).
  const hang = fakeProgram(join(dir, 'hang'), helloFrame(hello()), 'hang');
  const atOnce = await launch(process.execPath, hang.args, { env: hang.env, stdio: 'ignore', killAfterMs: 0 });
  t.after(() => atOnce.close());
  await new Promise<void>((r) => atOnce.once('frame', () => r()));
  atOnce.stop('the test hurried');
  assert.deepEqual((await atOnce.done).status, { kind: 'signal', signal: 'SIGKILL' });
  await atOnce.close();
  assert.deepEqual(atOnce.model.end, { type: 'end', how: 'signaled', status: 9, stop: 'killed', signal: 15, killAfterMs: 0, unfinishedBytes: 0, reason: 'the test hurried' });
  await assert.rejects(launch(process.execPath, fake.args, { env: fake.env, stdio: 'ignore', killAfterMs: -1 }), /killAfterMs must be between 0 and 2147483647, not -1/);
});

test('launch: a program that cannot be run rejects done; one that never connects ends without telemetry', async (t) => {
  const s = await launch(join(tempDir(t), 'missing-program'), [], { stdio: 'ignore' });
  await assert.rejects(s.done, /cannot run .*missing-program/);
  await s.close();
  const quiet = await launch('/bin/sh', ['-c', 'exit 4'], { stdio: 'ignore' });
  assert.deepEqual(await quiet.done, { status: { kind: 'code', code: 4 }, connected: false, exitFrame: false });
  await quiet.close();
});

test('attach: reads a runtime that listens (CAPRICCIO_TELEMETRY_LISTEN)', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'listen.sock');
  const server = createServer((c) => c.end(STREAM()));
  await new Promise<void>((r) => server.listen(path, r));
  t.after(() => server.close());
  const s = await attach(path);
  const end = await s.done;
  await s.close();
  assert.deepEqual(end, { status: { kind: 'disconnected' }, connected: true, exitFrame: true });
  assert.equal(s.model.snapshots, 2);
  await assert.rejects(attach(join(dir, 'nobody.sock')), /cannot attach to .*nobody\.sock/);
});

test('capriccio run --record: status lines, the program status, a recording with SYMBOLS', (t) => {
  const dir = tempDir(t);
  const fake = fakeProgram(dir, STREAM(), 'exit:3');
  const rec = join(dir, 'cli.caprec');
  const r = spawnSync(process.execPath, ['--import', 'tsx', mainTs, 'run', '--record', rec, '--interval', '50', '--', process.execPath, ...fake.args], {
    cwd: root,
    env: { ...process.env, ...fake.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /capriccio: 2 snapshots, 2 blocking points, 1 edges, 0 decode errors\n/);
  assert.match(r.stderr, new RegExp(`capriccio: recorded ${rec} \\(\\d+ symbols\\)`));
  assert.match(r.stderr, new RegExp(`capriccio: ${process.execPath} exited with status 3\n`));
  const decoded = decodeRecording(rec, readFileSync(rec));
  assert.deepEqual(
    decoded.frames.map((f) => f.frame.type),
    ['hello', 'snapshot', 'snapshot', 'exit', 'end', 'symbols'],
  );
  assert.deepEqual(readFileSync(rec).subarray(0, 8 + STREAM().length), Buffer.concat([MAGIC, STREAM()]));
  const sym = decoded.frames[5]!.frame;
  assert.ok(sym.type === 'symbols');
  // Every address of the recording is covered (return addresses as address − 1).
  assert.ok(sym.symbols.some((s) => s.addr === '0x555555555233')); // node 1's first frame 0x...5234 − 1
  assert.ok(sym.symbols.some((s) => s.addr === '0x555555555700')); // sample pc as is
});

test('capriccio run --duration ends the program (SIGTERM) and exits 128+15', (t) => {
  const dir = tempDir(t);
  const fake = fakeProgram(dir, helloFrame(hello()), 'exit:0');
  writeFileSync(join(dir, 'sleep.cjs'), "setInterval(() => {}, 1000);\n");
  const r = spawnSync(process.execPath, ['--import', 'tsx', mainTs, 'run', '--duration', '0.5', '--', process.execPath, join(dir, 'sleep.cjs')], {
    cwd: root,
    env: { ...process.env, ...fake.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 143, r.stderr);
  assert.match(r.stderr, /sent no telemetry/);
  assert.match(r.stderr, new RegExp(`capriccio: ${process.execPath} killed by SIGTERM, sent when --duration 0.5 ended\n`));
  const missing = spawnSync(process.execPath, ['--import', 'tsx', mainTs, 'run', '--', join(dir, 'no-such-program')], { cwd: root, encoding: 'utf8' });
  assert.equal(missing.status, 127);
  assert.match(missing.stderr, /^capriccio: cannot run .*no-such-program/m);
});
