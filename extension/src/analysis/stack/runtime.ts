// The functions the Capriccio runtime provides (its pthread shim, the blocking POSIX calls it
// turns into waits, its own cap_* API): a program's call to one of them is not a call into an
// unknown library. They are compiled with split stacks, so they grow the calling thread's stack
// as they need: nothing to annotate. Read from the runtime library's symbol table, so the list
// never drifts from what the runtime really defines. The runtime's *_sys.o objects are compiled
// without split stacks (its stdio functions, sigaction): like libc's, a call to them needs a
// large chunk, so they stay external here.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { RuntimeFunctions } from './graph.ts';

/** The global functions `lib` (libcapriccio.a) defines, but for the runtime's internal ones. */
export async function runtimeFunctions(lib: string): Promise<RuntimeFunctions> {
  if (!existsSync(lib)) return { names: new Set(), missing: `${lib} is not built (make -C runtime)` };
  let out: string;
  try {
    // (not execFileSync: in VS Code this runs in the extension host, which must not stall)
    out = (await promisify(execFile)('nm', ['-g', '--defined-only', lib], { encoding: 'utf8', maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    return { names: new Set(), missing: `cannot list the symbols of ${lib} with nm: ${(err as Error).message.split('\n')[0]}` };
  }
  const names = new Set<string>();
  let split = true; // nm lists each member of the archive after a line "member.o:"
  for (const line of out.split('\n')) {
    if (/^\S+\.o:$/.test(line.trim())) {
      split = !line.trim().endsWith('_sys.o:');
      continue;
    }
    const [, type, name] = line.trim().split(/\s+/);
    if (split && (type === 'T' || type === 'W') && name && !name.startsWith('cap__') && !name.startsWith('__')) names.add(name);
  }
  return { names };
}
