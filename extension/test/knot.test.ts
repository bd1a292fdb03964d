// samples/knot, the paper's test web server, under real HTTP clients: Node's http client, raw
// sockets (pipelining, a request split byte by byte, 1,000 concurrent connections) and curl.
// The same checks run against four servers: knot built with capcc (Capriccio threads) serving
// from its page cache and with sendfile, and the same source built with plain gcc -pthread
// (kernel threads, the baseline) in both modes. Every check asserts behaviour, never time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { skipUnless, CURL, RUNTIME } from './prerequisites.ts';
import { Conn, parseResponse, startServer, type Server } from './http-conn.ts';

const root = resolve(__dirname, '..', '..');
const sample = join(root, 'samples', 'knot');

// ---- The docroot ------------------------------------------------------------------------------

const docroot = mkdtempSync(join(tmpdir(), 'capriccio-knot-'));
const www = join(docroot, 'www');
const files = {
  index: Buffer.from('<!doctype html><title>knot</title><p>hello from knot</p>\n'),
  small: Buffer.from('just a small text file\n'),
  big: randomBytes(1 << 20), // 1 MiB, random so any misplaced byte shows
  sub: Buffer.from('<p>sub index</p>\n'),
};
mkdirSync(join(www, 'sub'), { recursive: true });
writeFileSync(join(www, 'index.html'), files.index);
writeFileSync(join(www, 'small.txt'), files.small);
writeFileSync(join(www, 'big.bin'), files.big);
writeFileSync(join(www, 'sub', 'index.html'), files.sub);
writeFileSync(join(docroot, 'secret.txt'), 'outside the docroot\n');
after(() => rmSync(docroot, { recursive: true, force: true }));

// ---- Building ---------------------------------------------------------------------------------

let built: string | undefined; // why the build failed, or '' once it succeeded
function build(): void {
  if (built !== undefined) {
    assert.equal(built, '', built);
    return;
  }
  const r = spawnSync('make', ['-s', '-C', sample, 'all', 'pthread'], { encoding: 'utf8', timeout: 180_000 });
  built = r.status === 0 ? '' : `make failed: ${r.stderr}${r.stdout}`;
  assert.equal(built, '', built);
}

// ---- A running server ---------------------------------------------------------------------------

