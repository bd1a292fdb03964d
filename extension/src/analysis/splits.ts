// Why a hot split linked a chunk, in terms the user can act on: the function whose prologue asked
// for it, the external functions it calls that made the linker ask for a big one (and the library
// each comes from), or its own frame. Read from the program's machine code (extcalls.ts) when the
// executable is here, from the size asked for otherwise. The summary's hot splits and the
// annotate-stack suggestions both rest on it, so they tell one story.
import { STACKS_VERSION, type HotSplit } from '../../../shared/protocol.ts';
import type { SplitCauseName, ViewCallee, ViewHotSplit } from '../../../shared/view.ts';
import type { Model } from '../model/model.ts';
import { describe, isRuntime, type SymbolInfo, type SymbolTable } from '../symbols/symbols.ts';
import { calledAt, type CalledFunction } from './extcalls.ts';
import { definingLibrary, inModule } from './modules.ts';
import { fmtBytes } from './units.ts';

/**
 * What gold adds to the frame a function asks for when it calls code without split stacks (its
 * --split-stack-adjust-size, 1 MiB by default): a split that asked for less was for a frame of
 * split-stack code itself.
 */
export const LINKER_DEMAND = 0x100000;

/** Hot splits below this count are not worth reading the code for, nor an annotation. */
export const HOT_SPLIT_MIN = 10;
/** At most this many hot splits have their code read, the most frequent (the report lists 50, the summary 10). */
export const HOT_SPLITS_READ = 50;

/** Of a hot split's splits, those that mapped a chunk (a system call); null before protocol version 3, which did not count them. */
export const mappedOf = (model: Model, h: HotSplit): number | null => ((model.hello?.version ?? 0) >= STACKS_VERSION ? h.mapped : null);

/**
 * Splits are cheap when nearly all of them linked a chunk the thread kept or its worker pooled: no
 * system call, a few tens of nanoseconds, and no chunk held beyond the call. A chunk mapped for
 * most of them means the threads held theirs (blocked inside the call) while others split.
 */
export const isCheap = (model: Model, h: HotSplit): boolean => {
  const mapped = mappedOf(model, h);
  return mapped !== null && mapped * 10 < h.count;
};

/** The machine code of the function called at a hot split, as far as it was read. */
export type CalledCode =
  | { readonly kind: 'read'; readonly called: CalledFunction }
  /** not read: a split too rare to matter (below HOT_SPLIT_MIN, or beyond the HOT_SPLITS_READ most frequent) */
  | { readonly kind: 'skipped' }
  /** cannot be read: a call site outside the executable, a call through a pointer, or the executable is not here */
  | { readonly kind: 'absent' };

export type SplitCause =
  /** the runtime's own code (its exit path calling exit): never the program's to act on */
  | { readonly kind: 'runtime'; readonly from: SymbolInfo }
  /** code that is not the program's (a library, glibc) called back into the program, whose function needed room */
  | { readonly kind: 'callback'; readonly from: SymbolInfo }
  /** the linker made the function called there ask for a big chunk for its calls into code without split stacks */
  | { readonly kind: 'linker'; readonly from: SymbolInfo; readonly code: CalledCode }
  /** a frame of split-stack code that did not fit what was left of the chunk */
  | { readonly kind: 'frame'; readonly from: SymbolInfo; readonly code: CalledCode };

function codeOf(model: Model, h: HotSplit, from: SymbolInfo, read: boolean): CalledCode {
  if (!read) return { kind: 'skipped' };
  const m = from.own ? inModule(model, h.callsite) : undefined;
  const called = m && m.path === m.program ? calledAt(m.program, m.fileAddr) : undefined;
  return called ? { kind: 'read', called } : { kind: 'absent' };
}

/**
 * Why `h` split. With `read`, the called function's machine code is read when the executable is
 * here; without it (or without the code), the size asked for tells a linker's demand from a frame.
 */
export function splitCause(model: Model, table: SymbolTable, h: HotSplit, read = true): SplitCause {
  const from = table.get(h.callsite, 'return');
  if (isRuntime(from)) return { kind: 'runtime', from };
  if (!from.own && from.function !== '??') return { kind: 'callback', from };
  const code = codeOf(model, h, from, read);
  if (code.kind === 'read' && isRuntime({ function: code.called.name, file: '', line: 0 })) return { kind: 'runtime', from };
  const linker = code.kind === 'read' ? code.called.bigChunk || code.called.externalCalls.length > 0 : h.frameBytes >= LINKER_DEMAND;
  return { kind: linker ? 'linker' : 'frame', from, code };
}

