// samples/pool, the thread-pool web server, built with capcc (Capriccio threads) and with plain
// gcc -pthread, under raw HTTP/1.1 clients: responses byte for byte, keep-alive and pipelining,
// 1,000 keep-alive connections served by 16 workers, idle connections that must not hold the
// workers, an acceptor held back by a full queue, the idle timeout. Behaviour only, never time:
// the test's own timeouts are far above what any answer takes on a loaded machine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Conn, startServer, type Server } from './http-conn.ts';
import { RUNTIME, root, skipUnless } from './prerequisites.ts';

const sample = join(root, 'samples', 'pool');

const docroot = mkdtempSync(join(tmpdir(), 'capriccio-pool-'));
const www = join(docroot, 'www');
const files = {
  index: Buffer.from('<!doctype html><title>pool</title><p>hello from the pool</p>\n'),
  small: Buffer.from('just a small text file\n'),
  big: randomBytes(1 << 20), // 1 MiB, random: a short write() or a misplaced byte shows
};
mkdirSync(www, { recursive: true });
writeFileSync(join(www, 'index.html'), files.index);
writeFileSync(join(www, 'small.txt'), files.small);
writeFileSync(join(www, 'big.bin'), files.big);
after(() => rmSync(docroot, { recursive: true, force: true }));

