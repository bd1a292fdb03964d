// The loops of C sources (extension/src/source/loops.ts) as the tree-sitter C grammar sees them:
// headers and ends, nesting, and text that only looks like a loop (comments, strings, macros).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCParser } from '../src/source/cparser.ts';
import { cLoops, fileLoops, innermostLoop } from '../src/source/loops.ts';

import { LOOPS_TEXT as text, lineOf } from './loops-fixture.ts';

before(() => loadCParser());

test('every loop, with its kind, header line, column of its keyword and last line; nothing else', () => {
  const loops = cLoops(text);
  const at = (marker: string) => loops.find((l) => l.line === lineOf(marker));
  assert.deepEqual(
    ['for braced', 'for unbraced', 'while braced', 'while unbraced', 'do braced', 'do unbraced'].map((m) => {
      const l = at(m);
      return l && { kind: l.kind, column: l.column, endLine: l.endLine, depth: l.depth };
    }),
    [
      { kind: 'for', column: 2, endLine: lineOf('for braced') + 2, depth: 0 },
      { kind: 'for', column: 2, endLine: lineOf('for unbraced body'), depth: 0 },
      { kind: 'while', column: 2, endLine: lineOf('while braced') + 2, depth: 0 },
      { kind: 'while', column: 2, endLine: lineOf('while unbraced body'), depth: 0 },
      { kind: 'do-while', column: 2, endLine: lineOf('do braced tail'), depth: 0 },
      { kind: 'do-while', column: 2, endLine: lineOf('do unbraced tail'), depth: 0 },
    ],
  );
  assert.deepEqual(at('inner header, second line'), undefined); // the for starts a line above
  const inner = innermostLoop(loops, lineOf('inner body'))!;
  assert.deepEqual([inner.kind, inner.line, inner.endLine, inner.depth], ['for', lineOf('inner header, second line') - 1, lineOf('inner body'), 1]);
  // No loop in the #define, the string or the comment, nor in the macro's use.
  for (const l of loops) assert.ok(l.line > lineOf('for braced') - 1, `a loop on line ${l.line}`);
  for (const m of ['string', 'macro loop']) assert.ok(!loops.some((l) => l.line === lineOf(m)), `a loop on the ${m} line`);
  assert.ok(!loops.some((l) => l.line === lineOf('macro loop') - 1), 'a loop in the comment');
  assert.equal(loops.length, 19);
});

test('innermostLoop: a line belongs to the innermost loop from its header to its end', () => {
  const loops = cLoops(text);
  const loopOf = (marker: string) => {
    const l = innermostLoop(loops, lineOf(marker));
    return l && `${l.kind}@${l.line}`;
  };
  const header = (marker: string, kind: string) => `${kind}@${lineOf(marker)}`;
  assert.equal(loopOf('for unbraced'), header('for unbraced', 'for'));
  assert.equal(loopOf('for unbraced body'), header('for unbraced', 'for'));
  assert.equal(loopOf('do braced tail'), header('do braced', 'do-while'));
  assert.equal(loopOf('do unbraced tail'), header('do unbraced', 'do-while'));
  // Nested: the outer loop's own statement, the inner loop's header lines and body.
  assert.equal(loopOf('outer body'), header('outer', 'while'));
  const inner = `for@${lineOf('inner header, second line') - 1}`;
  for (const m of ['inner header, second line', 'inner header, last line', 'inner body']) assert.equal(loopOf(m), inner, m);
  assert.equal(innermostLoop(loops, lineOf('inner header, second line') - 1) && inner, inner);
  // A loop that is the only statement of an unbraced loop: its lines are its own.
  assert.equal(loopOf('unbraced outer'), header('unbraced outer', 'while'));
  assert.equal(loopOf('only statement'), header('only statement', 'for'));
  assert.equal(loopOf('body of the only statement'), header('only statement', 'for'));
  assert.equal(loopOf('else loop'), header('else loop', 'while'));
  // Outside every loop.
  for (const m of ['string', 'macro loop', 'callee body']) assert.equal(loopOf(m), undefined, m);
  // Two loops on one line: the inner one, the deeper.
  const two = innermostLoop(loops, lineOf('two loops on one line'))!;
  assert.deepEqual([two.column, two.depth], [11, 1]);
});

test('fileLoops: parsed once per version of the file; a file that cannot be read says why', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-loops-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'a.c');
  writeFileSync(f, 'void f(void) { for (;;) {} }\n');
  const a = fileLoops(f);
  assert.ok('loops' in a && a.loops.length === 1);
  assert.equal(fileLoops(f), a, 'not cached');
  writeFileSync(f, 'void f(void) { while (1) {} do {} while (0); }\n');
  utimesSync(f, new Date(), new Date(Date.now() + 5000)); // a new mtime even on a coarse clock
  const b = fileLoops(f);
  assert.ok('loops' in b);
  assert.deepEqual(b.loops.map((l) => l.kind), ['while', 'do-while']);
  const gone = fileLoops(join(dir, 'missing.c'));
  assert.ok('unread' in gone && /ENOENT/.test(gone.unread), JSON.stringify(gone));
});

test('parsing before the parser is loaded is a clear error', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', "require('./extension/src/source/loops.ts').cLoops('int x;')"], { cwd: join(__dirname, '..', '..'), encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /the C parser is not loaded: await loadCParser\(\) first/);
});