/** knot serving the test's docroot, with `args`. */
const startKnot = (exe: string, args: readonly string[]): Promise<Server> => startServer(exe, ['-d', www, ...args]);

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: knot\r\n${extra}\r\n`;

function httpGet(port: number, path: string, opts: http.RequestOptions = {}): Promise<{ res: http.IncomingMessage; body: Buffer; reused: boolean }> {
  return new Promise((res, rej) => {
    const req = http.request({ host: '127.0.0.1', port, path, ...opts }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (d: Buffer) => chunks.push(d));
      r.on('end', () => res({ res: r, body: Buffer.concat(chunks), reused: req.reusedSocket }));
      r.on('error', rej);
    });
    req.on('error', rej);
    req.end();
  });
}

function curl(args: readonly string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((res) => {
    execFile('curl', ['-sS', ...args], { encoding: 'buffer', maxBuffer: 16 << 20 }, (e, stdout, stderr) =>
      res({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr: stderr.toString() }),
    );
  });
}

// ---- The checks ---------------------------------------------------------------------------------

const variants = [
  { name: 'knot (capcc), page cache', exe: 'knot', args: ['-m', 'read'] },
  { name: 'knot (capcc), sendfile', exe: 'knot', args: ['-m', 'sendfile'] },
  { name: 'knot-pthread (gcc), page cache', exe: 'knot-pthread', args: ['-m', 'read'] },
  { name: 'knot-pthread (gcc), sendfile', exe: 'knot-pthread', args: ['-m', 'sendfile'] },
];

for (const v of variants) {
  describe(v.name, { skip: skipUnless(RUNTIME) }, () => {
    let srv: Server;
    let port = 0;
    let sent = 0; // requests this suite made, to check the summary against
    before(async () => {
      build();
      srv = await startKnot(join(sample, 'build', v.exe), v.args);
      port = srv.port;
    });
    after(() => {
      if (srv && srv.proc.exitCode === null && srv.proc.signalCode === null) srv.proc.kill('SIGKILL');
    });

    test('GET / is index.html; HEAD has the headers and no body', async () => {
      const r = await httpGet(port, '/');
      assert.equal(r.res.statusCode, 200);
      assert.deepEqual(r.body, files.index);
      assert.equal(r.res.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(r.res.headers['content-length'], String(files.index.length));
      const h = await httpGet(port, '/big.bin', { method: 'HEAD' });
      assert.equal(h.res.statusCode, 200);
      assert.equal(h.res.headers['content-length'], String(files.big.length));
      assert.equal(h.body.length, 0);
      // Raw: nothing at all follows a HEAD response's header.
      const c = await Conn.open(port);
      await c.write(`HEAD /small.txt HTTP/1.1\r\nHost: knot\r\nConnection: close\r\n\r\n`);
      const rest = await c.closedByPeer();
      const p = parseResponse(rest, true);
      assert.ok(p);
      assert.equal(p.resp.headers.get('content-length'), String(files.small.length));
      assert.equal(p.rest.length, 0);
      sent += 3;
    });

    test('keep-alive: one socket serves several requests', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const sockets = new Set<unknown>();
      try {
        for (let i = 0; i < 5; i++) {
          const r = await new Promise<{ status: number | undefined; body: Buffer; reused: boolean }>((res, rej) => {
            const req = http.get({ host: '127.0.0.1', port, path: i % 2 ? '/small.txt' : '/', agent }, (m) => {
              const chunks: Buffer[] = [];
              m.on('data', (d: Buffer) => chunks.push(d));
              m.on('end', () => res({ status: m.statusCode, body: Buffer.concat(chunks), reused: req.reusedSocket }));
            });
            req.on('socket', (s) => sockets.add(s));
            req.on('error', rej);
          });
          assert.equal(r.status, 200);
          assert.deepEqual(r.body, i % 2 ? files.small : files.index);
          assert.equal(r.reused, i > 0, `request ${i} reused the socket: ${r.reused}`);
        }
        assert.equal(sockets.size, 1);
      } finally {
        agent.destroy();
      }
      sent += 5;
    });

    test('pipelined requests in one write are answered in order', async () => {
      const c = await Conn.open(port);
      await c.write(
        get('/') + `HEAD /big.bin HTTP/1.1\r\nHost: knot\r\n\r\n` + get('/nope.html') + get('/sub/') + get('/small.txt', 'Connection: close\r\n'),
      );
      const r1 = await c.response();
      const r2 = await c.response(true);
      const r3 = await c.response();
      const r4 = await c.response();
      const r5 = await c.response();
      assert.deepEqual([r1.status, r2.status, r3.status, r4.status, r5.status], [200, 200, 404, 200, 200]);
      assert.deepEqual(r1.body, files.index);
      assert.equal(r2.headers.get('content-length'), String(files.big.length));
      assert.deepEqual(r4.body, files.sub);
      assert.deepEqual(r5.body, files.small);
      assert.equal(r5.headers.get('connection'), 'close');
      assert.equal((await c.closedByPeer()).length, 0);
      sent += 5;
    });

    test('a request split byte by byte, and a pipeline split at odd places', async () => {
      const c = await Conn.open(port);
      const req = Buffer.from(get('/small.txt'));
      for (const b of req) {
        await c.write(Buffer.from([b]));
        await new Promise((r) => setTimeout(r, 2));
      }
      const r = await c.response();
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, files.small);
      // Two requests cut in three pieces, the cuts inside the blank line and the request line.
      const two = get('/') + get('/small.txt', 'Connection: close\r\n');
      const cut1 = two.indexOf('\r\n\r\n') + 3;
      const cut2 = cut1 + 6;
      for (const piece of [two.slice(0, cut1), two.slice(cut1, cut2), two.slice(cut2)]) {
        await c.write(piece);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual((await c.response()).body, files.index);
      assert.deepEqual((await c.response()).body, files.small);
      await c.closedByPeer();
      sent += 3;
    });

    test('404, 405, 400 for traversal and garbage, 431 for huge headers, HTTP/1.0 closes', async () => {
      assert.equal((await httpGet(port, '/no/such/file')).res.statusCode, 404);
      const post = await httpGet(port, '/', { method: 'POST', headers: { 'content-length': '0' } });
      assert.equal(post.res.statusCode, 405);
      assert.equal(post.res.headers['allow'], 'GET, HEAD');
      sent += 2;
      for (const path of ['/../secret.txt', '/sub/../../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E%2fsecret.txt']) {
        const c = await Conn.open(port);
        await c.write(get(path));
        const r = await c.response();
        assert.equal(r.status, 400, path);
        assert.ok(!r.body.toString().includes('outside the docroot'));
        await c.closedByPeer();
        sent++;
      }
      // A POST body is read and dropped; the connection goes on.
      const c = await Conn.open(port);
      await c.write(`POST / HTTP/1.1\r\nHost: knot\r\nContent-Length: 5\r\n\r\nhello` + get('/small.txt'));
      assert.equal((await c.response()).status, 405);
      assert.deepEqual((await c.response()).body, files.small);
      // Garbage closes the connection after a 400.
      await c.write('NOT HTTP\r\n\r\n');
      assert.equal((await c.response()).status, 400);
      await c.closedByPeer();
      sent += 3;
      const big = await Conn.open(port);
      await big.write(`GET / HTTP/1.1\r\nHost: knot\r\nX-Filler: ${'x'.repeat(10000)}\r\n\r\n`);
      assert.equal((await big.response()).status, 431);
      await big.closedByPeer();
      const long = await Conn.open(port);
      await long.write(`GET /${'a'.repeat(10000)} HTTP/1.1\r\nHost: knot\r\n\r\n`);
      assert.equal((await long.response()).status, 414);
      await long.closedByPeer();
      const old = await Conn.open(port);
      await old.write('GET /small.txt HTTP/1.0\r\n\r\n');
      const r10 = await old.response();
      assert.deepEqual(r10.body, files.small);
      await old.closedByPeer();
      const ka10 = await Conn.open(port);
      await ka10.write('GET /small.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      assert.equal((await ka10.response()).headers.get('connection'), 'keep-alive');
      await ka10.write('GET / HTTP/1.0\r\n\r\n');
      assert.deepEqual((await ka10.response()).body, files.index);
      await ka10.closedByPeer();
      sent += 5;
    });

    test('If-Modified-Since equal to Last-Modified gets 304', async () => {
      const r = await httpGet(port, '/small.txt');
      const lm = r.res.headers['last-modified'];
      assert.ok(lm);
      const c = await Conn.open(port);
      await c.write(get('/small.txt', `If-Modified-Since: ${lm}\r\nConnection: close\r\n`));
      const nm = await c.response();
      assert.equal(nm.status, 304);
      assert.equal((await c.closedByPeer()).length, 0);
      sent += 2;
    });

    test('1 MiB file byte-exact, several times on one connection', async () => {
      const c = await Conn.open(port);
      for (let i = 0; i < 3; i++) {
        await c.write(get('/big.bin'));
        const r = await c.response();
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('content-type'), 'application/octet-stream');
        assert.ok(r.body.equals(files.big), `1 MiB body differs (request ${i})`);
      }
      c.destroy();
      sent += 3;
    });

    test('curl: bodies, HEAD, and one connection for several URLs', { skip: skipUnless(CURL) }, async () => {
      const base = `http://127.0.0.1:${port}`;
      const dir = mkdtempSync(join(docroot, 'curl-'));
      const r = await curl([
        '-w', '%{http_code} %{num_connects}\\n',
        '-o', join(dir, 'a'), `${base}/`,
        '-o', join(dir, 'b'), `${base}/big.bin`,
        '-o', join(dir, 'c'), `${base}/small.txt`,
        '-o', join(dir, 'd'), `${base}/missing`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      // One connection made for the first URL, none for the others: they reused it.
      assert.deepEqual(r.stdout.toString().trim().split('\n'), ['200 1', '200 0', '200 0', '404 0']);
      assert.deepEqual(readFileSync(join(dir, 'a')), files.index);
      assert.ok(readFileSync(join(dir, 'b')).equals(files.big));
      assert.deepEqual(readFileSync(join(dir, 'c')), files.small);
      const h = await curl(['-I', `${base}/big.bin`]);
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout.toString(), /^HTTP\/1\.1 200 OK\r\n/);
      assert.match(h.stdout.toString(), /\r\nContent-Length: 1048576\r\n/);
      const t = await curl(['--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', `${base}/../secret.txt`]);
      assert.equal(t.stdout.toString(), '400');
      sent += 6;
    });

    test('1,000 concurrent connections, 3 requests each', async () => {
      const conns = await Promise.all(Array.from({ length: 1000 }, () => Conn.open(port)));
      const routes = [['/', files.index], ['/small.txt', files.small], ['/sub/', files.sub]] as const;
      let ok = 0;
      await Promise.all(
        conns.map(async (c, i) => {
          // Connection i asks for the routes starting at i % 3, so every route is asked at every step.
          const order = [...routes.slice(i % 3), ...routes.slice(0, i % 3)];
          for (const [k, [path, want]] of order.entries()) {
            await c.write(get(path, k === 2 ? 'Connection: close\r\n' : ''));
            const r = await c.response();
            assert.equal(r.status, 200);
            assert.deepEqual(r.body, want);
            ok++;
          }
          await c.closedByPeer();
        }),
      );
      assert.equal(ok, 3000);
      sent += 3000;
    });

    test('SIGTERM prints the summary and exits 0', async () => {
      srv.proc.kill('SIGTERM');
      const { code, signal } = await srv.exited;
      assert.equal(signal, null);
      assert.equal(code, 0);
      const m = /knot: (\d+) requests on (\d+) connections/.exec(srv.stdout());
      assert.ok(m, `no summary line in: ${srv.stdout()}`);
      assert.ok(Number(m[1]) >= sent, `${m[1]} requests counted, ${sent} made`);
      assert.ok(Number(m[2]) >= 1000);
    });
  });
}

