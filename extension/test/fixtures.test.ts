// The protocol contract: every fixture the C encoder writes (protocol/fixtures/*.bin, or a
// recording *.cap) decodes to exactly the frames of its *.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FrameDecoder, decodeRecording } from '../src/protocol/decode.ts';
import { RECORDING_MAGIC, type Frame } from '../../shared/protocol.ts';
import { replay } from '../src/recording/load.ts';

const dir = resolve(__dirname, '..', '..', 'protocol', 'fixtures');

/** Decodes a fixture: a recording when it starts with the magic, else a bare frame stream. */
function decodeFixture(path: string): { frames: Frame[]; problems: string[] } {
  const bytes = readFileSync(path);
  if (bytes.subarray(0, RECORDING_MAGIC.length).equals(RECORDING_MAGIC)) {
    const r = decodeRecording(path, bytes);
    return {
      frames: r.frames.map((f) => f.frame),
      problems: [...r.errors, ...(r.truncated ? [r.truncated] : [])].map((e) => `${e.offset}: ${e.reason}`),
    };
  }
  const d = new FrameDecoder();
  const frames: Frame[] = [];
  const problems: string[] = [];
  for (const e of d.push(bytes)) {
    if (e.kind === 'frame') frames.push(e.frame.frame);
    else problems.push(`${e.error.offset}: ${e.error.reason}`);
  }
  const tail = d.end();
  if (tail) problems.push(`${tail.offset}: ${tail.reason}`);
  return { frames, problems };
}

function fixtures(): { name: string; bin: string; json: string }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((json) => {
      const base = json.slice(0, -'.json'.length);
      const bin = readdirSync(dir).find((f) => f !== json && f.startsWith(`${base}.`));
      assert.ok(bin, `no binary fixture beside ${json}`);
      return { name: base, bin: join(dir, bin), json: join(dir, json) };
    });
}

test('every protocol fixture decodes to its .json', () => {
  const all = fixtures();
  assert.ok(all.length > 0, `no *.json fixtures in ${dir}`);
  for (const f of all) {
    const { frames, problems } = decodeFixture(f.bin);
    assert.deepEqual(problems, [], `${f.name}: decode problems`);
    // Through JSON, as the fixture is: e.g. startRealtimeNs is the nearest double either way.
    const expected: unknown = JSON.parse(readFileSync(f.json, 'utf8'));
    assert.deepEqual(JSON.parse(JSON.stringify(frames)), expected, `${f.name}: decoded frames differ from ${f.json}`);
  }
});

test('the recording fixture replays into a model that merges its snapshots', () => {
  const rec = join(dir, 'recording.cap');
  assert.ok(existsSync(rec), `${rec} is missing (make -C runtime fixtures writes it)`);
  const m = replay(decodeRecording(rec, readFileSync(rec)));
  assert.equal(m.hello?.pid, 4242);
  assert.equal(m.snapshots, 2);
  assert.equal(m.nodes.get(1)?.stat?.count, 1100); // replaced by snapshot 2
  assert.equal(m.nodes.get(2)?.stat?.count, 10); // kept from snapshot 1
  assert.equal(m.edges.get('1>2')?.count, 1099);
  assert.equal(m.exit?.how, 'exited');
  assert.equal(m.exit?.status, 3);
  assert.deepEqual(m.errors, []);
});

test('the version 3 recording fixture: each STACKS measurement is kept with the snapshot it follows; version 2 has none', () => {
  const load = (name: string) => {
    const file = join(dir, name);
    return replay(decodeRecording(file, readFileSync(file)));
  };
  const v3 = load('recording-v3.cap');
  assert.deepEqual(v3.stackMemory, { type: 'stacks', seq: 2, tNs: 300_000_000, mappings: 2, reservedBytes: 1_052_672, residentBytes: 94_208, wasteBytes: 20_480 });
  assert.deepEqual(
    v3.history.toArray().map((p) => [p.seq, p.stacks?.residentBytes]),
    [
      [1, 126_976],
      [2, 94_208],
    ],
  );
  const v2 = load('recording-v2.cap');
  assert.equal(v2.stackMemory, undefined);
  assert.ok(v2.history.toArray().every((p) => p.stacks === undefined));
  assert.equal(v2.spawnSites.get('0x55d0c0a01100')?.untouchedBytes, 56_000);
});
