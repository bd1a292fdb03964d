// A small system call table in the form runtime/build/syscalls.tsv has, for tests that name
// stalls without the runtime built. Removed by `cleanup` (node:test's after).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function syscallFixture(cleanup: (fn: () => void) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-syscalls-'));
  cleanup(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'syscalls.tsv');
  writeFileSync(path, '0\tread\n7\tpoll\n35\tnanosleep\n202\tfutex\n');
  return path;
}
