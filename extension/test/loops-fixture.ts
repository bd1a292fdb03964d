// extension/test/loops.c, the C source of the loop and yield tests, and its lines by marker.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOOPS_C = join(__dirname, 'loops.c');
export const LOOPS_TEXT = readFileSync(LOOPS_C, 'utf8');

/** The 1-based line holding the comment `/* marker *\/` (whole, so "for braced" does not find "for braced body"). */
export const lineOf = (marker: string): number => {
  const i = LOOPS_TEXT.split('\n').findIndex((l) => l.includes(`/* ${marker} */`));
  assert.ok(i >= 0, `no /* ${marker} */ in loops.c`);
  return i + 1;
};
