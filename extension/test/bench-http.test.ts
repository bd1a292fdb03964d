// bench:http's own pieces, without running the benchmark: its options (a mistake is a usage error
// naming it, before anything is built or started) and the wrk script whose JSON line it reads
// (a real wrk against a real server here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { WRK_SCRIPT, wrkFigures, type WrkFigures } from '../../scripts/wrk.ts';
import { WRK, have, root } from './prerequisites.ts';

test('bench:http refuses an unknown option, a missing value or a bad one, with its usage', () => {
  // [arguments, message, the CAPRICCIO_WORKERS the bench runs with ('' is unset)]
  const bad: [string[], string, string?][] = [
    [['--frob'], 'unknown option --frob'],
    [['--duration'], 'option --duration needs a value'],
    [['--runs', '1', '--onyl', 'knot'], 'unknown option --onyl'],
    [['--runs', 'two'], "--runs needs a positive whole number, not 'two'"],
    [['--only', 'knot,apache'], "unknown part 'apache' in --only (known: knot, nginx, pthread, telemetry, overload, pool, pipeline, go)"],
    [['--only', 'pool'], "CAPRICCIO_WORKERS must be a positive whole number, not '0'", '0'],
    [['--only', 'go'], "CAPRICCIO_WORKERS must be a positive whole number, not 'two'", 'two'],
  ];
  for (const [args, message, workers = ''] of bad) {
    const env = { ...process.env, CAPRICCIO_WORKERS: workers };
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/bench-http.mjs'), ...args], { cwd: root, encoding: 'utf8', env });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(
      r.stderr,
      `bench-http: ${message}\nusage: npm run --silent bench:http [-- --duration SECONDS] [--runs N] [--only knot,nginx,pthread,telemetry,overload,pool,pipeline,go]\n`,
    );
  }
});

/** A real wrk with bench:http's script against `url` for a second: its figures. */
function runWrk(url: string): Promise<WrkFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', '-c4', '-d1s', '--timeout', '4s', '-s', WRK_SCRIPT, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(wrkFigures(out)) : reject(new Error(`wrk exited ${code}: ${out}`))));
  });
}

test("wrk's script reports requests, non-2xx answers and latency as JSON that bench:http reads", async (t) => {
  if (!have(t, WRK)) return;
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/ok' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end('x');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const { port } = server.address() as AddressInfo;

  const ok = await runWrk(`http://127.0.0.1:${port}/ok`);
  assert.ok(ok.requests > 0, JSON.stringify(ok));
  assert.equal(ok.ok, ok.requests);
  assert.equal(ok.non2xx, 0);
  assert.ok(ok.rps > 0 && ok.p99_ms > 0, JSON.stringify(ok));
  assert.deepEqual(ok.socket_errors, { connect: 0, read: 0, write: 0, timeout: 0 });
  assert.equal(ok.errors, 0);

  const missing = await runWrk(`http://127.0.0.1:${port}/missing`);
  assert.ok(missing.requests > 0, JSON.stringify(missing));
  assert.equal(missing.non2xx, missing.requests);
  assert.equal(missing.ok, 0);
});

test('output without the script line is an error, not zeros', () => {
  assert.throws(() => wrkFigures('Running 1s test @ http://127.0.0.1/\n  2 threads and 10 connections\nRequests/sec: 100.00\n'), /printed no figures/);
});