let built: string | undefined; // why the build failed, or '' once it succeeded
function build(): void {
  if (built === undefined) {
    const r = spawnSync('make', ['-s', '-C', sample, 'all', 'pthread'], { encoding: 'utf8', timeout: 180_000 });
    built = r.status === 0 ? '' : `make failed: ${r.stderr}${r.stdout}`;
  }
  assert.equal(built, '', built);
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: pool\r\n${extra}\r\n`;

/** The pool server with the test's docroot and `args`; killed when the suite ends. */
async function pool(exe: string, args: readonly string[], servers: Server[]): Promise<Server> {
  build();
  const srv = await startServer(join(sample, 'build', exe), ['-d', www, ...args]);
  servers.push(srv);
  return srv;
}

for (const exe of ['pool', 'pool-pthread']) {
  describe(`${exe} (${exe === 'pool' ? 'capcc' : 'gcc -pthread'})`, { skip: skipUnless(RUNTIME) }, () => {
    const servers: Server[] = [];
    let port = 0;
    let sent = 0; // requests made to the default server, to check its summary against
    before(async () => {
      port = (await pool(exe, [], servers)).port;
    });
    after(() => {
      for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
    });

    test('GET and HEAD of files from memory; / is index.html; a missing file is 404', async () => {
      const c = await Conn.open(port);
      await c.write(get('/') + get('/big.bin') + `HEAD /small.txt HTTP/1.1\r\nHost: pool\r\n\r\n` + get('/nope.html') + get('/small.txt?x=1'));
      const index = await c.response();
      assert.equal(index.status, 200);
      assert.deepEqual(index.body, files.index);
      assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
      const big = await c.response();
      assert.equal(big.status, 200);
      assert.ok(big.body.equals(files.big), 'big.bin differs');
      assert.equal(big.headers.get('content-type'), 'application/octet-stream');
      const head = await c.response(true);
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('content-length'), String(files.small.length));
      const missing = await c.response();
      assert.equal(missing.status, 404);
      assert.equal(missing.body.toString(), 'not found\n');
      const query = await c.response();
      assert.deepEqual(query.body, files.small);
      assert.ok(await c.quietFor(100), 'bytes after the last response');
      c.destroy();
      sent += 5;
    });

    test('keep-alive by default for HTTP/1.1; Connection: close and HTTP/1.0 close after the response', async () => {
      const c = await Conn.open(port);
      for (let i = 0; i < 5; i++) {
        await c.write(get('/small.txt'));
        assert.deepEqual((await c.response()).body, files.small);
      }
      await c.write(get('/', 'Connection: keep-alive, close\r\n'));
      const last = await c.response();
      assert.equal(last.headers.get('connection'), 'close');
      assert.deepEqual(last.body, files.index);
      assert.equal((await c.closedByPeer()).length, 0);

      const old = await Conn.open(port);
      await old.write('GET /small.txt HTTP/1.0\r\n\r\n');
      assert.deepEqual((await old.response()).body, files.small);
      await old.closedByPeer();
      const ka10 = await Conn.open(port);
      await ka10.write('GET /small.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n');
      const r = await ka10.response();
      assert.equal(r.headers.get('connection'), 'keep-alive');
      assert.ok(await ka10.quietFor(100), 'an HTTP/1.0 keep-alive connection was closed');
      ka10.destroy();
      sent += 8;
    });

    test('a request split byte by byte is answered; garbage is 400, POST 405, both closing', async () => {
      const c = await Conn.open(port);
      for (const ch of get('/small.txt')) await c.write(ch);
      assert.deepEqual((await c.response()).body, files.small);
      c.destroy();
      const bad = await Conn.open(port);
      await bad.write('HELLO\r\n\r\n');
      assert.equal((await bad.response()).status, 400);
      await bad.closedByPeer();
      const post = await Conn.open(port);
      await post.write('POST / HTTP/1.1\r\nHost: pool\r\nContent-Length: 0\r\n\r\n');
      assert.equal((await post.response()).status, 405);
      await post.closedByPeer();
      sent += 3;
    });

    test('1,000 keep-alive connections, 3 requests each, served by the 16 workers in turn', { timeout: 120_000 }, async () => {
      const conns = await Promise.all(Array.from({ length: 1000 }, () => Conn.open(port)));
      try {
        for (let round = 0; round < 3; round++) {
          await Promise.all(
            conns.map(async (c, i) => {
              const [path, body] = (i + round) % 2 ? ['/small.txt', files.small] : ['/', files.index];
              await c.write(get(path));
              const r = await c.response();
              assert.equal(r.status, 200);
              assert.deepEqual(r.body, body);
            }),
          );
        }
      } finally {
        for (const c of conns) c.destroy();
      }
      sent += 3000;
    });

    test('idle keep-alive connections do not hold the workers while another waits', { timeout: 60_000 }, async () => {
      // Two workers and a 10-minute keep-alive: were a worker to sit on its idle connection until
      // the timeout, the third client would wait out the test's timeout.
      const srv = await pool(exe, ['-w', '2', '-k', '600000'], servers);
      const idle = await Promise.all([Conn.open(srv.port), Conn.open(srv.port)]);
      for (const c of idle) {
        await c.write(get('/small.txt'));
        assert.deepEqual((await c.response()).body, files.small);
      }
      const third = await Conn.open(srv.port);
      await third.write(get('/'));
      assert.deepEqual((await third.response()).body, files.index);
      // The idle ones are still open and served.
      for (const c of idle) {
        await c.write(get('/'));
        assert.deepEqual((await c.response()).body, files.index);
      }
      for (const c of [...idle, third]) c.destroy();
    });

    test('with a full queue the acceptor waits, and every client is answered in turn', { timeout: 60_000 }, async () => {
      const srv = await pool(exe, ['-w', '1', '-q', '1'], servers);
      const conns = await Promise.all(Array.from({ length: 20 }, () => Conn.open(srv.port)));
      await Promise.all(
        conns.map(async (c) => {
          await c.write(get('/small.txt', 'Connection: close\r\n'));
          assert.deepEqual((await c.response()).body, files.small);
          await c.closedByPeer();
        }),
      );
    });

    test('a connection idle for the keep-alive timeout is closed', { timeout: 60_000 }, async () => {
      const srv = await pool(exe, ['-k', '200'], servers);
      const c = await Conn.open(srv.port);
      await c.write(get('/small.txt'));
      assert.deepEqual((await c.response()).body, files.small);
      assert.equal((await c.closedByPeer()).length, 0);
    });

    test('SIGTERM: the summary counts the requests and connections, exit 0', async () => {
      const srv = servers[0];
      assert.ok(srv);
      srv.proc.kill('SIGTERM');
      const { code } = await srv.exited;
      assert.equal(code, 0);
      const m = /pool: (\d+) requests on (\d+) connections/.exec(srv.stdout());
      assert.ok(m, srv.stdout());
      assert.equal(Number(m[1]), sent);
      assert.ok(Number(m[2]) >= 1006, srv.stdout());
    });
  });
}

test('pool refuses bad arguments with a clear error', { skip: skipUnless(RUNTIME) }, () => {
  build();
  for (const exe of ['pool', 'pool-pthread']) {
    const r = spawnSync(join(sample, 'build', exe), ['-w', '0'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "pool: '0' is not a number from 1 to 100000\n");
    const d = spawnSync(join(sample, 'build', exe), ['-d', join(docroot, 'missing')], { encoding: 'utf8' });
    assert.equal(d.status, 1);
    assert.match(d.stderr, /^pool: docroot .*missing: No such file or directory\n$/);
  }
});
