// Parsing .ci files: what GCC 12 writes for -fcallgraph-info=su, and clear errors for what it doesn't.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CiParseError, INDIRECT_CALL, parseCi } from '../src/analysis/stack/ci.ts';
import { FIXTURE_C, compile, stackUsage, tempDir } from './analyze-fixtures.ts';

test('real GCC output: every frame size and kind is what -fstack-usage says', (t) => {
  const dir = tempDir(t);
  const ci = compile(dir, 'fixture', FIXTURE_C, ['-O0', '-fstack-usage']);
  const g = parseCi(readFileSync(ci, 'utf8'), ci);
  const su = stackUsage(join(dir, 'fixture.su'));
  assert.equal(g.unit, join(dir, 'fixture.c'));
  const defined = [...g.functions.values()].filter((f) => f.kind !== 'external');
  assert.deepEqual(defined.map((f) => f.name).sort(), [...su.keys()].sort());
  for (const f of defined) {
    const want = su.get(f.name)!;
    assert.equal(f.bytes, want.bytes, `${f.name} bytes`);
    assert.equal(f.kind, want.kind, `${f.name} kind`);
    assert.equal(f.file, join(dir, 'fixture.c'));
  }
  // The frames follow the locals: 2000 bytes of them make a bigger frame than 1000 or 500.
  const bytes = (name: string): number => defined.find((f) => f.name === name)!.bytes!;
  assert.ok(bytes('middle') >= 2000 && bytes('leaf') >= 500 && bytes('top') >= 500, `${bytes('middle')} ${bytes('leaf')} ${bytes('top')}`);
  assert.ok(bytes('middle') > bytes('leaf') && bytes('leaf') > bytes('top'));
  assert.equal(defined.find((f) => f.name === 'vla')!.kind, 'dynamic');
  assert.deepEqual(
    defined.map((f) => [f.name, f.line]).sort(),
    [['apply', 10], ['helper', 11], ['leaf', 4], ['middle', 5], ['ping', 9], ['pong', 8], ['sleeper', 12], ['top', 6], ['vla', 13]],
  );
});

test('real GCC output: calls, the static function, the libc function and the indirect call', (t) => {
  const dir = tempDir(t);
  const ci = compile(dir, 'fixture', FIXTURE_C);
  const g = parseCi(readFileSync(ci, 'utf8'), ci);
  const src = join(dir, 'fixture.c');
  const helper = g.functions.get(`${src}:helper`);
  assert.ok(helper, `static helper titled UNIT:helper, got ${[...g.functions.keys()].join(' ')}`);
  assert.equal(helper.local, true);
  assert.equal(g.functions.get('leaf')!.local, false);
  const usleep = g.functions.get('usleep')!;
  assert.equal(usleep.kind, 'external');
  assert.equal(usleep.bytes, null);
  assert.match(usleep.file, /unistd\.h$/);
  assert.equal(g.functions.get(INDIRECT_CALL)!.kind, 'external');
  const calls = g.calls.map((c) => `${c.from} -> ${c.to} @${c.file === src ? '' : c.file}${c.line}`).sort();
  assert.deepEqual(calls, [
    `${src}:helper`.replace(/^/, 'sleeper -> ') + ' @12',
    'apply -> __indirect_call @10',
    'middle -> leaf @5',
    'ping -> pong @9',
    'pong -> ping @8',
    'sleeper -> srand @12',
    'sleeper -> usleep @12',
    'top -> middle @6',
    'vla -> __morestack_allocate_stack_space @0',
  ].sort());
});

