// samples/pipeline, the CPU-bound compression pipeline, built with capcc (Capriccio threads) and
// with plain gcc -pthread: both must write the same compressed stream, and that stream must be
// right — checked here independently: the CRC-32s against zlib's, and the stream decoded by a
// decoder written from the format the sample documents, back to the input byte for byte.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { RUNTIME, root, skipUnless } from './prerequisites.ts';

const sample = join(root, 'samples', 'pipeline');
const BUILDS = ['pipeline', 'pipeline-pthread'] as const;
const MIN_MATCH = 4;

const dir = mkdtempSync(join(tmpdir(), 'capriccio-pipeline-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The input: text that compresses (numbered lines, so matches at many distances), random bytes
 * that do not, runs (matches of the longest length, overlapping themselves) and text again; its
 * size is no multiple of any block size used.
 */
function input(): Buffer {
  const lines = Array.from({ length: 30000 }, (_, i) => `${String(i).padStart(7, '0')} the quick brown fox jumps over the lazy dog\n`).join('');
  return Buffer.concat([Buffer.from(lines), randomBytes(300_000), Buffer.from('z'.repeat(5000) + 'abcdefghij'.repeat(3000)), Buffer.from(lines.slice(0, 123_457))]);
}

/** Decodes the stream (see pipeline.c): per block, raw and compressed lengths, then tokens. */
function decode(stream: Buffer): Buffer {
  const blocks: Buffer[] = [];
  for (let p = 0; p < stream.length; ) {
    const raw = stream.readUInt32LE(p);
    const zlen = stream.readUInt32LE(p + 4);
    const z = stream.subarray(p + 8, p + 8 + zlen);
    assert.equal(z.length, zlen, `block at ${p} is cut short`);
    const out = Buffer.alloc(raw);
    let o = 0;
    for (let i = 0; i < z.length; ) {
      const c = z[i++] ?? 0;
      if (c < 128) {
        z.copy(out, o, i, i + c + 1);
        o += c + 1;
        i += c + 1;
      } else {
        const len = c - 128 + MIN_MATCH;
        const dist = z.readUInt16LE(i);
        i += 2;
        assert.ok(dist >= 1 && dist <= o, `match distance ${dist} at output ${o} reaches out of its block`);
        for (let k = 0; k < len; k++, o++) out[o] = out[o - dist] ?? 0; // byte by byte: a match may overlap itself
      }
    }
    assert.equal(o, raw, `block at ${p} decodes to ${o} bytes, not ${raw}`);
    blocks.push(out);
    p += 8 + zlen;
  }
  return Buffer.concat(blocks);
}

interface Printed {
  blocks: number;
  bytesIn: number;
  bytesOut: number;
  crcIn: number;
  crcOut: number;
}

/** Runs a build; its one line, parsed. */
function pipeline(bin: string, args: readonly string[]): Printed {
  const r = spawnSync(join(sample, 'build', bin), args, { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${bin} ${args.join(' ')}: ${r.stderr}`);
  const m = /^pipeline: blocks (\d+) in (\d+) out (\d+) crc_in ([0-9a-f]{8}) crc_out ([0-9a-f]{8}) seconds [0-9.]+\n$/.exec(r.stdout);
  assert.ok(m, `${bin} printed ${JSON.stringify(r.stdout)}`);
  const [, blocks, bytesIn, bytesOut, crcIn, crcOut] = m.map((x) => x ?? '');
  return { blocks: Number(blocks), bytesIn: Number(bytesIn), bytesOut: Number(bytesOut), crcIn: parseInt(crcIn ?? '', 16), crcOut: parseInt(crcOut ?? '', 16) };
}

describe('samples/pipeline', { skip: skipUnless(RUNTIME) }, () => {
  test('builds with capcc and with gcc -pthread', () => {
    const r = spawnSync('make', ['-s', '-C', sample, 'all', 'pthread'], { encoding: 'utf8', timeout: 180_000 });
    assert.equal(r.status, 0, `make failed: ${r.stderr}${r.stdout}`);
  });

  test('both builds compress a file to the same stream, which decodes back to the file; the CRC-32s are zlib\'s', () => {
    const data = input();
    const file = join(dir, 'input');
    writeFileSync(file, data);
    const streams: Buffer[] = [];
    for (const bin of BUILDS) {
      for (const [threads, kib] of [['3', '64'], ['1', '7']] as const) {
        const out = join(dir, `${bin}-${threads}.lz`);
        const p = pipeline(bin, ['-i', file, '-o', out, '-t', threads, '-b', kib, '-q', '2']);
        const stream = readFileSync(out);
        assert.equal(p.blocks, Math.ceil(data.length / (Number(kib) * 1024)));
        assert.equal(p.bytesIn, data.length);
        assert.equal(p.bytesOut, stream.length);
        assert.equal(p.crcIn, crc32(data), `${bin}: crc_in`);
        assert.equal(p.crcOut, crc32(stream), `${bin}: crc_out`);
        assert.ok(stream.length < data.length, `${bin}: ${stream.length} bytes from ${data.length}: nothing compressed`);
        assert.ok(decode(stream).equals(data), `${bin} -t ${threads} -b ${kib}: the stream does not decode to the input`);
        if (kib === '64') streams.push(stream);
      }
    }
    const [capcc, pthread] = streams;
    assert.ok(capcc?.equals(pthread ?? Buffer.alloc(0)), 'the capcc and pthread builds wrote different streams');
  });

  test('generated input: the same checksums from both builds, whatever the thread count', () => {
    const runs = BUILDS.flatMap((bin) => ['1', '4'].map((t) => ({ bin, t, p: pipeline(bin, ['-n', '4', '-t', t]) })));
    const first = runs[0]?.p;
    for (const r of runs) assert.deepEqual(r.p, first, `${r.bin} -t ${r.t}`);
    assert.equal(first?.bytesIn, 4 << 20);
  });

  test('bad arguments and a missing input are clear errors', () => {
    for (const bin of BUILDS) {
      const exe = join(sample, 'build', bin);
      const bad = spawnSync(exe, ['-t', '0'], { encoding: 'utf8' });
      assert.equal(bad.status, 2);
      assert.equal(bad.stderr, "pipeline: '0' is not a number from 1 to 4096\n");
      const missing = spawnSync(exe, ['-i', join(dir, 'no-such-file')], { encoding: 'utf8' });
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /^pipeline: .*no-such-file: No such file or directory\n$/);
    }
  });
});
