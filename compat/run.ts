// The compatibility suite (compat/README.md): real C libraries that use threads, each driven by
// a small main of ours built twice, with capcc and with gcc -pthread. Both builds run the same
// input; their outputs must be the same and each must hold the program's invariants.
//
//   node --import tsx compat/run.ts [NAME...]      (npm run test:compat builds and runs all)
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXPECTED_FAILURES } from './expected.ts';
import { ProgramFailure } from './harness.ts';
import { libuv } from './libuv/check.ts';
import { mhdPerConnection, mhdPool } from './microhttpd/check.ts';
import type { CompatProgram, Observation } from './program.ts';
import { sqliteDelete, sqliteWal } from './sqlite/check.ts';
import { zstd } from './zstd/check.ts';

const PROGRAMS: readonly CompatProgram[] = [zstd, sqliteWal, sqliteDelete, mhdPerConnection, mhdPool, libuv];
const BUILDS = join(dirname(fileURLToPath(import.meta.url)), 'build');
const FIRST_LINES = 5;

const names = process.argv.slice(2);
const unknown = names.filter((n) => !PROGRAMS.some((p) => p.name === n));
if (unknown.length > 0) {
  console.error(`compat: no program named ${unknown.join(', ')} (there are: ${PROGRAMS.map((p) => p.name).join(', ')})`);
  process.exit(2);
}
for (const name of Object.keys(EXPECTED_FAILURES))
  if (!PROGRAMS.some((p) => p.name === name)) {
    console.error(`compat: compat/expected.ts names ${name}, which is not a program`);
    process.exit(2);
  }

/** One build's run: what it showed, or how it failed. */
async function observe(p: CompatProgram, build: 'capcc' | 'pthread'): Promise<Observation | string> {
  const label = `${p.name} (${build} build)`;
  const binary = join(BUILDS, build, p.binary);
  if (!existsSync(binary)) return `${label}: ${binary} is not built (make -C compat, or npm run test:compat)`;
  const scratch = mkdtempSync(join(tmpdir(), `capriccio-compat-${p.name}-${build}-`));
  try {
    return await p.observe({ label, binary, scratch });
  } catch (e) {
    if (e instanceof ProgramFailure) return e.message;
    return `${label}: ${e instanceof Error ? e.message : String(e)}`;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const indent = (text: string): string => text.replace(/^/gm, '    ');
const head = (text: string): string => text.split('\n').slice(0, FIRST_LINES).join('\n');

/** Why the capcc build does not behave as the pthread build does, or undefined when it does. */
function compare(p: CompatProgram, ref: Observation | string, cap: Observation | string): string | undefined {
  if (typeof ref === 'string') return `the pthread build itself failed, so nothing can be compared: ${ref}`;
  if (ref.problems.length > 0) return `the pthread build itself broke its invariants: ${ref.problems.join('; ')}`;
  if (typeof cap === 'string') return cap;
  if (cap.problems.length > 0) return `${p.name} (capcc build): ${cap.problems.join('; ')}`;
  if (cap.output === ref.output) return undefined;
  const a = cap.output.split('\n');
  const b = ref.output.split('\n');
  let i = 0;
  while (a[i] === b[i]) i++;
  return [
    `${p.name}: the capcc build's output differs from the pthread build's at line ${i + 1}:`,
    `  capcc:   ${a[i] ?? '(end of output)'}`,
    `  pthread: ${b[i] ?? '(end of output)'}`,
    `first lines of the capcc build's output:`,
    indent(head(cap.output)),
    `first lines of the pthread build's output:`,
    indent(head(ref.output)),
  ].join('\n');
}

async function main(): Promise<number> {
  let passed = 0;
  let failed = 0;
  let expectedToFail = 0;
  for (const p of PROGRAMS.filter((q) => names.length === 0 || names.includes(q.name))) {
    console.log(`# ${p.name}: ${p.library}\n#   threads: ${p.threads}`);
    const began = Date.now();
    const ref = await observe(p, 'pthread');
    const cap = await observe(p, 'capcc');
    const why = compare(p, ref, cap);
    const took = `(${((Date.now() - began) / 1000).toFixed(1)} s for both builds)`;
    const expected = EXPECTED_FAILURES[p.name];
    if (expected === undefined) {
      if (why === undefined) {
        passed++;
        console.log(`ok - ${p.name}: same output as the pthread build ${took}`);
      } else {
        failed++;
        console.log(`not ok - ${p.name} ${took}\n${indent(why)}`);
      }
    } else if (why === undefined) {
      failed++;
      console.log(`not ok - ${p.name} passed, but compat/expected.ts says it fails (${expected.reason}): remove it from that list`);
    } else if (typeof ref !== 'string' && ref.problems.length === 0 && expected.symptom.test(why)) {
      expectedToFail++;
      console.log(`expected to fail - ${p.name}: ${expected.reason} [${expected.fixedBy}] ${took}\n${indent(why)}`);
    } else {
      failed++;
      console.log(`not ok - ${p.name} failed, but not as compat/expected.ts expects (${expected.symptom}) ${took}\n${indent(why)}`);
    }
  }
  if (expectedToFail > 0) console.log(`# ${expectedToFail} expected to fail (compat/expected.ts)`);
  console.log(`compat: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

void main().then((code) => (process.exitCode = code));
