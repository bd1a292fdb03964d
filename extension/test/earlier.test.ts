// The recordings "Compare with Previous Recording" offers (extension/src/recording/earlier.ts):
// those beside the current one, with its extension, last written before it, newest first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { earlierRecordings } from '../src/recording/earlier.ts';

test('earlier recordings: beside the current one, same extension, written before it, newest first', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-earlier-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const at = (name: string, s: number): string => {
    const p = join(dir, name);
    writeFileSync(p, 'x');
    utimesSync(p, s, s);
    return p;
  };
  const oldest = at('hog-2026-01-01.cap', 1000);
  const older = at('deep-2026-01-02.cap', 2000);
  const current = at('hog-2026-01-03.cap', 3000);
  at('hog-2026-01-04.cap', 4000); // made after it
  at('notes.txt', 2500);
  mkdirSync(join(dir, 'dir.cap'));
  utimesSync(join(dir, 'dir.cap'), 1500, 1500); // not a file
  assert.deepEqual((await earlierRecordings(current)).map((e) => e.path), [older, oldest]);
  assert.deepEqual(await earlierRecordings(oldest), []);
  await assert.rejects(earlierRecordings(join(dir, 'gone.cap')), /ENOENT/);
});
