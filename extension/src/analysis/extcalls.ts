// Which external functions a function of the program calls, read from its machine code with
// binutils objdump and addr2line: what to annotate for a hot split.
//
// A hot split's call site is the return address of a call to a function F of the program whose
// prologue asked for a new chunk each time (for a call through a pointer, the return into F's own
// prologue from its call to __morestack). gold makes F ask for a big one when F calls code built
// without split stacks (gold marks such a prologue `stc`, always taken, and sends it to
// `__morestack_non_split`): a shared library's function (a call through the PLT or the GOT) or a
// function linked in from an object built without capcc (its prologue never compares the stack
// with the guard, %fs:0x70). Those are F's external callees; annotating them with `stackBytes`
// gives F back a prologue that needs no big chunk.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { isRuntime, parseAddr2line, type Location } from '../symbols/symbols.ts';
import { elfSymbols } from '../symbols/aliases.ts';

export interface ExternalCall {
  /** the name the program calls it by (its import, or its symbol) */
  readonly name: string;
  /** called through the PLT or the GOT: a shared library's; else linked into the program */
  readonly imported: boolean;
  /** linked into the program from the Capriccio runtime (its stdio, built without split stacks) */
  readonly runtime: boolean;
  /** file address of the call instruction */
  readonly at: bigint;
  /** where the call is in the source (unknown: function "??") */
  readonly loc: Location;
}

export interface CalledFunction {
  /** F: the function called at the call site */
  readonly name: string;
  /** gold rewrote its prologue to ask for a big chunk on every call */
  readonly bigChunk: boolean;
  readonly externalCalls: readonly ExternalCall[];
}

/** `objdump` and `addr2line` from PATH; tests may point elsewhere. */
export const tools = { objdump: 'objdump', addr2line: 'addr2line' };

const hex = (n: bigint): string => `0x${n.toString(16)}`;

