// capcc --annotations: a bad annotations file is refused with a message naming the file and the
// field; a good one links (the behaviour itself is tested in runtime/tests/test_annotate.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { have, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');
const capcc = join(root, 'bin', 'capcc');

test('capcc --annotations refuses a bad file, naming the file and the field', (t) => {
  if (!have(t, RUNTIME)) return;
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-annot-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'p.c');
  writeFileSync(src, 'int ext(int);\nint main(void) { return 0; }\n');
  const cases: [string, RegExp][] = [
    ['{ "functions": { "ext": { "stackBytes": -4 } } }', /functions\.ext\.stackBytes must be a whole number of bytes/],
    ['{ "functions": { "ext": { "blocking": "yes" } } }', /functions\.ext\.blocking must be true or false/],
    ['{ "functions": { "ext": { "blockng": true } } }', /functions\.ext: unknown field "blockng"/],
    ['{ "functions": { "ext": {} } }', /functions\.ext: says nothing/],
    ['{ "functions": { "ext": { "blocking": true, "stackBytes": 16777216 } } }', /functions\.ext: a blocking call runs on a helper thread's 8388608-byte stack/],
    ['{ "functions": { "not a name": { "blocking": true } } }', /"not a name" is not a C function name/],
    ['{ "function": {} }', /unknown field "function"/],
    ['{ "functions": ', /not valid JSON/],
  ];
  for (const [body, want] of cases) {
    const file = join(dir, 'a.json');
    writeFileSync(file, body);
    const r = spawnSync(capcc, ['--annotations', file, src, '-o', join(dir, 'p')], { encoding: 'utf8' });
    assert.equal(r.status, 2, `${body}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`^capcc: annotations ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
    assert.match(r.stderr, want, body);
  }
  const missing = spawnSync(capcc, ['--annotations', join(dir, 'none.json'), src, '-o', join(dir, 'p')], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /annotations file .*none\.json not found/);

  // A good file links, and the default capriccio.annotations.json in the current directory is read.
  writeFileSync(join(dir, 'capriccio.annotations.json'), '{ "functions": { "ext": { "blocking": true } } }');
  writeFileSync(join(dir, 'ext.c'), 'int ext(int x) { return x + 1; }\n');
  const ok = spawnSync(capcc, ['p.c', 'ext.c', '-o', 'p'], { cwd: dir, encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const nm = spawnSync('nm', [join(dir, 'p')], { encoding: 'utf8' });
  assert.match(nm.stdout, / T __wrap_ext$/m);
});

test('an annotated function of a shared library links in a PIE (the default) and without PIE, and runs', (t) => {
  if (!have(t, RUNTIME)) return;
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-annot-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // getaddrinfo and getpid are the C library's: a stub reaching them PC-relative did not link in a PIE.
  writeFileSync(join(dir, 'a.json'), '{ "functions": { "getaddrinfo": { "blocking": true }, "getpid": { "stackBytes": 65536 } } }');
  writeFileSync(
    join(dir, 'p.c'),
    '#include <netdb.h>\n#include <stdio.h>\n#include <unistd.h>\n' +
      'int main(void) { struct addrinfo h = { .ai_flags = AI_NUMERICHOST }, *r; int e = getaddrinfo("127.0.0.1", "80", &h, &r);\n' +
      '  printf("%d %d\\n", e, getpid() > 0); return 0; }\n',
  );
  for (const pie of [[], ['-no-pie']]) {
    const build = spawnSync(capcc, ['--annotations', 'a.json', ...pie, 'p.c', '-o', 'p'], { cwd: dir, encoding: 'utf8' });
    assert.equal(build.status, 0, `${pie.join(' ') || 'PIE'}: ${build.stderr}`);
    const r = spawnSync(join(dir, 'p'), { encoding: 'utf8' });
    assert.equal(r.stdout, '0 1\n', `${pie.join(' ') || 'PIE'}: ${r.stderr}`);
    assert.match(spawnSync('nm', [join(dir, 'p')], { encoding: 'utf8' }).stdout, / T __wrap_getaddrinfo$/m);
  }
});
