// The name a program links against for a function it calls, where the debug information names
// something else. glibc defines most functions under several names at one address — `pause` and
// `__libc_pause`, `getc`, `fgetc` and `_IO_getc` — and addr2line reports whichever its DWARF or
// symbol table gives (`__libc_pause`), which an annotation cannot use: `--wrap=__libc_pause`
// wraps nothing the program calls, and `_IO_getc` wraps nothing when the program calls `getc`.
//
// Read with binutils `readelf -W`: a shared object's dynamic symbol table (with symbol versions,
// `name@@VERSION` the default a new link binds to, `name@VERSION` an older one), the program's own
// symbol table for code linked into it (a static archive), and the program's imports (its
// undefined dynamic symbols, `name@VERSION`).
//
// The choice, among the exported functions at the address (or around it, for an address inside
// a function): the name the program imports, when it imports one of them (its version too when
// both carry one); else, leaving out private versions (`GLIBC_PRIVATE`), a default version before
// an older one, a name without a leading underscore before one with, fewer underscores, a shorter
// name, then alphabetical order.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';

export interface ElfSymbol {
  readonly name: string;
  /** the symbol version, if any */
  readonly version?: string;
  /** `name@@VERSION` (or no version): what a new link binds to */
  readonly defaultVersion: boolean;
  readonly value: bigint;
  readonly size: bigint;
  readonly type: string;
  readonly bind: string;
  /** undefined here: imported (section UND) */
  readonly undefined: boolean;
}

const LINE = /^\s*\d+:\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)(?:\s+\(\d+\))?\s*$/;

/** Parses the symbol lines of `readelf -W --dyn-syms` / `readelf -W -s`. */
export function parseReadelfSymbols(text: string): ElfSymbol[] {
  const out: ElfSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, value, size, type, bind, , ndx, full] = m as unknown as string[];
    const at = full!.indexOf('@');
    const name = at < 0 ? full! : full!.slice(0, at);
    if (name === '') continue;
    const defaultVersion = at < 0 || full!.startsWith('@@', at);
    const version = at < 0 ? undefined : full!.slice(at + (defaultVersion ? 2 : 1));
    out.push({
      name,
      ...(version !== undefined ? { version } : {}),
      defaultVersion,
      value: BigInt(`0x${value}`),
      size: BigInt(size!),
      type: type!,
      bind: bind!,
      undefined: ndx === 'UND',
    });
  }
  return out;
}

/** `readelf` from PATH; tests may point elsewhere. */
export const tools = { readelf: 'readelf' };

const cache = new Map<string, { readonly stamp: string; readonly symbols: ElfSymbol[] | undefined }>();

/**
 * The symbols of an ELF file: `dynamic` its dynamic symbol table (exports and imports), `all`
 * every table it has. Undefined when the file or readelf cannot be read. Cached per file version.
 */
export function elfSymbols(path: string, tables: 'dynamic' | 'all'): ElfSymbol[] | undefined {
  let stamp: string;
  try {
    const st = statSync(path);
    stamp = `${st.mtimeMs}:${st.size}`;
  } catch {
    return undefined;
  }
  const key = `${tables}\0${path}`;
  const hit = cache.get(key);
  if (hit && hit.stamp === stamp) return hit.symbols;
  let symbols: ElfSymbol[] | undefined;
  try {
    const text = execFileSync(tools.readelf, ['-W', tables === 'dynamic' ? '--dyn-syms' : '-s', path], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    symbols = parseReadelfSymbols(text);
  } catch {
    symbols = undefined;
  }
  cache.set(key, { stamp, symbols });
  return symbols;
}

const isFunction = (s: ElfSymbol): boolean => (s.type === 'FUNC' || s.type === 'IFUNC') && (s.bind === 'GLOBAL' || s.bind === 'WEAK');
const isPrivate = (s: ElfSymbol): boolean => s.version !== undefined && /PRIVATE$/.test(s.version);
const underscores = (n: string): number => /^_*/.exec(n)![0].length;

/** The exported functions of `symbols` at `fileAddr`, else those whose extent holds it. */
export function functionsAt(symbols: readonly ElfSymbol[], fileAddr: bigint): ElfSymbol[] {
  const fns = symbols.filter((s) => !s.undefined && isFunction(s));
  const exact = fns.filter((s) => s.value === fileAddr);
  if (exact.length > 0) return exact;
  const around = fns.filter((s) => s.value < fileAddr && fileAddr < s.value + s.size);
  // The innermost extent: a symbol spanning several functions would name the wrong one.
  const start = around.reduce((m, s) => (s.value > m ? s.value : m), -1n);
  return around.filter((s) => s.value === start);
}

/** The name to link against among `candidates` (aliases of one function), given the program's imports. */
export function chooseName(candidates: readonly ElfSymbol[], imports: readonly ElfSymbol[]): string | undefined {
  for (const c of candidates) {
    const imported = imports.some((i) => i.name === c.name && (i.version === undefined || c.version === undefined || i.version === c.version));
    if (imported) return c.name;
  }
  const rank = (s: ElfSymbol): [number, number, number] => [s.defaultVersion ? 0 : 1, underscores(s.name), s.name.length];
  const open = candidates.filter((s) => !isPrivate(s));
  const best = [...open].sort((a, b) => {
    const [x, y] = [rank(a), rank(b)];
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  })[0];
  return best?.name;
}

/**
 * The name `program` links against for the function at `fileAddr` of `module` (`module` is the
 * program itself for code linked into it). Undefined when it cannot be told: a file that is not
 * here (a recording read elsewhere), or no exported function there (a static function, an ifunc's
 * implementation); the caller keeps the name it had.
 */
export function linkName(module: string, fileAddr: bigint, program: string): string | undefined {
  const own = module === program;
  const symbols = elfSymbols(module, own ? 'all' : 'dynamic');
  if (!symbols) return undefined;
  const candidates = functionsAt(symbols, fileAddr);
  if (candidates.length === 0) return undefined;
  const imports = own ? [] : (elfSymbols(program, 'dynamic') ?? []).filter((s) => s.undefined);
  return chooseName(candidates, imports);
}