/** The external functions `called` calls, each with where it comes from. */
function callees(model: Model, called: CalledFunction | undefined): ViewCallee[] {
  return (called?.externalCalls ?? []).map((c) =>
    c.imported ? { name: c.name, origin: 'library', library: definingLibrary(model, c.name) ?? '' } : { name: c.name, origin: c.runtime ? 'runtime' : 'program', library: '' },
  );
}

/** The words in parentheses after a callee: where it comes from ('' for a library not known here). */
function originText(c: ViewCallee): string {
  switch (c.origin) {
    case 'library':
      return c.library;
    case 'program':
      return 'linked in without split stacks';
    case 'runtime':
      return "the Capriccio runtime's, without split stacks";
  }
}

/** Callees named per origin in a label; the others are counted (`callees` lists them all). */
const NAMED_CALLEES = 3;

/** "memchr, free (libc), ext_frame (linked in without split stacks)": callees by where they come from. */
export function calleesText(cs: readonly ViewCallee[]): string {
  const groups = new Map<string, string[]>();
  for (const c of cs) {
    const where = originText(c);
    groups.set(where, [...(groups.get(where) ?? []), c.name]);
  }
  return [...groups]
    .map(([where, names]) => {
      const named = names.length > NAMED_CALLEES + 1 ? `${names.slice(0, NAMED_CALLEES).join(', ')} and ${names.length - NAMED_CALLEES} more` : names.join(', ');
      return `${named}${where !== '' ? ` (${where})` : ''}`;
    })
    .join(', ');
}

function reasonOf(c: Exclude<SplitCause, { kind: 'runtime' }>, frameBytes: number, cs: readonly ViewCallee[]): string {
  const size = fmtBytes(frameBytes);
  switch (c.kind) {
    case 'callback':
      return `${size} for the program's code called back from ${describe(c.from)}, which has no split stacks`;
    case 'linker': {
      const why = `${size} demanded by the linker for a call into code without split stacks`;
      if (c.code.kind === 'absent') return `${why} (its callee is not named: the program's code cannot be read here)`;
      return c.code.kind === 'read' && cs.length === 0 ? `${why} (a call through a pointer: its callee is not named in the code)` : why;
    }
    case 'frame':
      return c.code.kind === 'read'
        ? `${size} for ${c.code.called.name}'s own frame, more than was left in the chunk: split-stack code, no call into code without split stacks`
        : `${size} for the called function's own frame, more than was left in the chunk: split-stack code (for a call into code without split stacks the linker demands 1 MiB more)`;
  }
}

/** The hot split as the summary, the report and the panel show it; undefined for the runtime's own. */
function viewHotSplit(model: Model, table: SymbolTable, h: HotSplit, read = true): ViewHotSplit | undefined {
  const c = splitCause(model, table, h, read);
  if (c.kind === 'runtime') return undefined;
  const called = c.kind !== 'callback' && c.code.kind === 'read' ? c.code.called : undefined;
  const cs = callees(model, called);
  const name = called?.name ?? (c.from.function === '??' ? h.callsite : c.from.function);
  const cause: SplitCauseName = c.kind;
  return {
    callsite: h.callsite,
    function: c.from.function,
    file: c.from.file,
    line: c.from.line,
    count: h.count,
    frameBytes: h.frameBytes,
    ...(called ? { demandedBy: called.name } : {}),
    cause,
    callees: cs,
    label: cs.length > 0 ? `${name} → ${calleesText(cs)}` : name,
    reason: reasonOf(c, h.frameBytes, cs),
    mapped: mappedOf(model, h),
  };
}

/**
 * Every hot split but the runtime's own, most frequent first. The code is read for those that
 * split at least HOT_SPLIT_MIN times, the first HOT_SPLITS_READ: reading costs objdump runs, and
 * what a rare split calls is no one's concern (nor, then, does the summary of a recording read
 * without its binary differ from the one read with it).
 */
export const hotSplitsOf = (model: Model, table: SymbolTable): ViewHotSplit[] =>
  [...model.hotSplits.values()]
    .sort((a, b) => b.count - a.count)
    .flatMap((h, i) => viewHotSplit(model, table, h, i < HOT_SPLITS_READ && h.count >= HOT_SPLIT_MIN) ?? []);
