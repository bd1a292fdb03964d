// Turning run-time addresses into {function, file, line, own}.
//
// Which address is looked up: the telemetry carries program counters (a sample's frames[0], a
// stall's pc and target) and return addresses (every other frame, spawn sites, hot-split and
// stall call sites). A return address points after its call instruction, possibly at the next
// line or even the next function, so the call's own location is found at address − 1. Every
// lookup here takes the address and its use ('pc' | 'return') and resolves `lookupAddress()`;
// results, and a recording's SYMBOLS and INLINED frames, are keyed by that looked-up address.
//
// Resolution: the HELLO module table maps a run-time address to a module (start ≤ addr < end)
// and a file address (addr − bias); addresses are batched per module into one
// `addr2line -f -C -i -a -e MODULE` process and cached per module + address. With inlining
// addr2line prints several function/line pairs, innermost first: the first pair is the
// location, the whole list is kept in `inlined` (a recording keeps the first pair in SYMBOLS, the
// others in INLINED). An address in no module gets function "??" (file "??", line 0).
//
// Names are truthful (elf.ts): addr2line's function is taken when debug information gave it (a
// file and line); otherwise the name is that of the symbol whose start and size contain the
// address — never the nearest symbol below it, which in a stripped library is some unrelated
// exported function — or a PLT stub's (`poll@plt`). An address no symbol contains is named
// `MODULE+0xOFFSET` (the module's file name, the file address), followed for a return address
// by what its call instruction calls when that is known: `libfoo.so.1+0x1f08 (calls poll@plt)`.
//
// `own`: the program's own code — in the executable (modules[0]), not in the Capriccio runtime's
// sources (runtime/src/) nor libgcc/glibc, and not a function named cap__*, __wrap_* or
// __morestack*.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ElfSymbols, type ElfToolOptions } from './elf.ts';
import type { Address, InlinedEntry, Module, SymbolEntry } from '../../../shared/protocol.ts';
import { toAddress } from '../../../shared/protocol.ts';
import { capriccioRoot } from '../cli/paths.ts';

export type AddressUse = 'pc' | 'return';

export interface Location {
  readonly function: string;
  readonly file: string;
  readonly line: number;
}

export interface SymbolInfo extends Location {
  /** the address looked up (a return address minus 1) */
  readonly addr: Address;
  readonly own: boolean;
  /** every function/line pair of an inlined chain, innermost first (at least the location itself) */
  readonly inlined: readonly Location[];
  /** path of the module holding it, if any */
  readonly module?: string;
}

/** The address resolved for `addr` used as `use`. */
export function lookupAddress(addr: Address, use: AddressUse): Address {
  if (use === 'pc') return addr;
  const v = BigInt(addr);
  return v > 0n ? toAddress(v - 1n) : addr;
}

export const unknownSymbol = (addr: Address, module?: string): SymbolInfo => ({
  addr,
  function: '??',
  file: '??',
  line: 0,
  own: false,
  inlined: [{ function: '??', file: '??', line: 0 }],
  ...(module !== undefined ? { module } : {}),
});

/** A readable one-line form: "f (file.c:12)", or "?? (0x1234)". */
export function describe(s: SymbolInfo): string {
  if (s.function === '??') return `?? (${s.addr})`;
  return s.file === '??' || s.file === '' ? s.function : `${s.function} (${shortFile(s.file)}:${s.line})`;
}

export const shortFile = (file: string): string => file.split('/').slice(-2).join('/');