describe('knot options', { skip: skipUnless(RUNTIME) }, () => {
  for (const exe of ['knot', 'knot-pthread']) {
    test(`${exe}: -k closes idle keep-alive connections`, async () => {
      build();
      const srv = await startKnot(join(sample, 'build', exe), ['-k', '1']);
      try {
        const c = await Conn.open(srv.port);
        await c.write(get('/small.txt'));
        assert.equal((await c.response()).status, 200);
        assert.equal((await c.closedByPeer()).length, 0); // the server hung up on its own
      } finally {
        srv.proc.kill('SIGTERM');
        assert.equal((await srv.exited).code, 0);
      }
    });

    test(`${exe}: a file too big for the cache goes out whole; a changed file is reloaded`, async () => {
      build();
      const srv = await startKnot(join(sample, 'build', exe), ['-c', '1M']); // entries up to 256 KiB
      const changing = join(www, `changing-${exe}.txt`);
      writeFileSync(changing, 'first version\n');
      try {
        const c = await Conn.open(srv.port);
        await c.write(get('/big.bin'));
        assert.ok((await c.response()).body.equals(files.big));
        await c.write(get(`/changing-${exe}.txt`));
        assert.equal((await c.response()).body.toString(), 'first version\n');
        writeFileSync(`${changing}.tmp`, 'second, longer version\n');
        renameSync(`${changing}.tmp`, changing); // atomically: the server never sees half a file
        // The cache re-checks a file at most about once a second: ask until it notices.
        let body = '';
        for (let i = 0; i < 100 && body !== 'second, longer version\n'; i++) {
          await new Promise((r) => setTimeout(r, 50));
          await c.write(get(`/changing-${exe}.txt`));
          body = (await c.response()).body.toString();
          assert.ok(body === 'first version\n' || body === 'second, longer version\n', `mixed body: ${body}`);
        }
        assert.equal(body, 'second, longer version\n');
        c.destroy();
      } finally {
        srv.proc.kill('SIGTERM');
        assert.equal((await srv.exited).code, 0);
        rmSync(changing, { force: true });
      }
    });

    test(`${exe}: -t 2 makes the third connection wait for a thread`, async () => {
      build();
      const srv = await startKnot(join(sample, 'build', exe), ['-t', '2']);
      try {
        const a = await Conn.open(srv.port);
        const b = await Conn.open(srv.port);
        for (const c of [a, b]) {
          await c.write(get('/small.txt'));
          assert.equal((await c.response()).status, 200);
        }
        const c3 = await Conn.open(srv.port); // connected: it waits in the backlog
        await c3.write(get('/small.txt'));
        assert.ok(await c3.quietFor(200), 'a third connection was served while two threads were busy');
        a.destroy();
        const r = await c3.response();
        assert.deepEqual(r.body, files.small);
        b.destroy();
        c3.destroy();
      } finally {
        srv.proc.kill('SIGTERM');
        assert.equal((await srv.exited).code, 0);
      }
    });
  }
});
