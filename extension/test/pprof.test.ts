// `capriccio export --format pprof`: a real program's recording (samples/prodcons, a bounded buffer
// between producer and consumer threads) read back by the real `go tool pprof` (Debian's
// golang-go): its sample types, one waits sample per blocking point with the summary's count and
// total wait on the point's whole call chain, the runs of the edges, and the stacks' high-water.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { have, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');

function run(file: string, args: readonly string[]): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CAPRICCIO_WORKERS: '1' } });
  if (r.error) throw r.error;
  return r;
}

const GO = spawnSync('go', ['version'], { encoding: 'utf8' }).status === 0;

interface Summary {
  nodes: { label: string; function: string; count: number; waitTotalNs: number; chain: { function: string }[] }[];
  edges: { count: number; totalNs: number }[];
  stacks: { sites: { function: string; usedBytesMax: number }[] };
  locks: { label: string; holders: { function: string; count: number; waitNs: number }[] }[];
}

/** `go tool pprof -raw`'s samples: values by sample type, the labels line after each. */
function rawSamples(raw: string): { types: string[]; samples: { values: number[]; labels: string }[] } {
  const lines = raw.split('\n');
  const at = lines.findIndex((l) => l.startsWith('Samples:'));
  const types = lines[at + 1]!.trim().split(/\s+/).map((t) => t.replace('[dflt]', ''));
  const samples: { values: number[]; labels: string }[] = [];
  for (let i = at + 2; i < lines.length && !lines[i]!.startsWith('Locations'); i++) {
    const m = /^\s+([\d\s]+):/.exec(lines[i]!);
    if (m) samples.push({ values: m[1]!.trim().split(/\s+/).map(Number), labels: lines[i + 1]?.trim() ?? '' });
  }
  return { types, samples };
}

test('export --format pprof: go tool pprof reads the blocking, run and stack profiles of a real program as the summary has them', (t) => {
  if (!have(t, RUNTIME)) return;
  if (!GO) {
    t.skip('go is not installed (scripts/setup-deps.sh installs golang-go)');
    return;
  }
  assert.equal(run('make', ['-s', '-C', join(root, 'samples', 'prodcons')]).status, 0);
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-pprof-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rec = join(dir, 'prodcons.cap');
  const r = run(process.execPath, ['--import', 'tsx', mainTs, 'run', '--record', rec, '--interval', '50', '--', join(root, 'samples', 'prodcons', 'build', 'prodcons')]);
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(run(process.execPath, ['--import', 'tsx', mainTs, 'summary', rec, '--json']).stdout) as Summary;
  const out = join(dir, 'prodcons.pb.gz');
  const e = run(process.execPath, ['--import', 'tsx', mainTs, 'export', '--format', 'pprof', rec, '-o', out]);
  assert.equal(e.status, 0, e.stderr);
  assert.ok(gunzipSync(readFileSync(out)).length > 0, 'not gzipped');

  const raw = run('go', ['tool', 'pprof', '-raw', out]);
  assert.equal(raw.status, 0, raw.stderr);
  const { types, samples } = rawSamples(raw.stdout);
  assert.deepEqual(types, ['waits/count', 'wait/nanoseconds', 'runs/count', 'run/nanoseconds', 'stack_high_water/bytes', 'contentions/count', 'delay/nanoseconds']);
  // One waits sample per blocking point, with its count and total wait.
  for (const n of s.nodes) {
    const mine = samples.filter((x) => x.labels.includes(`blocking_point:[${n.label}]`));
    assert.equal(mine.length, 1, `${n.label}: ${JSON.stringify(mine)}`);
    assert.deepEqual(mine[0]!.values.slice(0, 2), [n.count, n.waitTotalNs], n.label);
  }
  // The runs: their counts and times add up to the summary's edges.
  const runs = samples.filter((x) => x.labels.includes('from:['));
  assert.equal(runs.reduce((a, x) => a + x.values[2]!, 0), s.edges.reduce((a, x) => a + x.count, 0));
  assert.equal(runs.reduce((a, x) => a + x.values[3]!, 0), s.edges.reduce((a, x) => a + x.totalNs, 0));

  // -top by wait count names the functions that waited, and -traces gives each point's whole chain.
  const busiest = [...s.nodes].sort((a, b) => b.count - a.count)[0]!;
  const top = run('go', ['tool', 'pprof', '-top', '-sample_index=waits', out]);
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.stdout, new RegExp(`\\b${busiest.function}\\b`));
  const traces = run('go', ['tool', 'pprof', '-traces', out]);
  assert.equal(traces.status, 0, traces.stderr);
  const block = traces.stdout.split(/-+\+-+/).find((b) => b.includes(`blocking_point:  ${busiest.label}`));
  assert.ok(block, `no trace for ${busiest.label}`);
  const framesShown = block.trim().split('\n').filter((l) => !l.includes(':  ')).map((l) => l.trim().split(/\s+/).at(-1));
  assert.deepEqual(framesShown, busiest.chain.map((c) => c.function), `the chain of ${busiest.label}`);

  // Contention: per lock, a sample per holder site with the hand-overs and the waiters' time, as the summary's.
  for (const l of s.locks) {
    const mine = samples.filter((x) => x.labels.includes(`waiting_at:[${l.label}]`));
    assert.deepEqual(
      mine.map((x) => x.values.slice(5)),
      l.holders.map((h) => [h.count, h.waitNs]),
      l.label,
    );
  }

  // The stacks' high-water per spawn site.
  const high = run('go', ['tool', 'pprof', '-top', '-sample_index=stack_high_water', out]);
  assert.equal(high.status, 0, high.stderr);
  for (const p of s.stacks.sites.filter((x) => x.usedBytesMax > 0)) assert.match(high.stdout, new RegExp(`\\b${p.function}\\b`));
});
