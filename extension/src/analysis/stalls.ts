// What the stall watchdog saw: each time the whole scheduler sat in a system call that the
// runtime did not make, named — the system call, the function that made it, the external
// function the program called to get there, and the line of the program that called it.
import type { Model } from '../model/model.ts';
import { NULL_ADDRESS, SYSCALL_UNKNOWN } from '../../../shared/protocol.ts';
import { describe, type SymbolTable } from '../symbols/symbols.ts';
import { syscallName } from '../symbols/syscalls.ts';
import { linkedName } from './modules.ts';

export interface StallSummary {
  readonly id: number;
  /** the system call's number; null when the watchdog could not read it */
  readonly syscall: number | null;
  /** its name ("futex"), when the number is known and this installation's table holds it */
  readonly syscallName?: string;
  /** the function that made the system call (where the worker sat), named as the program links it where it can be */
  readonly madeBy: string;
  /** the system call was made in the program's own code (inline assembly, a raw `syscall` instruction) */
  readonly own: boolean;
  /**
   * The external function (not built by capcc) the program called, named as the program links it:
   * what to annotate as blocking. Absent when the system call was made from the program's own code,
   * or nothing could be named.
   */
  readonly external?: string;
  /** the program's call to it: "main (server.c:42)" */
  readonly calledFrom?: string;
  readonly file?: string;
  readonly line?: number;
  readonly count: number;
  readonly maxNs: number;
  readonly totalNs: number;
}

/** "futex", "syscall 999" for a number the table lacks, "an unknown system call". */
export function syscallLabel(s: Pick<StallSummary, 'syscall' | 'syscallName'>): string {
  if (s.syscallName !== undefined) return s.syscallName;
  return s.syscall === null ? 'an unknown system call' : `system call ${s.syscall}`;
}

/** A split's own calls: the runtime linking (and maybe mapping) a chunk. */
const SPLIT_PATH = /^(__morestack|__wrap___generic_morestack)$/;

/** Every stall of the model, longest in total first. */
export function stallsOf(model: Model, table: SymbolTable): StallSummary[] {
  return [...model.stalls.values()]
    .map((s): StallSummary => {
      const pc = table.get(s.pc, 'pc');
      const target = s.target !== NULL_ADDRESS ? table.get(s.target, 'pc') : undefined;
      const from = s.callsite !== NULL_ADDRESS ? table.get(s.callsite, 'return') : undefined;
      // Without a call site or a target the scan found no call from the program (a library's own
      // thread, the runtime): nothing the program could annotate.
      // Nor is a split's: the runtime mapping a chunk (a call to __morestack, or its call to the wrap).
      const found = (s.target !== NULL_ADDRESS || s.callsite !== NULL_ADDRESS) && !(target && SPLIT_PATH.test(target.function));
      const external = !found
        ? undefined
        : target && target.function !== '??'
          ? linkedName(model, s.target, target.function)
          : !pc.own && pc.function !== '??'
            ? linkedName(model, s.pc, pc.function)
            : undefined;
      const nr = s.syscall === SYSCALL_UNKNOWN ? null : s.syscall;
      const name = nr === null ? undefined : syscallName(nr);
      return {
        id: s.id,
        syscall: nr,
        ...(name !== undefined ? { syscallName: name } : {}),
        madeBy: pc.own || pc.function === '??' ? pc.function : linkedName(model, s.pc, pc.function),
        own: pc.own,
        ...(external !== undefined ? { external } : {}),
        ...(from && from.function !== '??' ? { calledFrom: describe(from), file: from.file, line: from.line } : {}),
        count: s.count,
        maxNs: s.maxNs,
        totalNs: s.totalNs,
      };
    })
    .sort((a, b) => b.totalNs - a.totalNs || a.id - b.id);
}

/** One line of `capriccio summary`: "futex in syscall, called from main (app.c:12)  ×4  max 100.2 ms". */
export function stallText(s: StallSummary, fmtNs: (ns: number) => string): string {
  const inside = s.external !== undefined && s.external !== s.madeBy ? ` inside ${s.external}` : '';
  const from = s.calledFrom !== undefined ? `, called from ${s.calledFrom}` : s.own ? ' (in the program’s own code)' : '';
  return `${syscallLabel(s)} in ${s.madeBy}${inside}${from}  ×${s.count}  max ${fmtNs(s.maxNs)}, total ${fmtNs(s.totalNs)}`;
}