const GLIBC_OR_LIBGCC = [/libgcc/, /(^|\/)glibc[^/]*\//, /(^|\/)sysdeps\//, /^\.\.?\/(nptl|csu|stdlib|string|libio|elf|posix|misc|io|malloc|signal|socket|time)\//];
const NOT_OWN_FUNCTIONS = [/^cap__/, /^__wrap_/, /^__morestack/];

/** Directories whose sources are the Capriccio runtime: this installation's runtime/src. */
export function defaultRuntimeSourceDirs(): string[] {
  try {
    return [join(capriccioRoot(), 'runtime', 'src') + '/'];
  } catch {
    return [];
  }
}

export function isOwn(inExecutable: boolean, loc: Location, runtimeDirs: readonly string[]): boolean {
  if (!inExecutable || loc.function === '??') return false;
  return !isSystem(loc, runtimeDirs);
}

/**
 * The Capriccio runtime's own code, wherever it is linked: a function named cap__*, __wrap_* or
 * __morestack*, or a source in runtime/src. Told by name and source file, so that a recording's
 * SYMBOLS table, which keeps no module, is read the same way.
 */
export function isRuntime(loc: Location, runtimeDirs: readonly string[] = []): boolean {
  if (NOT_OWN_FUNCTIONS.some((re) => re.test(loc.function))) return true;
  return runtimeDirs.some((d) => loc.file.startsWith(d)) || /(^|\/)runtime\/src\//.test(loc.file);
}

/**
 * The Capriccio runtime, libgcc or glibc, wherever it is linked: frames no user wrote or chose
 * (a library the program calls is not one).
 */
export function isSystem(loc: Location, runtimeDirs: readonly string[] = []): boolean {
  return isRuntime(loc, runtimeDirs) || GLIBC_OR_LIBGCC.some((re) => re.test(loc.file));
}

/** The name of an address no symbol contains: `MODULE+0xOFFSET`, and what its call calls if known. */
export function unnamedInModule(modulePath: string, fileAddr: bigint, calls?: string): string {
  return `${basename(modulePath)}+0x${fileAddr.toString(16)}${calls !== undefined ? ` (calls ${calls})` : ''}`;
}

/** Resolves addresses; results are cached. */
export interface Symbolizer {
  resolve(addrs: Iterable<{ addr: Address; use: AddressUse }>): Promise<SymbolTable>;
}

/** Resolved symbols keyed by looked-up address, with synchronous lookups. */
export class SymbolTable {
  readonly byAddr = new Map<Address, SymbolInfo>();

  get(addr: Address, use: AddressUse): SymbolInfo {
    const key = lookupAddress(addr, use);
    return this.byAddr.get(key) ?? unknownSymbol(key);
  }

  add(s: SymbolInfo): void {
    this.byAddr.set(s.addr, s);
  }

  /** As SYMBOLS frame entries (innermost location per address). */
  entries(): SymbolEntry[] {
    return this.sorted().map((s) => ({ addr: s.addr, own: s.own, line: s.line, function: s.function, file: s.file }));
  }

  /** As INLINED frame entries: the rest of each inline chain, for the addresses that have one. */
  inlinedEntries(): InlinedEntry[] {
    return this.sorted()
      .filter((s) => s.inlined.length > 1)
      .map((s) => ({ addr: s.addr, callers: s.inlined.slice(1).map((l) => ({ line: l.line, function: l.function, file: l.file })) }));
  }

  private sorted(): SymbolInfo[] {
    return [...this.byAddr.values()].sort((a, b) => (BigInt(a.addr) < BigInt(b.addr) ? -1 : 1));
  }

  /**
   * A recording's table: its SYMBOLS entries, each with the callers its INLINED entry lists (an
   * INLINED entry without a SYMBOLS entry names nothing and is left out).
   */
  static fromEntries(entries: Iterable<SymbolEntry>, inlined: ReadonlyMap<Address, InlinedEntry> = new Map()): SymbolTable {
    const t = new SymbolTable();
    for (const e of entries) {
      const loc = { function: e.function, file: e.file, line: e.line };
      t.add({ addr: e.addr, own: e.own, ...loc, inlined: [loc, ...(inlined.get(e.addr)?.callers ?? [])] });
    }
    return t;
  }
}

/** Parses "file:line", "file:line (discriminator N)", "??:0", "??:?". */
export function parseFileLine(s: string): { file: string; line: number } {
  const m = /^(.*):(\d+|\?)(?: \(discriminator \d+\))?$/.exec(s.trim());
  if (!m) return { file: s.trim() || '??', line: 0 };
  return { file: m[1]!, line: m[2] === '?' ? 0 : Number(m[2]) };
}

/** Parses `addr2line -f -i -a` output for the given file addresses, in order. */
export function parseAddr2line(output: string, fileAddrs: readonly bigint[]): Map<bigint, Location[]> {
  const lines = output.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out = new Map<bigint, Location[]>();
  let i = 0;
  for (const want of fileAddrs) {
    // Find the address line (0x%016x) for `want`.
    while (i < lines.length && !(/^0x[0-9a-f]+$/.test(lines[i]!) && BigInt(lines[i]!) === want)) i++;
    if (i >= lines.length) break;
    i++;
    const locs: Location[] = [];
    while (i < lines.length && !/^0x[0-9a-f]+$/.test(lines[i]!)) {
      const fn = lines[i]!;
      const fl = parseFileLine(lines[i + 1] ?? '??:0');
      locs.push({ function: fn === '' ? '??' : fn, ...fl });
      i += 2;
    }
    out.set(want, locs);
  }
  return out;
}

export interface Addr2lineOptions extends ElfToolOptions {
  /** addr2line executable (default "addr2line" from PATH) */
  readonly addr2line?: string;
  /** runtime source directories (default: this installation's runtime/src) */
  readonly runtimeSourceDirs?: readonly string[];
  /** addresses per addr2line process */
  readonly batch?: number;
}

function runAddr2line(exe: string, module: string, fileAddrs: readonly bigint[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(exe, ['-f', '-C', '-i', '-a', '-e', module], { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', () => resolve(''));
    child.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    child.stdin.on('error', () => undefined);
    child.stdin.end(fileAddrs.map((a) => `0x${a.toString(16)}`).join('\n') + '\n');
  });
}

/** Symbolizes with binutils addr2line over the HELLO module table (and nm, readelf: elf.ts). */
export class Addr2lineSymbolizer implements Symbolizer {
  private readonly cache = new Map<string, SymbolInfo>();
  private readonly elf = new Map<number, Promise<ElfSymbols>>();
  private readonly exe: string;
  private readonly runtimeDirs: readonly string[];
  private readonly batch: number;
  private readonly table = new SymbolTable();

  constructor(
    private readonly modules: readonly Module[],
    private readonly opts: Addr2lineOptions = {},
  ) {
    this.exe = opts.addr2line ?? 'addr2line';
    this.runtimeDirs = opts.runtimeSourceDirs ?? defaultRuntimeSourceDirs();
    this.batch = opts.batch ?? 2000;
  }

  private moduleOf(addr: bigint): number {
    return this.modules.findIndex((m) => BigInt(m.start) <= addr && addr < BigInt(m.end));
  }

  private elfOf(mi: number): Promise<ElfSymbols> {
    let e = this.elf.get(mi);
    if (!e) this.elf.set(mi, (e = ElfSymbols.load(this.modules[mi]!.path, this.opts)));
    return e;
  }

  async resolve(addrs: Iterable<{ addr: Address; use: AddressUse }>): Promise<SymbolTable> {
    // module → file address → looked-up address and its use
    const todo = new Map<number, Map<bigint, { key: Address; use: AddressUse }>>();
    for (const { addr, use } of addrs) {
      const key = lookupAddress(addr, use);
      if (this.table.byAddr.has(key)) continue;
      const v = BigInt(key);
      const mi = this.moduleOf(v);
      if (mi < 0) {
        this.table.add(unknownSymbol(key));
        continue;
      }
      const m = this.modules[mi]!;
      const cached = this.cache.get(`${mi}:${key}`);
      if (cached) {
        this.table.add(cached);
        continue;
      }
      let perModule = todo.get(mi);
      if (!perModule) {
        perModule = new Map<bigint, { key: Address; use: AddressUse }>();
        todo.set(mi, perModule);
      }
      perModule.set(v - BigInt(m.bias), { key, use });
    }
    await Promise.all(
      [...todo].map(async ([mi, perModule]) => {
        const m = this.modules[mi]!;
        const fileAddrs = [...perModule.keys()];
        const found = new Map<bigint, Location[]>();
        const exists = existsSync(m.path);
        if (exists) {
          for (let i = 0; i < fileAddrs.length; i += this.batch) {
            const part = fileAddrs.slice(i, i + this.batch);
            for (const [k, v] of parseAddr2line(await runAddr2line(this.exe, m.path, part), part)) found.set(k, v);
          }
        }
        for (const [fileAddr, { key, use }] of perModule) {
          const locs = found.get(fileAddr);
          const first = locs?.[0];
          let info: SymbolInfo;
          if (!exists) info = unknownSymbol(key, m.path);
          else if (first && first.function !== '??' && first.file !== '??') {
            // Named by debug information: exact, with inlined callers.
            info = { addr: key, ...first, own: isOwn(mi === 0, first, this.runtimeDirs), inlined: locs, module: m.path };
          } else {
            const { loc, named } = await this.bySymbols(mi, fileAddr, use);
            info = { addr: key, ...loc, own: named && isOwn(mi === 0, loc, this.runtimeDirs), inlined: [loc], module: m.path };
          }
          this.cache.set(`${mi}:${key}`, info);
          this.table.add(info);
        }
      }),
    );
    return this.table;
  }

  /** A location without debug information: the containing symbol, else MODULE+0xOFFSET. */
  private async bySymbols(mi: number, fileAddr: bigint, use: AddressUse): Promise<{ loc: Location; named: boolean }> {
    const elf = await this.elfOf(mi);
    const sym = elf.containing(fileAddr);
    if (sym) return { loc: { function: sym.name, file: '??', line: 0 }, named: true };
    const target = use === 'return' ? elf.callTarget(fileAddr + 1n) : undefined;
    const callee = target !== undefined ? elf.containing(target)?.name : undefined;
    return { loc: { function: unnamedInModule(this.modules[mi]!.path, fileAddr, callee), file: '??', line: 0 }, named: false };
  }
}

/** Symbolizes from a SYMBOLS table; addresses it lacks are unknown. */
export class TableSymbolizer implements Symbolizer {
  constructor(private readonly table: SymbolTable) {}
  resolve(): Promise<SymbolTable> {
    return Promise.resolve(this.table);
  }
}

/** A node's (or any chain's) display: the frame named for it, and the whole symbolized chain. */
export interface ChainName extends Location {
  readonly own: boolean;
  readonly chain: readonly SymbolInfo[];
  /** where in `chain` the named frame is (-1: empty chain) */
  readonly index: number;
}

/** GCC's split-stack trampoline: a frame of its own where a function linked a new chunk, not a call the program made. */
const isTrampoline = (s: SymbolInfo): boolean => s.function === '__morestack';

/**
 * `frames` are return addresses unless `firstIsPc` (a sample's frames[0]). The frame named for
 * the chain is the innermost in the program's own code; in a thread that has none (a library's
 * own thread), the innermost library frame — the code that called into the runtime — rather
 * than a runtime frame; the innermost known frame only when the chain holds nothing else.
 */
export function nameChain(table: SymbolTable, frames: readonly Address[], firstIsPc = false): ChainName {
  const chain = frames.map((f, i) => table.get(f, i === 0 && firstIsPc ? 'pc' : 'return')).filter((s) => !isTrampoline(s));
  const pick = chain.find((s) => s.own) ?? chain.find((s) => s.function !== '??' && !isSystem(s)) ?? chain.find((s) => s.function !== '??') ?? chain[0];
  if (!pick) return { function: '??', file: '??', line: 0, own: false, chain, index: -1 };
  return { function: pick.function, file: pick.file, line: pick.line, own: pick.own, chain, index: chain.indexOf(pick) };
}
