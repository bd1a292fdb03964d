// The demo's stack figures against the kernel's: knot (samples/knot, one thread per connection)
// under `capriccio run` with 1,000 idle keep-alive connections. The recording's last STACKS frame
// (resident and reserved bytes of every stack mapping, measured by the runtime with mincore) must
// match what /proc/PID/smaps shows for the mappings the runtime marked ("nr nh"), within
// 10%. Each connection's thread holds gold's 1 MiB chunk for its calls into libc, so reserved is
// about a gigabyte and resident a few pages per thread: the test also checks that the two differ
// by that much, which a figure that counts address space as memory would not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeRecording } from '../src/protocol/decode.ts';
import { skipUnless, RUNTIME } from './prerequisites.ts';
import { Conn } from './http-conn.ts';

const root = resolve(__dirname, '..', '..');
const CONNECTIONS = 1000;

/** Size and Rss of the mappings marked noreserve and nohugepage, as /proc/PID/smaps lists them (glibc marks its thread stacks nohugepage too, not noreserve). */
function procStacks(pid: number): { size: number; rss: number } {
  let size = 0;
  let rss = 0;
  let vmaSize = 0;
  let vmaRss = 0;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^(Size|Rss):\s+(\d+) kB/.exec(line);
    if (m?.[1] === 'Size') vmaSize = Number(m[2]) * 1024;
    else if (m?.[1] === 'Rss') vmaRss = Number(m[2]) * 1024;
    else if (line.startsWith('VmFlags:') && ['nh', 'nr'].every((f) => line.split(/\s+/).includes(f))) {
      size += vmaSize;
      rss += vmaRss;
    }
  }
  return { size, rss };
}

/** The program capriccio run started: its only child. */
function childOf(pid: number): number {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  assert.equal(kids.length, 1, `capriccio run (${pid}) has children ${kids.join(', ')}`);
  return Number(kids[0]);
}

const within = (ours: number, proc: number): boolean => ours >= proc * 0.9 && ours <= proc * 1.1;

test('knot with 1,000 connections: STACKS resident and reserved match /proc within 10%', { skip: skipUnless(RUNTIME), timeout: 240_000 }, async (t) => {
  const made = spawnSync('make', ['-s', '-C', join(root, 'samples', 'knot'), 'all'], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(made.status, 0, `make failed: ${made.stderr}${made.stdout}`);
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-stacks-'));
  try {
    writeFileSync(join(dir, 'index.html'), '<p>hello</p>\n');
    const rec = join(dir, 'knot.cap');
    const run = spawn(process.execPath, [join(root, 'bin', 'capriccio.js'), 'run', '--record', rec, '--', join(root, 'samples', 'knot', 'build', 'knot'), '-p', '0', '-d', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    run.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    run.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((res) => run.on('exit', (code) => res(code)));
    const port = await new Promise<number>((res, rej) => {
      const check = (): void => {
        const m = /listening on (\d+)/.exec(out);
        if (m) res(Number(m[1]));
      };
      run.stdout.on('data', check);
      void exited.then((code) => rej(new Error(`capriccio run exited (${code}) before knot listened: ${err}`)));
    });
    const knot = childOf(run.pid ?? 0);
    const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => Conn.open(port)));
    await Promise.all(
      conns.map(async (c) => {
        await c.write('GET /index.html HTTP/1.1\r\nHost: knot\r\n\r\n');
        assert.equal((await c.response()).status, 200);
      }),
    );
    // Every connection's thread now waits in its read. The runtime measures about once a second:
    // /proc is read, then the run goes on long enough for a measurement after that read.
    const procAt = Date.now();
    const proc = procStacks(knot);
    await new Promise((res) => setTimeout(res, 4000));
    run.kill('SIGTERM');
    assert.equal(await exited, 0, `capriccio run: ${err}`);
    for (const c of conns) c.sock.destroy();

    const frames = decodeRecording(rec, readFileSync(rec)).frames.map((f) => f.frame);
    const hello = frames.find((f) => f.type === 'hello');
    assert.ok(hello && hello.type === 'hello');
    const stacks = frames.flatMap((f) => (f.type === 'stacks' ? [f] : []));
    assert.ok(stacks.length > 0, 'no STACKS frame in the recording');
    // The first measurement after /proc was read: the connections were open and idle then.
    const last = stacks.find((s) => (hello.startRealtimeNs + s.tNs) / 1e6 >= procAt);
    assert.ok(last, `no STACKS measurement after /proc was read, of ${stacks.length}`);
    const msg = `STACKS reserved ${last.reservedBytes} resident ${last.residentBytes} (${last.mappings} mappings); /proc nr nh: size ${proc.size} rss ${proc.rss}`;
    t.diagnostic(msg);
    assert.ok(last.reservedBytes >= CONNECTIONS * (1 << 20), msg);
    assert.ok(last.residentBytes < last.reservedBytes / 20, msg);
    assert.ok(within(last.reservedBytes, proc.size), msg);
    assert.ok(within(last.residentBytes, proc.rss), msg);
    assert.ok(last.wasteBytes <= last.residentBytes, msg);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
