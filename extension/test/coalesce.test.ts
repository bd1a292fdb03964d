// A consumer that stops reading must not slow the program down or lose what it measured: the
// runtime skips snapshots (counting them) and the next one carries everything since.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FrameDecoder } from '../src/protocol/decode.ts';
import type { SnapshotFrame } from '../../shared/protocol.ts';
import { Model } from '../src/model/model.ts';
import { have, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');

test('a stalled consumer gets coalesced snapshots with a dropped count, and loses no counts', async (t) => {
  if (!have(t, RUNTIME)) return;
  const mk = spawnSync('make', ['-s', '-C', join(root, 'samples', 'rhythm')], { encoding: 'utf8' });
  assert.equal(mk.status, 0, mk.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-coalesce-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'telemetry.sock');

  const THREADS = 4, ROUNDS = 100; // 100 x 11 ms: the program outlives the consumer's stall
  const decoder = new FrameDecoder();
  const model = new Model();
  const snapshots: SnapshotFrame[] = [];
  let conn: Socket | undefined;
  let listening!: () => void;
  const ready = new Promise<void>((r) => (listening = r));
  const done = new Promise<void>((resolveDone, reject) => {
    setTimeout(() => reject(new Error('the telemetry stream did not end within 20 s')), 20_000).unref();
    // pauseOnConnect: nothing is read (not even into Node's buffers) until resume().
    const server = createServer({ pauseOnConnect: true }, (c) => {
      conn = c;
      c.on('data', (chunk: Buffer) => {
        for (const ev of decoder.push(chunk)) {
          if (ev.kind === 'error') reject(new Error(`decode error: ${JSON.stringify(ev.error)}`));
          else {
            const f = ev.frame.frame;
            model.apply(f);
            if (f.type === 'snapshot') snapshots.push(f);
          }
        }
      });
      c.on('end', () => {
        server.close();
        resolveDone();
      });
      setTimeout(() => c.resume(), 400);
    });
    server.listen(sock, listening);
  });
  await ready;

  // A 1 ms cadence into a 4 KiB send buffer: the stalled consumer falls behind at once.
  const child = spawn(join(root, 'samples', 'rhythm', 'build', 'rhythm'), [String(THREADS), String(ROUNDS), '1', '10'], {
    env: { ...process.env, CAPRICCIO_TELEMETRY: sock, CAPRICCIO_INTERVAL_MS: '1', CAPRICCIO_TELEMETRY_SNDBUF: '4096' },
    stdio: 'ignore',
  });
  const status = await new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await done;
  assert.ok(conn, 'the program never connected');
  assert.equal(status, 0);

  const dropped = snapshots.reduce((n, s) => n + s.dropped, 0);
  assert.ok(dropped > 0, 'no snapshot was skipped although the consumer stalled');
  const last = snapshots.at(-1)!;
  assert.equal(last.resources.droppedTotal, dropped, 'droppedTotal is the sum of the per-snapshot counts');
  // seq counts snapshots built, so there are no gaps: skipping happens before building.
  assert.equal(model.seqGaps, 0);
  // Everything measured arrived: every one of the sleeps is counted at its blocking point.
  const sleep = [...model.nodes.values()].find((n) => n.def?.kind === 1);
  assert.ok(sleep, 'no sleep node');
  assert.equal(sleep.stat?.count, THREADS * ROUNDS);
  assert.equal(model.exit?.status, 0);
});