test('a path with a quote and a backslash (GCC does not escape them)', (t) => {
  const dir = join(tempDir(t), 'we"ird\\dir');
  mkdirSync(dir);
  const ci = compile(dir, 'odd', 'static int s(int x) { return x + 1; }\nint g(int x) { return s(x); }\n');
  const text = readFileSync(ci, 'utf8');
  assert.ok(text.includes('we"ird\\dir'), 'the .ci keeps the raw path');
  const g = parseCi(text, ci);
  assert.equal(g.unit, join(dir, 'odd.c'));
  // GCC drops the quote from the title of a static function, not from its label.
  const title = `${join(dir, 'odd.c').replaceAll('"', '')}:s`;
  const s = g.functions.get(title)!;
  assert.ok(s, `${title} in ${[...g.functions.keys()].join(' ')}`);
  assert.equal(s.local, true);
  assert.equal(s.name, 's');
  assert.equal(s.file, join(dir, 'odd.c'));
  assert.equal(s.line, 1);
  assert.deepEqual(g.calls.map((c) => [c.from, c.to, c.file, c.line]), [['g', title, join(dir, 'odd.c'), 2]]);
});

test('-fcallgraph-info=su,da: extra label lines; dynamic,bounded sizes; verbatim assembler names', () => {
  const text = [
    'graph: { title: "u.c"',
    'node: { title: "vla" label: "vla\\nu.c:8:5\\n64 bytes (dynamic)\\n1 dynamic objects\\n b u.c:8:32" }',
    'node: { title: "b" label: "b\\nu.c:9:5\\n80 bytes (dynamic,bounded)" }',
    'node: { title: "*__sysv_signal" label: "signal\\n/usr/include/signal.h:88:23" shape : ellipse }',
    'edge: { sourcename: "vla" targetname: "*__sysv_signal" label: "u.c:8:40" }',
    'edge: { sourcename: "b" targetname: "later" label: "u.c:9:9" }',
    '}',
    '',
  ].join('\n');
  const g = parseCi(text, 'u.ci');
  assert.deepEqual(g.functions.get('vla'), { id: 'vla', name: 'vla', file: 'u.c', line: 8, bytes: 64, kind: 'dynamic', local: false });
  assert.equal(g.functions.get('b')!.kind, 'bounded');
  assert.equal(g.functions.get('b')!.bytes, 80);
  assert.equal(g.functions.get('*__sysv_signal')!.name, '__sysv_signal');
  // An edge to a node never declared: an external function without a place.
  assert.deepEqual(g.functions.get('later'), { id: 'later', name: 'later', file: '', line: 0, bytes: null, kind: 'external', local: false });
});

test('malformed files: an error naming the file and the line', () => {
  const good = 'graph: { title: "u.c"\nnode: { title: "f" label: "f\\nu.c:1:5\\n16 bytes (static)" }\n}\n';
  assert.doesNotThrow(() => parseCi(good, 'good.ci'));
  const cases: [string, string, number, RegExp][] = [
    ['truncated', good.slice(0, good.indexOf('}\n}')), 2, /never closed/],
    ['no closing brace', good.replace(/\}\n$/, ''), 1, /graph opened here is never closed/],
    ['not a graph', 'digraph G { a -> b }\n', 1, /expected 'graph:'/],
    ['empty', '\n\n', 1, /empty file/],
    ['unterminated string', 'graph: { title: "u.c\n', 1, /unterminated string/],
    ['missing colon', 'graph: { title: "u.c"\nnode { title: "f" }\n}\n', 2, /expected ':' after 'node'/],
    ['no size (plain -fcallgraph-info)', 'graph: { title: "u.c"\n\nnode: { title: "f" label: "f\\nu.c:1:5" }\n}\n', 3, /no stack size.*-fcallgraph-info=su/],
    ['unknown size kind', 'graph: { title: "u.c"\nnode: { title: "f" label: "f\\nu.c:1:5\\n16 bytes (weird)" }\n}\n', 2, /unknown stack size kind/],
    ['edge without target', 'graph: { title: "u.c"\nedge: { sourcename: "f" }\n}\n', 2, /edge without targetname/],
  ];
  for (const [what, text, line, re] of cases) {
    assert.throws(
      () => parseCi(text, 'bad.ci'),
      (err: unknown) => {
        assert.ok(err instanceof CiParseError, `${what}: ${String(err)}`);
        assert.equal(err.file, 'bad.ci', what);
        assert.equal(err.line, line, `${what}: ${err.message}`);
        assert.match(err.message, re, what);
        assert.ok(err.message.startsWith(`bad.ci:${line}: `), err.message);
        return true;
      },
      what,
    );
  }
});
