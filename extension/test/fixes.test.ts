// The quick fixes as text edits: where a yield point goes (first in the body of each kind of loop
// of extension/test/loops.c, braced or not; gcc checks the result), the include it needs, first chunks at pthread_create and cap_spawn (also when
// the call is a loop's only statement), and merging into the annotations file.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadCParser } from '../src/source/cparser.ts';
import { annotate, AnnotationsFileError, applyEdits, calledFunctions, chunkFix, suggestedAnnotations, yieldFix, type SourceFix } from '../src/fixes/fixes.ts';
import { LOOPS_TEXT, lineOf } from './loops-fixture.ts';

function apply(text: string, fix: SourceFix | undefined): string {
  assert.ok(fix, 'no fix');
  return applyEdits(text, fix.edits);
}

/** `text` must be C that gcc accepts (loops.c before and after a fix). */
function compiles(text: string): void {
  const r = spawnSync('gcc', ['-fsyntax-only', '-x', 'c', '-'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `gcc rejects it:\n${r.stderr}`);
}

const fixAt = (line: number, column?: number): string => {
  const out = apply(LOOPS_TEXT, yieldFix(LOOPS_TEXT, line, column));
  compiles(out);
  return out;
};

before(() => loadCParser());

test('yield: sched_yield() first in the body of each kind of loop, braced or braced now; sched.h is included for pthread code', () => {
  compiles(LOOPS_TEXT);
  const cases: [string, RegExp][] = [
    ['for braced', /for \(int i = 0; i < n; i\+\+\) \{ \/\* for braced \*\/\n\t\tsched_yield\(\);\n\t\tx = x \* 3 \+ 1; /],
    ['for unbraced', /\/\* for unbraced \*\/\n\t\t\{ sched_yield\(\); x = x \* 5 \+ 1; \} \/\* for unbraced body \*\/\n/],
    ['while braced', /while \(x < 100\) \{ \/\* while braced \*\/\n\t\tsched_yield\(\);\n\t\tx \+= 2; /],
    ['while unbraced', /\/\* while unbraced \*\/\n\t\t\{ sched_yield\(\); x \+= 3; \} \/\* while unbraced body \*\/\n/],
    ['do braced', /do \{ \/\* do braced \*\/\n\t\tsched_yield\(\);\n\t\tx -= 1; /],
    ['do unbraced', /do \/\* do unbraced \*\/\n\t\t\{ sched_yield\(\); x -= 2; \} \/\* do unbraced body \*\/\n\twhile \(x > 10\);/],
  ];
  for (const [marker, expected] of cases) {
    const header = fixAt(lineOf(marker));
    assert.match(header, /#include <stdio.h>\n#include <sched.h>\n/);
    assert.match(header, expected, marker);
    assert.equal(header.split('sched_yield();').length, 2, `${marker}: one yield`);
    // From a line of its body, without the suggestion's column: the same loop.
    assert.equal(fixAt(lineOf(`${marker} body`)), header, `${marker} body`);
  }
});

test('yield: nested loops, a loop as the only statement of another, a loop after else', () => {
  const inner = lineOf('inner header, second line') - 1;
  assert.match(fixAt(inner, 3), /i\+\+\) \/\* inner header, last line \*\/\n\t\t\t\{ sched_yield\(\); x = x \* 7; \} \/\* inner body \*\//);
  assert.equal(fixAt(lineOf('inner header, last line')), fixAt(inner, 3));
  assert.match(fixAt(lineOf('outer'), 2), /while \(n-- > 0\) \{ \/\* outer \*\/\n\t\tsched_yield\(\);\n\t\tx\+\+; \/\* outer body \*\//);
  assert.match(
    fixAt(lineOf('only statement')),
    /for \(int j = 0; j < n; j\+\+\) \/\* only statement \*\/\n\t\t\t\{ sched_yield\(\); x \^= \(unsigned long\)j; \}/,
  );
  // The outer unbraced loop is braced around the whole inner loop.
  assert.match(
    fixAt(lineOf('unbraced outer')),
    /\/\* unbraced outer \*\/\n\t\t\{ sched_yield\(\); for \(int j = 0; j < n; j\+\+\) \/\* only statement \*\/\n\t\t\tx \^= \(unsigned long\)j; \} \/\* body of the only statement \*\//,
  );
  assert.match(fixAt(lineOf('else loop')), /else while \(x < 5\) \{ sched_yield\(\); x\+\+; \} \/\* else loop \*\//);
  // Two loops on one line: the column says which; without it, the inner one.
  const two = lineOf('two loops on one line');
  assert.match(fixAt(two, 2), /\tfor \(;;\) \{ sched_yield\(\); for \(;;\) \{ x\+\+; break; \} \}/);
  assert.match(fixAt(two, 11), /\tfor \(;;\) for \(;;\) \{ sched_yield\(\); x\+\+; break; \}/);
  assert.equal(fixAt(two), fixAt(two, 11));
});

test('yield: braces on their own line, on one line, empty, an empty statement, a comment after the brace', () => {
  assert.match(fixAt(lineOf('allman')), /\/\* allman \*\/\n\t\{\n\t\tsched_yield\(\);\n\t\tx \+= 4;/);
  assert.match(fixAt(lineOf('one line')), /while \(x < 400\) \{ sched_yield\(\); x \+= 5; \}/);
  assert.match(fixAt(lineOf('empty braces')), /while \(x < 500\) \{ sched_yield\(\); \}/);
  assert.match(fixAt(lineOf('empty statement')), /while \(x\+\+ < 600\) \{ sched_yield\(\); \} \/\* empty statement \*\//);
  assert.match(fixAt(lineOf('commented brace body') - 1), /\{ \/\/ a comment after the brace\n\t\tsched_yield\(\);\n\t\tx \+= 6;/);
  const opened = LOOPS_TEXT.replace('while (x < 400) { x += 5; }', 'while (x < 400) { /* a comment\n\t   that goes on */\n\t\tx += 5; }');
  // A block comment after `{` that goes on to the next line: the call goes before it.
  const out = apply(opened, yieldFix(opened, lineOf('one line')));
  compiles(out);
  assert.match(out, /while \(x < 400\) \{ sched_yield\(\); \/\* a comment\n/);
});

test('yield: characters outside ASCII before the loop on its line (edits count UTF-16 code units, as VS Code does)', () => {
  const src = '#include <sched.h>\nvoid f(int *x)\n{\n\t/* é😀 */ while (*x < 9) *x += 1; /* ü */\n}\n';
  const out = apply(src, yieldFix(src, 4));
  compiles(out);
  assert.match(out, /\t\/\* é😀 \*\/ while \(\*x < 9\) \{ sched_yield\(\); \*x \+= 1; \} \/\* ü \*\//);
});

test('yield: cap_yield() where capriccio.h is included, no second sched.h; no fix outside every loop', () => {
  const cap = LOOPS_TEXT.replace('#include <stdio.h>', '#include <capriccio.h>');
  const fix = yieldFix(cap, lineOf('for unbraced'));
  assert.equal(fix!.title, 'Insert cap_yield() in this loop (Capriccio)');
  const out = apply(cap, fix);
  assert.match(out, /\{ cap_yield\(\); x = x \* 5 \+ 1; \}/);
  assert.doesNotMatch(out, /sched\.h/);
  const withSched = LOOPS_TEXT.replace('#include <stdio.h>', '#include <stdio.h>\n#include <sched.h>');
  assert.equal(apply(withSched, yieldFix(withSched, lineOf('for unbraced'))).split('#include <sched.h>').length, 2);
  for (const m of ['string', 'macro loop', 'callee body']) assert.equal(yieldFix(LOOPS_TEXT, lineOf(m)), undefined, m);
  assert.equal(yieldFix(LOOPS_TEXT, 0), undefined);
  assert.equal(yieldFix(LOOPS_TEXT, 9999), undefined);
});

const SPAWN = `int main(void)
{
\tpthread_t t[4];
\tfor (int i = 0; i < 4; i++)
\t\tpthread_create(&t[i], NULL, worker, NULL);
\tpthread_create(&t[0], NULL, other, NULL);
\tcap_spawn(worker, NULL, NULL);
}
`;

test('chunk-size: pthread_create as a loop body gets its attribute before the loop', () => {
  const out = apply(SPAWN, chunkFix(SPAWN, 5, 4608));
  assert.match(out, /\tpthread_attr_t cap_attr_5;[^\n]*\n\tpthread_attr_init\(&cap_attr_5\);\n\tpthread_attr_setstacksize\(&cap_attr_5, 4608\);\n\tfor \(int i = 0; i < 4; i\+\+\)\n\t\tpthread_create\(&t\[i\], &cap_attr_5, worker, NULL\);/);
});

test('chunk-size: the thread function named by static analysis leads to its spawn; cap_spawn gets options', () => {
  const out = apply(SPAWN, chunkFix(SPAWN, 1, 3072, 'other'));
  assert.match(out, /pthread_attr_setstacksize\(&cap_attr_6, 3072\);\n\tpthread_create\(&t\[0\], &cap_attr_6, other, NULL\);/);
  const cs = apply(SPAWN, chunkFix(SPAWN, 7, 6144));
  assert.match(cs, /cap_spawn\(worker, NULL, &\(cap_spawn_opts_t\)\{ \.stack_size = 6144 \}\);/);
  assert.equal(chunkFix(SPAWN, 3, 4096), undefined);
  assert.equal(chunkFix(SPAWN, 1, 4096, 'nobody'), undefined);
});

test('annotations: created, merged, and never overwritten when invalid', () => {
  const a = annotate(undefined, 'slow_lookup', { blocking: true });
  assert.deepEqual(JSON.parse(a), { functions: { slow_lookup: { blocking: true } } });
  const b = annotate(a, 'slow_lookup', { stackBytes: 16384 });
  assert.deepEqual(JSON.parse(b), { functions: { slow_lookup: { blocking: true, stackBytes: 16384 } } });
  const c = annotate('{"$schema": "x", "functions": {"f": {"blocking": true}}}', 'g', { stackBytes: 8192 });
  assert.deepEqual(JSON.parse(c), { $schema: 'x', functions: { f: { blocking: true }, g: { stackBytes: 8192 } } });
  assert.throws(() => annotate('{oops', 'f', { blocking: true }), AnnotationsFileError);
  assert.throws(() => annotate('[]', 'f', { blocking: true }), /expected an object/);
  assert.throws(() => annotate('{"functions": 3}', 'f', { blocking: true }), /"functions" must be an object/);
  assert.throws(() => annotate(undefined, 'not a name', { blocking: true }), /not a C function name/);
});

test('suggestedAnnotations: what each annotate suggestion writes, when it says', () => {
  const blocking = { kind: 'annotate-blocking', function: 'semtimedop', message: '', evidence: { stalls: 1, maxMs: 100, totalMs: 100 } } as const;
  assert.deepEqual(suggestedAnnotations(blocking), [{ name: 'semtimedop', annotation: { blocking: true } }]);
  const stack = { kind: 'annotate-stack', function: 'ext_frame', message: '', evidence: { splits: 40, frameBytes: 1059864, stackBytes: 1114112 } } as const;
  assert.deepEqual(suggestedAnnotations(stack), [{ name: 'ext_frame', annotation: { stackBytes: 1114112 } }]);
  // Every callee of the function that split: the chunk goes only when none is left.
  assert.deepEqual(suggestedAnnotations({ ...stack, function: 'free', evidence: { ...stack.evidence, functions: 'free, memchr, snprintf' } }), [
    { name: 'free', annotation: { stackBytes: 1114112 } },
    { name: 'memchr', annotation: { stackBytes: 1114112 } },
    { name: 'snprintf', annotation: { stackBytes: 1114112 } },
  ]);
  // Without the program's code the runtime names the call site only: nothing to write as it reads.
  assert.deepEqual(suggestedAnnotations({ ...stack, function: 'parse', evidence: { splits: 40, frameBytes: 65536 } }), []);
  assert.deepEqual(suggestedAnnotations({ kind: 'yield', message: '', evidence: { samples: 1, runMaxMs: 1, quantumMs: 1, loop: 'for', lines: '1' } }), []);
});

test('calledFunctions: calls on a line, without keywords or strings', () => {
  assert.deepEqual(calledFunctions('\tif (fprintf(stderr, "x(%d)", f(y)) < 0) // g(z)'), ['fprintf', 'f']);
  assert.deepEqual(calledFunctions('\tsum += slow_lookup(i, ms);'), ['slow_lookup']);
});
