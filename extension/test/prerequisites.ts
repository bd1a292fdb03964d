// What the tests need from the build and the machine, in one place. A missing prerequisite fails
// the test that needs it, naming what to run; it skips only where the caller asked for that with
// CAPRICCIO_ALLOW_SKIP=1 (say, running one test file before anything is built). `npm test` builds
// and installs everything first, so a skip there would hide a broken build.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const runtimeLib = join(root, 'runtime', 'build', 'libcapriccio.a');
export const cliJs = join(root, 'dist', 'cli.js');
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

interface Prerequisite {
  readonly path: string;
  readonly why: string;
}
export const RUNTIME: Prerequisite = { path: runtimeLib, why: `${runtimeLib} is not built: run npm run build` };
export const CLI: Prerequisite = { path: cliJs, why: `${cliJs} is not built: run npm run build` };
export const BROWSER: Prerequisite = { path: CHROMIUM, why: `${CHROMIUM} is missing: apt-get install chromium (scripts/setup-deps.sh does)` };
export const LIBAIO: Prerequisite = {
  path: '/usr/lib/x86_64-linux-gnu/libaio.a',
  why: 'libaio (a Debian library the annotation tests call) is missing: apt-get install libaio-dev (scripts/setup-deps.sh does)',
};
export const CURL: Prerequisite = { path: '/usr/bin/curl', why: 'curl is missing: apt-get install curl (scripts/setup-deps.sh does)' };
export const WRK: Prerequisite = { path: '/usr/bin/wrk', why: 'wrk is missing: apt-get install wrk (scripts/setup-deps.sh does)' };

const skipAllowed = (): boolean => process.env['CAPRICCIO_ALLOW_SKIP'] === '1';
const missing = (needs: readonly Prerequisite[]): Prerequisite | undefined => needs.find((n) => !existsSync(n.path));

/**
 * Inside a test: true when everything needed is there. Otherwise the test fails, or — with
 * CAPRICCIO_ALLOW_SKIP=1 — is marked skipped and the caller returns.
 */
export function have(t: { skip: (why: string) => void }, ...needs: Prerequisite[]): boolean {
  const m = missing(needs);
  if (m === undefined) return true;
  if (!skipAllowed()) assert.fail(`${m.why} (CAPRICCIO_ALLOW_SKIP=1 skips this test instead)`);
  t.skip(m.why);
  return false;
}

/**
 * For the `skip` option of describe() and test(): the reason to skip when something is missing and
 * skipping is allowed, else false. When skipping is not allowed the tests run and `have` (or their
 * own failures) report what is missing.
 */
export function skipUnless(...needs: Prerequisite[]): string | false {
  const m = missing(needs);
  return m !== undefined && skipAllowed() ? m.why : false;
}
