// Finding and reading the .ci files of a program: files named directly, directories searched
// recursively for *.ci; linked with what the installed runtime provides.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runtimeLibPath } from '../../cli/paths.ts';
import { parseCi, type CiGraph } from './ci.ts';
import { linkProgram, type Program } from './graph.ts';
import { runtimeFunctions } from './runtime.ts';

/** Nothing to analyze, or a PATH that does not exist. */
export class NoCallGraphError extends Error {}

const SKIP_DIRS = new Set(['node_modules', '.git']);

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) await walk(path, out);
    } else if (e.isFile() && e.name.endsWith('.ci')) out.push(path);
  }
}

/** The .ci files named by PATHs, in order, each once. */
export async function findCallGraphs(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let s;
    try {
      s = await stat(p);
    } catch {
      throw new NoCallGraphError(`${p}: no such file or directory`);
    }
    if (s.isDirectory()) {
      const found: string[] = [];
      await walk(p, found);
      if (found.length === 0) {
        throw new NoCallGraphError(`no .ci files under ${p} (capriccio cc writes one next to each object it compiles)`);
      }
      out.push(...found);
    } else out.push(p);
  }
  return [...new Set(out)];
}

/** Reads and parses each file; a malformed one throws CiParseError naming the file and line. */
export async function loadCallGraphs(files: readonly string[]): Promise<CiGraph[]> {
  return Promise.all(files.map(async (f) => parseCi(await readFile(f, 'utf8'), f)));
}

/** The program the .ci files make, its calls into the runtime (libcapriccio.a) known as such. */
export async function loadProgram(files: readonly string[], runtimeLib: string = runtimeLibPath()): Promise<Program> {
  const [graphs, runtime] = await Promise.all([loadCallGraphs(files), runtimeFunctions(runtimeLib)]);
  return linkProgram(graphs, runtime);
}
