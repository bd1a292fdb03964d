// The shell the README's commands run must be right under `set -euo pipefail`: a pipeline into a
// reader that exits early (grep -q, head, …) fails at random there, because the producer, still
// writing, dies of SIGPIPE and pipefail reports it. That made `npm run demo` fail 4 times out of 4
// on a fresh machine (`nm knot | grep -q ' __morestack$'`). No script, Makefile recipe or CI
// entry may have one, whether or not it sets pipefail today.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './prerequisites.ts';

/** `| grep -q/-l/-m N`, `| head`, `| sed …q`, `| awk …exit`: readers that may stop before EOF. */
const EARLY_EXIT = /\|\s*(?:grep\b[^|;&]*\s-[A-Za-z]*[qlm](?:[A-Za-z]*|\d*)(?=\s|$)|head\b|sed\b[^|;&]*\dq\b|awk\b[^|;&]*\bexit\b)/;

/**
 * The lines of `text` with a pipeline into an early-exiting reader (comments ignored; a line
 * ending in `|` or `\` continues on the next, which is reported with it).
 */
function earlyExitPipes(text: string): string[] {
  const found: string[] = [];
  let pending = '';
  text.split('\n').forEach((raw, i) => {
    const line = pending + raw.replace(/(^|\s)#.*$/, '').trim();
    if (/(\||\\)$/.test(line)) {
      pending = line.replace(/\\$/, '') + ' ';
      return;
    }
    pending = '';
    if (EARLY_EXIT.test(line)) found.push(`${i + 1}: ${line}`);
  });
  return found;
}

function shellFiles(): string[] {
  const r = spawnSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split('\0')
    .filter((f) => /\.sh$|(^|\/)Makefile$|\.mk$|^bin\/capcc$|^\.ci\/run$/.test(f));
}

test('the old demo check and its kin are caught', () => {
  assert.deepEqual(earlyExitPipes(`if ! nm "$KNOT" 2>/dev/null | grep -q ' __morestack$'; then`), [
    `1: if ! nm "$KNOT" 2>/dev/null | grep -q ' __morestack$'; then`,
  ]);
  assert.deepEqual(earlyExitPipes("awk 'BEGIN { print }' |\n\thead -c 1048576 >f"), ["2: awk 'BEGIN { print }' | head -c 1048576 >f"]);
  for (const bad of ['node x.js summary r.cap | head -n 30', 'dpkg -s p | grep -q x', 'nm x | grep -m1 y', 'nm x | grep -m 1 y', 'ps | grep -vq y', 'seq 9 | sed 2q', "ls | awk '{exit}'"])
    assert.equal(earlyExitPipes(bad).length, 1, bad);
  for (const good of ['a || b', "sed -n '/x/,$p' f | sed 's/^/  /'", 'grep -c x f', 'x | tail -n 1', 'w f | grep -vxF -e -c -e -fcallgraph-info=su', '# nm x | grep -q y', 'grep -q x <<<"$s"'])
    assert.deepEqual(earlyExitPipes(good), [], good);
});

test('the old demo check really fails under pipefail when its reader quits first', () => {
  // A producer that is still writing when grep -q has its match: SIGPIPE, status 141.
  const r = spawnSync('bash', ['-c', "set -o pipefail; yes ' __morestack' | grep -q ' __morestack$'"]);
  assert.equal(r.status, 141);
});

test('no script, Makefile or CI entry pipes into a reader that exits early', () => {
  const files = shellFiles();
  assert.ok(files.includes('scripts/demo.sh') && files.includes('runtime/Makefile'), `unexpected file list: ${files.join(' ')}`);
  const found = files.flatMap((f) => earlyExitPipes(readFileSync(join(root, f), 'utf8')).map((l) => `${f}:${l}`));
  assert.deepEqual(found, []);
});
