// The quick fixes as text edits: where a yield point goes (braced loops, braceless loop bodies,
// loop headers), the include it needs, first chunks at pthread_create and cap_spawn (also when
// the call is a loop's only statement), and merging into the annotations file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { annotate, AnnotationsFileError, calledFunctions, chunkFix, yieldFix, type SourceFix } from '../src/fixes/fixes.ts';

function apply(text: string, fix: SourceFix | undefined): string {
  assert.ok(fix, 'no fix');
  const lines = text.split('\n');
  const offset = (l: number, c: number): number => lines.slice(0, l).reduce((n, s) => n + s.length + 1, 0) + c;
  // Later edits first, so earlier offsets stay right.
  const edits = [...fix.edits].sort((a, b) => offset(b.line, b.character) - offset(a.line, a.character));
  let out = text;
  for (const e of edits) out = out.slice(0, offset(e.line, e.character)) + e.newText + out.slice(offset(e.endLine, e.endCharacter));
  return out;
}

const HOG = `#include <pthread.h>
#include <stdio.h>

static void *hog(void *arg)
{
\twhile (now_ms() < end) {
\t\tfor (int i = 0; i < 100000; i++) /* the hot loop */
\t\t\tx = x * 3 + 1; // step
\t\ty += x;
\t}
}
`;

test('yield: a braceless loop body is braced, yield first; sched.h is included for pthread code', () => {
  const out = apply(HOG, yieldFix(HOG, 8));
  assert.match(out, /#include <stdio.h>\n#include <sched.h>\n/);
  assert.match(out, /for \(int i = 0; i < 100000; i\+\+\) \/\* the hot loop \*\/\n\t\t\t\{ sched_yield\(\); x = x \* 3 \+ 1; \} \/\/ step\n/);
});

test('yield: a statement in a braced body gets the yield before it; cap_yield with capriccio.h', () => {
  const src = HOG.replace('#include <stdio.h>', '#include <capriccio.h>');
  const fix = yieldFix(src, 9);
  assert.equal(fix!.title, 'Insert cap_yield() in this loop (Capriccio)');
  const out = apply(src, fix);
  assert.match(out, /\t\tcap_yield\(\);\n\t\ty \+= x;/);
  assert.doesNotMatch(out, /sched\.h/);
});

test('yield: on the loop header, the yield is the first statement of the body', () => {
  const out = apply(HOG, yieldFix(HOG, 6));
  assert.match(out, /while \(now_ms\(\) < end\) \{\n\t\tsched_yield\(\);\n\t\tfor/);
});

test('yield: no fix for an empty or missing line', () => {
  assert.equal(yieldFix(HOG, 0), undefined);
  assert.equal(yieldFix(HOG, 999), undefined);
  assert.equal(yieldFix(HOG, 3), undefined); // blank
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

test('calledFunctions: calls on a line, without keywords or strings', () => {
  assert.deepEqual(calledFunctions('\tif (fprintf(stderr, "x(%d)", f(y)) < 0) // g(z)'), ['fprintf', 'f']);
  assert.deepEqual(calledFunctions('\tsum += slow_lookup(i, ms);'), ['slow_lookup']);
});
