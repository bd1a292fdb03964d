// Profiles of library code: GNU libmicrohttpd as Debian ships it (stripped to its dynamic symbols,
// built without frame pointers, a thread of its own per connection and one polling the listening
// socket) under compat/microhttpd/main.c, built with capcc and run under `capriccio run`.
// The blocking points must be what the library really does, named truthfully:
//  - its threads' polls are separate points with separate labels, each a library address whose
//    call instruction calls poll (objdump says so), never a runtime frame and never an exported
//    symbol that does not contain the address (the nearest-symbol guess of addr2line);
//  - the program's own calls into it (read, MHD_stop_daemon's join) are at their own lines: the
//    walk gets back through the library's frames, and a return address is looked up at − 1;
//  - the spawn site inside the library, and the suggestion about it, name it truthfully.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { loadRecording } from '../src/recording/load.ts';
import { summarize } from '../src/analysis/summary.ts';
import { have, root, RUNTIME } from './prerequisites.ts';

const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');
const src = join(root, 'compat', 'microhttpd', 'main.c');
const exe = join(root, 'compat', 'build', 'capcc', 'mhd-server');

const lineOf = (marker: string): number => readFileSync(src, 'utf8').split('\n').findIndex((l) => l.includes(marker)) + 1;

function get(port: number, path: string, agent: http.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

/** Runs the server under `capriccio run --record`, asks it for pages, closes its stdin; resolves when capriccio exits. */
async function profileServer(rec: string): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs, 'run', '--record', rec, '--interval', '50', '--', exe, 'per-connection'], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  /** The first match of `re` in what the server wrote. */
  const said = (re: RegExp, what: string) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const look = () => {
        const m = re.exec(stdout);
        if (m) {
          child.stdout.off('data', look);
          resolve(m);
        }
      };
      child.stdout.on('data', look);
      look();
      void closed.then(() => reject(new Error(`the server ended before ${what}: ${stderr}`)));
    });
  const port = Number((await said(/^port (\d+)$/m, 'it listened'))[1]);
  // A keep-alive connection whose thread waits for its next request, and connections of their own.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  assert.equal(await get(port, '/page/3', agent), 200);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await get(port, '/page/5', agent), 200);
  for (let i = 0; i < 3; i++) assert.equal(await get(port, `/page/${i}`, false), 200);
  agent.destroy();
  // A connection whose request comes 300 ms after it opened: its thread surely waits for it in the
  // library's poll (a request that is there when the thread first polls makes no wait, and a busy
  // machine can make that so for every connection above).
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => setTimeout(() => s.write('GET /page/7 HTTP/1.1\r\nHost: mhd\r\nConnection: close\r\n\r\n'), 300));
    let reply = '';
    s.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    s.on('close', () => (/^HTTP\/1\.1 200 /.test(reply) ? resolve() : reject(new Error(`late request answered: ${JSON.stringify(reply.slice(0, 80))}`))));
    s.on('error', reject);
  });
  // A request still in its handler when the daemon stops: the stop joins its thread, so main's join
  // surely waits (a stop whose threads have all ended already makes none, and a busy machine can
  // make it so).
  const slow = net.connect(port, '127.0.0.1', () => slow.write('GET /slow/500 HTTP/1.1\r\nHost: mhd\r\nConnection: close\r\n\r\n'));
  slow.on('error', () => {}); // the stop may cut it
  await said(/^slow$/m, 'the slow request reached its handler');
  child.stdin.end();
  const status = await closed;
  slow.destroy();
  return { status, stderr };
}

/** A library's exported functions, [start, end) by name (nm -D -S). */
function exported(lib: string): Map<string, [bigint, bigint]> {
  const out = new Map<string, [bigint, bigint]>();
  for (const m of spawnSync('nm', ['-D', '-S', '--defined-only', lib], { encoding: 'utf8' }).stdout.matchAll(/^([0-9a-f]+) ([0-9a-f]+) [TtWi] (\S+)$/gm)) {
    const start = BigInt(`0x${m[1]}`);
    out.set(m[3]!, [start, start + BigInt(`0x${m[2]}`)]);
  }
  return out;
}

/** What the call instruction ending at `ret` calls, by objdump's reading of the library. */
function callEndingAt(lib: string, ret: bigint): string {
  const d = spawnSync('objdump', ['-d', `--start-address=0x${(ret - 5n).toString(16)}`, `--stop-address=0x${ret.toString(16)}`, lib], { encoding: 'utf8' }).stdout;
  return /call\s+[0-9a-f]+ <([^>]+)>/.exec(d)?.[1] ?? `no call in: ${d}`;
}