function run(file: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(file, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

interface Insn {
  readonly addr: bigint;
  readonly text: string;
}

/** The instructions of [from, to) as objdump prints them (AT&T syntax, no raw bytes). */
function disassemble(exe: string, from: bigint, to: bigint): Insn[] {
  const out = run(tools.objdump, ['-d', '--no-show-raw-insn', `--start-address=${hex(from)}`, `--stop-address=${hex(to)}`, exe]) ?? '';
  const insns: Insn[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t(.*)$/.exec(line);
    if (m) insns.push({ addr: BigInt(`0x${m[1]}`), text: m[2]!.trim() });
  }
  return insns;
}

/**
 * A call's (or tail call's) target: `call 25e0 <name@plt>`, `jmp 3d56 <name>`,
 * `call *0x..(%rip)  # 1ddc0 <name@GLIBC_2.2.5>`. A jump inside a function (`<f+0x1c>`) is none.
 */
function callTarget(text: string): { addr: bigint; symbol: string; indirect: boolean } | undefined {
  const direct = /^(?:call|jmp)\s+([0-9a-f]+) <([^>+]+)>$/.exec(text);
  if (direct) return { addr: BigInt(`0x${direct[1]}`), symbol: direct[2]!, indirect: false };
  const got = /^(?:call|jmp)\s+\*0x[0-9a-f]+\(%rip\)\s+# ([0-9a-f]+) <([^>+]+)>$/.exec(text);
  if (got) return { addr: BigInt(`0x${got[1]}`), symbol: got[2]!, indirect: true };
  return undefined;
}

/** The prologue, past an `endbr64`. */
const prologue = (insns: readonly Insn[]): readonly Insn[] => (insns[0]?.text === 'endbr64' ? insns.slice(1) : insns);
/** Split-stack code compares the stack pointer with the guard (%fs:0x70) first, or gold made that an `stc`. */
const isSplit = (insns: readonly Insn[]): boolean => prologue(insns)[0]?.text === 'stc' || prologue(insns).slice(0, 3).some((i) => i.text.includes('%fs:0x70'));

/** The runtime's and the annotations' own code: never what to annotate. */
const NOT_EXTERNAL = /^(__morestack|__wrap_|cap_|__real_)/;
const MORESTACK = /^__morestack/;

const cache = new Map<string, CalledFunction | null>(); /* per version of the file: a rebuild is read again */

/**
 * F and its external calls, for a call site in `exe` (the return address, as a file address).
 * Undefined when the call there cannot be read: not a direct call, or the file is not here.
 */
export function calledAt(exe: string, returnAddr: bigint): CalledFunction | undefined {
  let stamp: string;
  try {
    const st = statSync(exe);
    stamp = `${st.mtimeMs}:${st.size}`;
  } catch {
    return undefined;
  }
  const key = `${exe}\0${stamp}\0${returnAddr}`;
  if (cache.has(key)) return cache.get(key) ?? undefined;
  const found = readCalled(exe, returnAddr);
  cache.set(key, found ?? null);
  return found;
}

function readCalled(exe: string, returnAddr: bigint): CalledFunction | undefined {
  const symbols = elfSymbols(exe, 'all');
  if (!symbols) return undefined;
  const call = disassemble(exe, returnAddr - 5n, returnAddr).find((i) => i.addr === returnAddr - 5n);
  const target = call ? callTarget(call.text) : undefined;
  if (!target || target.indirect) return undefined;
  const isFunction = (s: (typeof symbols)[number]): boolean => !s.undefined && s.size > 0n && (s.type === 'FUNC' || s.type === 'IFUNC');
  // A split of a call through a pointer is recorded in the callee's prologue, at its call to
  // __morestack (the runtime's __wrap___generic_morestack): F is the function holding it.
  const fn = MORESTACK.test(target.symbol)
    ? symbols.find((s) => isFunction(s) && s.value <= returnAddr && returnAddr < s.value + s.size)
    : symbols.find((s) => isFunction(s) && s.value === target.addr);
  if (!fn) return undefined;
  const body = disassemble(exe, fn.value, fn.value + fn.size);
  const calls: { name: string; at: bigint; imported: boolean; target: bigint }[] = [];
  const splitCache = new Map<bigint, boolean>();
  for (const insn of body) {
    const t = callTarget(insn.text);
    if (!t) continue;
    const plt = /^(.*)@plt$/.exec(t.symbol);
    const name = plt ? plt[1]! : t.symbol.replace(/@.*$/, '');
    if (NOT_EXTERNAL.test(name) || t.addr === fn.value) continue;
    const imported = plt !== null || t.indirect;
    let external = imported;
    if (!external) {
      let split = splitCache.get(t.addr);
      if (split === undefined) splitCache.set(t.addr, (split = isSplit(disassemble(exe, t.addr, t.addr + 16n))));
      external = !split;
    }
    if (external && !calls.some((c) => c.name === name)) calls.push({ name, at: insn.addr, imported, target: t.addr });
  }
  // Where each call is, and where each callee linked into the program is defined (the runtime's own?).
  const asked = [...calls.map((c) => c.at), ...calls.filter((c) => !c.imported).map((c) => c.target)];
  const where = asked.length > 0 ? parseAddr2line(run(tools.addr2line, ['-f', '-i', '-a', '-e', exe, ...asked.map(hex)]) ?? '', asked) : new Map<bigint, Location[]>();
  const unknown: Location = { function: '??', file: '??', line: 0 };
  return {
    name: fn.name,
    bigChunk: prologue(body)[0]?.text === 'stc',
    externalCalls: calls.map((c) => {
      const defined = c.imported ? undefined : where.get(c.target)?.at(-1);
      return { name: c.name, at: c.at, imported: c.imported, runtime: defined !== undefined && isRuntime(defined), loc: where.get(c.at)?.[0] ?? unknown };
    }),
  };
}
