// What an ELF file says about an address when its debug information does not: the function
// symbol that really contains it (by start and size, from binutils `nm`), its PLT stub
// (`nm --synthetic` names them `poll@plt`), and for a return address the call instruction before
// it (read from the file through its loadable segments, `readelf -l`).
//
// Why sizes matter: `addr2line` on a stripped library answers with the nearest exported symbol
// below an address, even when the address lies in an internal function far past that symbol's
// end — a confident wrong name. Here a name is given only to an address inside the symbol.
import { execFile } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { promisify } from 'node:util';

export interface FunctionSymbol {
  /** file addresses, end exclusive */
  readonly start: bigint;
  readonly end: bigint;
  readonly name: string;
}

interface Segment {
  readonly vaddr: bigint;
  readonly offset: bigint;
  readonly fileSize: bigint;
}

/** x86-64 PLT entries (.plt and .plt.sec) are 16 bytes; nm gives its synthetic @plt symbols no size. */
const PLT_ENTRY = 16n;
const FUNCTION_TYPES = new Set(['T', 't', 'W', 'w', 'i']);

const run = async (exe: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> => {
  try {
    const r = await promisify(execFile)(exe, [...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
    return { stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
};

/** Function symbols of `nm -S` output (with or without sizes); @plt stubs get the PLT entry size, other unsized ones are dropped. */
export function parseNm(out: string): FunctionSymbol[] {
  const syms: FunctionSymbol[] = [];
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]+) (?:([0-9a-f]+) )?([A-Za-z]) (.+)$/.exec(line);
    if (!m || !FUNCTION_TYPES.has(m[3]!)) continue;
    const start = BigInt(`0x${m[1]}`);
    const name = m[4]!;
    const size = m[2] !== undefined ? BigInt(`0x${m[2]}`) : name.endsWith('@plt') ? PLT_ENTRY : 0n;
    if (size > 0n) syms.push({ start, end: start + size, name });
  }
  return syms.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end > b.end ? -1 : 1));
}

/** The LOAD segments of `readelf -lW` output. */
export function parseSegments(out: string): Segment[] {
  const segs: Segment[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)\s/.exec(line);
    if (m) segs.push({ offset: BigInt(m[1]!), vaddr: BigInt(m[2]!), fileSize: BigInt(m[3]!) });
  }
  return segs;
}

export interface ElfToolOptions {
  readonly nm?: string;
  readonly readelf?: string;
}

/** The symbols and segments of one ELF file. */
export class ElfSymbols {
  private constructor(
    private readonly path: string,
    /** sorted by start; the widest first among equal starts */
    private readonly symbols: readonly FunctionSymbol[],
    private readonly segments: readonly Segment[],
  ) {}

  /** Reads the file's function symbols (its full table, else the dynamic one) and segments. */
  static async load(path: string, opts: ElfToolOptions = {}): Promise<ElfSymbols> {
    const nm = opts.nm ?? 'nm';
    const args = ['-S', '-C', '--defined-only', '--synthetic'];
    let syms = parseNm((await run(nm, [...args, path])).stdout);
    // A stripped file: only the dynamic symbols (and the PLT stubs) are left.
    if (!syms.some((s) => !s.name.endsWith('@plt'))) syms = parseNm((await run(nm, ['-D', ...args, path])).stdout);
    const segs = parseSegments((await run(opts.readelf ?? 'readelf', ['-lW', path])).stdout);
    return new ElfSymbols(path, syms, segs);
  }

  /** The function symbol whose [start, end) holds `addr` (the innermost, when they nest). */
  containing(addr: bigint): FunctionSymbol | undefined {
    const s = this.symbols;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]!.start <= addr) lo = mid + 1;
      else hi = mid;
    }
    // Symbols starting at or below addr, nearest first; sizes are short, so a few steps suffice.
    for (let i = lo - 1, steps = 0; i >= 0 && steps < 64; i--, steps++) if (addr < s[i]!.end) return s[i];
    return undefined;
  }

  /** What the direct call (`call rel32`) ending at `returnAddr` calls, as a file address. */
  callTarget(returnAddr: bigint): bigint | undefined {
    const seg = this.segments.find((g) => g.vaddr + 5n <= returnAddr && returnAddr <= g.vaddr + g.fileSize);
    if (!seg) return undefined;
    const buf = Buffer.alloc(5);
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'r');
      if (readSync(fd, buf, 0, 5, Number(seg.offset + returnAddr - seg.vaddr - 5n)) !== 5) return undefined;
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return buf[0] === 0xe8 ? returnAddr + BigInt(buf.readInt32LE(1)) : undefined;
  }
}