test('libmicrohttpd (stripped, no frame pointers, threads of its own): its blocking points, labels and spawn site are truthful', async (t) => {
  if (!have(t, RUNTIME)) return;
  const mk = spawnSync('make', ['-s', '-C', join(root, 'compat'), 'build/capcc/mhd-server'], { encoding: 'utf8' });
  assert.equal(mk.status, 0, `${mk.stderr} (libmicrohttpd-dev missing? scripts/setup-deps.sh installs it)`);
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-libprof-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rec = join(dir, 'mhd.caprec');
  const run = await profileServer(rec);
  assert.equal(run.status, 0, run.stderr);

  const { model, table } = await loadRecording(rec);
  const s = summarize(model, table);
  const mod = model.hello!.modules.find((m) => basename(m.path).startsWith('libmicrohttpd.so'));
  assert.ok(mod, `libmicrohttpd is not among the modules: ${JSON.stringify(model.hello?.modules)}`);
  const lib = mod.path;
  const libName = basename(lib);
  const exports = exported(lib);
  assert.ok(exports.has('MHD_start_daemon'), `no dynamic symbols read from ${lib}`);
  const fileAddr = (addr: string): bigint => BigInt(addr) - BigInt(mod.bias);
  const inLib = (addr: string): boolean => BigInt(mod.start) <= BigInt(addr) && BigInt(addr) < BigInt(mod.end);

  // No frame in the library carries a name its address is not in.
  for (const n of s.nodes)
    for (const f of n.chain.filter((c) => inLib(c.addr))) {
      const range = exports.get(f.function);
      if (range) assert.ok(range[0] <= fileAddr(f.addr) && fileAddr(f.addr) < range[1], `${f.function} named an address outside it: ${f.addr} in node ${n.label}`);
      else assert.equal(f.function.split(' ')[0], `${libName}+0x${fileAddr(f.addr).toString(16)}`, `a library frame named neither by a symbol containing it nor by its offset: ${JSON.stringify(f)}`);
    }

  // The library's own threads poll at two places at least (the listening socket, each connection):
  // points named for a library frame (no frame of the program's own code in those threads), with
  // labels that differ, each a call to poll.
  const polls = s.nodes.filter((n) => n.kind === 'poll' && n.function.startsWith(`${libName}+0x`));
  assert.ok(polls.length >= 2, `library polls: ${JSON.stringify(s.nodes.map((n) => [n.kind, n.label]))}`);
  assert.equal(new Set(polls.map((n) => n.label)).size, polls.length, `labels shared: ${polls.map((n) => n.label).join(' | ')}`);
  for (const n of polls) {
    const f = n.chain.find((c) => c.function === n.function)!;
    assert.ok(!n.chain.some((c) => c.own), `a library thread with a frame of the program's: ${JSON.stringify(n.chain)}`);
    const offset = fileAddr(f.addr);
    assert.equal(n.function, `${libName}+0x${offset.toString(16)} (calls poll@plt)`);
    assert.equal(callEndingAt(lib, offset + 1n), 'poll@plt');
    assert.ok(![...exports.values()].some(([lo, hi]) => lo <= offset && offset < hi), `${n.function} is inside an exported function, yet not named for it`);
  }
  // Every label is unique.
  assert.equal(new Set(s.nodes.map((n) => n.label)).size, s.nodes.length, s.nodes.map((n) => n.label).join(' | '));

  // The program's own calls, through the library's frames, at their lines.
  const join_ = s.nodes.find((n) => n.kind === 'join');
  assert.ok(join_, `no join: ${s.nodes.map((n) => `${n.kind} ${n.label}`).join(' | ')}`);
  assert.deepEqual([join_.function, join_.file, join_.line], ['main', src, lineOf('MHD_stop_daemon(d);')]);
  assert.ok(join_.chain.some((c) => inLib(c.addr)), 'the join is not called from inside the library');
  assert.ok(join_.waitMaxNs >= 200e6, `the stop's join did not wait for the 500 ms handler: ${join_.waitMaxNs} ns`);
  const read = s.nodes.find((n) => n.kind === 'io' && n.function === 'main');
  assert.ok(read, 'no read in main');
  assert.equal(read.line, lineOf('while (read(0'));

  // The library spawned the connection threads: its site, and any suggestion about it, are named truthfully.
  const site = s.stacks.sites.find((p) => p.site !== '0x0' && inLib(p.site));
  assert.ok(site, `no spawn site in the library: ${JSON.stringify(s.stacks.sites)}`);
  const siteOffset = fileAddr(site.site) - 1n;
  assert.equal(site.function, `${libName}+0x${siteOffset.toString(16)} (calls pthread_create@plt)`);
  assert.equal(callEndingAt(lib, siteOffset + 1n), 'pthread_create@plt');
  // Their first chunk is the library's pthread_create's to set (and they run on fixed stacks): no
  // chunk-size suggestion for it, nor any suggestion naming an exported function as its place.
  assert.deepEqual(s.suggestions.filter((g) => g.kind === 'chunk-size' && g.message.includes(libName)), []);
  for (const g of s.suggestions)
    for (const name of exports.keys()) assert.ok(!new RegExp(`\\b${name}\\b(?!@plt)`).test(g.message), `a suggestion names ${name}: ${g.message}`);
});
