// Suggestions drawn from a model: where to yield, which external functions to annotate, and what
// first chunk to give threads spawned at a site. Each carries the figures it rests on.
import type { Model } from '../model/model.ts';
import { NULL_ADDRESS, type HotSplit } from '../../../shared/protocol.ts';
import { fileLoops, innermostLoop, type FileLoops, type Loop, type LoopKind } from '../source/loops.ts';
import { describe, isSystem, nameChain, type ChainName, type Location, type SymbolInfo, type SymbolTable } from '../symbols/symbols.ts';
import { stallsOf, syscallLabel, type StallSummary } from './stalls.ts';
import type { CalledFunction } from './extcalls.ts';
import { HOT_SPLIT_MIN, isCheap, mappedOf, splitCause } from './splits.ts';

interface Base {
  readonly function?: string;
  readonly file?: string;
  readonly line?: number;
  readonly message: string;
}

export interface YieldSuggestion extends Base {
  readonly kind: 'yield';
  /** the loop keyword's column on `line` (1-based), when the loop is known */
  readonly column?: number;
  readonly evidence: {
    readonly samples: number;
    readonly runMaxMs: number;
    readonly quantumMs: number;
    /** the loop's kind; 'none': no loop around the sampled lines; 'unknown': the source was not read */
    readonly loop: LoopKind | 'none' | 'unknown';
    /** the sampled lines counted ("42, 43") */
    readonly lines: string;
    /** samples of the function outside every loop, counted for this loop */
    readonly outsideLoops?: number;
    /** why the source could not be read */
    readonly sourceError?: string;
  };
}
export interface AnnotateBlockingSuggestion extends Base {
  readonly kind: 'annotate-blocking';
  readonly evidence: {
    readonly stalls: number;
    readonly maxMs: number;
    readonly totalMs: number;
    readonly calledFrom?: string;
    /** the system calls it sat in ("futex"; "system call 999" when this installation cannot name one) */
    readonly syscall?: string;
    /** the functions that made them, when not the annotated function itself (glibc's syscall inside a library's wait) */
    readonly madeBy?: string;
  };
}
export interface AnnotateStackSuggestion extends Base {
  readonly kind: 'annotate-stack';
  readonly evidence: {
    readonly splits: number;
    readonly frameBytes: number;
    /** the stack to annotate `function` with, when the external function is known (then `function` is it) */
    readonly stackBytes?: number;
    /** every external function to annotate with it, `function` first, ", "-separated: the chunk goes only when none of them is left */
    readonly functions?: string;
    /** of `splits`, those that mapped a chunk (a system call); absent: not counted (protocol version before 3) */
    readonly mapped?: number;
    /** the call that split: the hot split's call site */
    readonly calledFrom?: string;
  };
}
export interface ChunkSizeSuggestion extends Base {
  readonly kind: 'chunk-size';
  readonly evidence: {
    readonly threads: number;
    readonly chunksLinked: number;
    readonly usedMax: number;
    /** address space of the site's finished threads that they never touched (never resident) */
    readonly untouchedBytes: number;
    readonly firstChunk: number;
    readonly suggestedBytes: number;
  };
}

export type Suggestion = YieldSuggestion | AnnotateBlockingSuggestion | AnnotateStackSuggestion | ChunkSizeSuggestion;
export type SuggestionKind = Suggestion['kind'];

/** Smallest first chunk ever suggested. */
export const MIN_CHUNK = 2560;

const ms = (ns: number): number => Math.round(ns / 1e5) / 10;
const roundUp256 = (n: number): number => Math.ceil(n / 256) * 256;

/** usedBytesMax rounded up to 256, plus 10%, rounded up to 256 again; at least MIN_CHUNK. */
export const suggestedChunk = (usedMax: number): number => Math.max(MIN_CHUNK, roundUp256(roundUp256(usedMax) * 1.1));

const at = (s: { function: string; file: string; line: number }): Pick<Base, 'function' | 'file' | 'line'> =>
  s.function === '??' ? {} : { function: s.function, file: s.file, line: s.line };

const where = (s: { function: string; file: string; line: number; addr?: string }): string =>
  describe({ addr: s.addr ?? '', own: true, inlined: [], ...s });

/** A spawn site's location; the main thread has none (address 0). */
export function siteName(table: SymbolTable, site: string): ReturnType<typeof nameChain> {
  if (site === NULL_ADDRESS) return { ...nameChain(table, []), function: 'main', file: '', line: 0 };
  return nameChain(table, [site]);
}

/** Where a sample ran, for its yield suggestion: a loop, outside every loop, or not known. */
type Place =
  | { readonly at: 'loop'; readonly loop: Loop; readonly loc: Location }
  | { readonly at: 'unread'; readonly why: string }
  | { readonly at: 'none' };

/**
 * The loop a sample ran in: the innermost loop around its innermost own location or, when that
 * is in no loop, around the next own one out (an inlined caller, a calling frame: a hot function
 * without a loop is called from one). `unread` when the innermost own location's source cannot be
 * parsed here. `loopsOf` is fileLoops, remembered for one summary.
 */
function placeOf(name: ChainName, loopsOf: (file: string) => FileLoops): Place {
  const first = name.chain.findIndex((f) => f.own);
  for (const frame of name.chain.slice(first)) {
    if (!frame.own) continue;
    for (const loc of frame.inlined) {
      const found = loopsOf(loc.file);
      if ('unread' in found) {
        if (frame === name.chain[first] && loc === frame.inlined[0]) return { at: 'unread', why: found.unread };
        continue;
      }
      const loop = innermostLoop(found.loops, loc.line);
      if (loop) return { at: 'loop', loop, loc };
    }
  }
  return { at: 'none' };
}

interface YieldGroup {
  readonly function: string;
  readonly file: string;
  /** the suggestion's line: the loop's header, else the sampled line */
  line: number;
  readonly place: Place;
  samples: number;
  runMaxNs: number;
  /** sampled lines and their counts */
  readonly lines: Map<number, number>;
  /** samples from this function outside every loop, counted for its loop */
  outside: number;
}

/**
 * One yield suggestion per hot loop (see placeOf). A function's samples outside every loop are
 * counted for its most sampled loop: the frame walk loses the caller of code built without frame
 * pointers (libc, the vDSO), so a sample there lands on the function's opening line, not in the
 * loop that called out. Without a loop to count for, they make one suggestion per function;
 * samples whose source cannot be read make one per sampled line.
 */
function yieldSuggestions(model: Model, table: SymbolTable): YieldSuggestion[] {
  const quantumMs = (model.hello?.quantumUs ?? 0) / 1000;
  const files = new Map<string, FileLoops>();
  const loopsOf = (file: string): FileLoops => files.get(file) ?? files.set(file, fileLoops(file)).get(file)!;
  const groups = new Map<string, YieldGroup>();
  for (const s of model.samples.values()) {
    if (s.count < 1 || s.frames.length === 0) continue;
    const name = nameChain(table, s.frames, true);
    if (!name.own) continue;
    const place = placeOf(name, loopsOf);
    // Loops by their header; samples outside them per function, unread ones per line.
    const [key, at, sampled] =
      place.at === 'loop'
        ? [`loop\0${place.loc.file}\0${place.loop.line}:${place.loop.column}`, { ...place.loc, line: place.loop.line }, place.loc.line]
        : [place.at === 'none' ? `none\0${name.function}\0${name.file}` : `line\0${name.function}\0${name.file}\0${name.line}`, name, name.line];
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { function: at.function, file: at.file, line: at.line, place, samples: 0, runMaxNs: 0, lines: new Map(), outside: 0 }));
    g.samples += s.count;
    g.runMaxNs = Math.max(g.runMaxNs, s.runMaxNs);
    g.lines.set(sampled, (g.lines.get(sampled) ?? 0) + s.count);
  }
  const byWeight = (a: YieldGroup, b: YieldGroup): number => b.samples - a.samples || b.runMaxNs - a.runMaxNs || a.line - b.line;
  const loops = [...groups.values()].filter((g) => g.place.at === 'loop').sort(byWeight);
  const out: YieldGroup[] = [...loops];
  for (const g of groups.values()) {
    if (g.place.at === 'loop') continue;
    const host = g.place.at === 'none' ? loops.find((l) => l.function === g.function && l.file === g.file) : undefined;
    if (host) {
      host.samples += g.samples;
      host.runMaxNs = Math.max(host.runMaxNs, g.runMaxNs);
      host.outside += g.samples;
    } else {
      // Outside every loop: on the function's most sampled line.
      if (g.place.at === 'none') g.line = [...g.lines].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0]![0];
      out.push(g);
    }
  }
  return out.sort(byWeight).map((g) => yieldSuggestion(g, quantumMs));
}

function yieldSuggestion(g: YieldGroup, quantumMs: number): YieldSuggestion {
  const loc = { function: g.function, file: g.file, line: g.line };
  const ran = `thread ran ${ms(g.runMaxNs)} ms without blocking`;
  const lines = [...g.lines.keys()].sort((a, b) => a - b).join(', ');
  const figures = { samples: g.samples, runMaxMs: ms(g.runMaxNs), quantumMs };
  switch (g.place.at) {
    case 'loop':
      return {
        kind: 'yield',
        ...loc,
        column: g.place.loop.column,
        message: `${ran} in the ${g.place.loop.kind} loop at ${where(loc)}: add a yield point in this loop`,
        evidence: { ...figures, loop: g.place.loop.kind, lines, ...(g.outside > 0 ? { outsideLoops: g.outside } : {}) },
      };
    case 'none':
      return {
        kind: 'yield',
        ...loc,
        message: `${ran} at ${where(loc)}, outside any loop: add a yield point here or in its callers`,
        evidence: { ...figures, loop: 'none', lines },
      };
    case 'unread':
      return {
        kind: 'yield',
        ...loc,
        message: `${ran} at ${where(loc)}: add a yield point in its loop (the source cannot be read here, so each sampled line is listed, not its loop)`,
        evidence: { ...figures, loop: 'unknown', lines, sourceError: g.place.why },
      };
  }
}

/**
 * One suggestion per external function and call site that stalled the scheduler: annotate it as
 * blocking. It names the system calls it sat in and, when another function made them (glibc's
 * syscall inside a library's wait), that one too.
 */
function blockingSuggestions(model: Model, table: SymbolTable): AnnotateBlockingSuggestion[] {
  const byName = new Map<string, { stalls: StallSummary[] }>();
  for (const s of stallsOf(model, table)) {
    if (s.external === undefined) continue;
    const key = `${s.external}\0${s.calledFrom ?? ''}`;
    const g = byName.get(key);
    if (g) g.stalls.push(s);
    else byName.set(key, { stalls: [s] });
  }
  return [...byName.values()]
    .map(({ stalls: group }) => {
      const first = group[0]!;
      const name = first.external!;
      const stalls = group.reduce((n, s) => n + s.count, 0);
      const maxNs = Math.max(...group.map((s) => s.maxNs));
      const totalNs = group.reduce((n, s) => n + s.totalNs, 0);
      const syscall = [...new Set(group.map(syscallLabel))].join(', ');
      const madeBy = [...new Set(group.map((s) => s.madeBy).filter((m) => m !== name))].join(', ');
      const s: AnnotateBlockingSuggestion = {
        kind: 'annotate-blocking',
        function: name,
        ...(first.file !== undefined && first.line !== undefined ? { file: first.file, line: first.line } : {}),
        message:
          `${name} stalled the whole scheduler ${stalls} time${stalls === 1 ? '' : 's'}, max ${ms(maxNs)} ms, in ${syscall}${madeBy ? ` (made by ${madeBy})` : ''}` +
          `${first.calledFrom !== undefined ? ` (called from ${first.calledFrom})` : ''}: annotate ${name} as blocking`,
        evidence: {
          stalls,
          maxMs: ms(maxNs),
          totalMs: ms(totalNs),
          ...(first.calledFrom !== undefined ? { calledFrom: first.calledFrom } : {}),
          syscall,
          ...(madeBy ? { madeBy } : {}),
        },
      };
      return { s, totalNs };
    })
    .sort((a, b) => b.totalNs - a.totalNs)
    .map(({ s }) => s);
}

/** The stack an annotation gives the external function: the chunk gold had its caller ask for, rounded up to 64 KiB. */
const stackFor = (frameBytes: number): number => Math.ceil(Math.max(frameBytes, 1) / 65536) * 65536;

/**
 * Hot splits with at least HOT_SPLIT_MIN splits, by their cause (splits.ts), unless they were
 * cheap: nearly every split linked a chunk kept or pooled, no system call, which an annotation
 * would not beat (its call costs about as much as such a split). When gold made the function
 * called there ask for a big chunk for its calls into code without split stacks, one suggestion
 * names all those callees and the stack to give them: the chunk goes only when none is left. When
 * the code cannot be read here (or names no callee), it names the call site only. A frame of
 * split-stack code has nothing to annotate. Library code calling back into the program: annotate
 * the library function the program calls there.
 */
function stackSuggestions(model: Model, table: SymbolTable): AnnotateStackSuggestion[] {
  const out: AnnotateStackSuggestion[] = [];
  for (const h of [...model.hotSplits.values()].sort((a, b) => b.count - a.count)) {
    if (h.count < HOT_SPLIT_MIN || isCheap(model, h)) continue;
    const c = splitCause(model, table, h);
    const mapped = mappedOf(model, h);
    const figures = `(${h.frameBytes} bytes, split ${h.count} times${mapped === null ? '' : `, ${mapped} of them mapping a chunk`})`;
    const from = c.from;
    switch (c.kind) {
      case 'runtime':
      case 'frame':
        continue;
      case 'callback':
        if (!isSystem(from))
          out.push({
            kind: 'annotate-stack',
            message: `calls from library code at ${where(from)} into the program need a big chunk ${figures}: annotate the stack need of the library function the program calls there`,
            evidence: { splits: h.count, frameBytes: h.frameBytes },
          });
        continue;
      case 'linker':
        if (!from.own) continue; /* an unknown call site: nothing to name */
        if (c.code.kind !== 'read' || c.code.called.externalCalls.length === 0) {
          out.push({
            kind: 'annotate-stack',
            ...at(from),
            message: `calls into external code at ${where(from)} need a big chunk ${figures}: annotate its stack need`,
            evidence: { splits: h.count, frameBytes: h.frameBytes },
          });
          continue;
        }
        out.push(calleeSuggestion(h, mapped, from, c.code.called));
        continue;
      default: {
        const never: never = c;
        throw new Error(`unknown split cause ${JSON.stringify(never)}`);
      }
    }
  }
  return out;
}

/** The external functions `called` calls, all annotated with the stack gold asked for, at the first one's call. */
function calleeSuggestion(h: HotSplit, mapped: number | null, from: SymbolInfo, called: CalledFunction): AnnotateStackSuggestion {
  const stackBytes = stackFor(h.frameBytes);
  const calls = called.externalCalls;
  const first = calls[0]!;
  const site = first.loc.function === '??' ? at(from) : { file: first.loc.file, line: first.loc.line };
  const caller = first.loc.function === '??' ? called.name : where({ ...first.loc, function: called.name });
  const functions = calls.map((c) => c.name);
  const names = functions.length === 1 ? first.name : `${functions.join(', ')} (all ${functions.length}: the chunk goes only when none is left)`;
  const held = mapped === null ? '' : `, ${mapped} of them mapping a chunk: threads held theirs while others split`;
  return {
    kind: 'annotate-stack',
    function: first.name,
    ...site,
    message:
      `${caller} calls ${functions.join(', ')}, code without split stacks, so each call to ${called.name} needs a big chunk ` +
      `(${h.frameBytes} bytes, split ${h.count} times${held}, at ${where(from)}): annotate ${names} with stackBytes ${stackBytes} ` +
        `(each call to ${functions.length === 1 ? 'it' : 'them'} then switches to a stack kept for it, a few tens of nanoseconds)`,
    evidence: { splits: h.count, frameBytes: h.frameBytes, stackBytes, functions: functions.join(', '), ...(mapped === null ? {} : { mapped }), calledFrom: where(from) },
  };
}

/**
 * A first chunk can only fix what the threads' own frames need: when their splits asked for about
 * a megabyte, the room went to calls into code without split stacks (annotate-stack), and when
 * they go far deeper than any chunk (recursion), linking is what stacks are for.
 */
export const OWN_FRAMES_MAX = 64 * 1024;
const GOLD_NON_SPLIT = 16 * 1024;

function chunkSuggestions(model: Model, table: SymbolTable): ChunkSizeSuggestion[] {
  const out: ChunkSizeSuggestion[] = [];
  for (const p of model.spawnSites.values()) {
    // The main thread's first chunk is the runtime's choice, not a spawn site's.
    if (p.threadsTotal < 1 || p.usedBytesMax === 0 || p.site === NULL_ADDRESS) continue;
    const outgrows =
      p.chunksLinked / p.threadsTotal >= 1 &&
      p.usedBytesMax > p.firstChunkBytes &&
      p.usedBytesMax <= OWN_FRAMES_MAX &&
      p.splitFrameMax < GOLD_NON_SPLIT;
    const oversized = p.usedBytesMax < p.firstChunkBytes / 2;
    if (!outgrows && !oversized) continue;
    const n = suggestedChunk(p.usedBytesMax);
    if (n === p.firstChunkBytes) continue;
    const site = siteName(table, p.site);
    // A library's (or the runtime's) own pthread_create: the program cannot set that first chunk.
    if (site.function !== '??' && !site.own) continue;
    out.push({
      kind: 'chunk-size',
      ...at(site),
      message: `set the first chunk of threads spawned at ${site.function === '??' ? p.site : where(site)} to ${n} bytes`,
      evidence: {
        threads: p.threadsTotal,
        chunksLinked: p.chunksLinked,
        usedMax: p.usedBytesMax,
        untouchedBytes: p.untouchedBytes,
        firstChunk: p.firstChunkBytes,
        suggestedBytes: n,
      },
    });
  }
  return out;
}

/** All suggestions for the model, in a stable order (by kind, then by weight). */
export function suggest(model: Model, table: SymbolTable): Suggestion[] {
  return [...yieldSuggestions(model, table), ...blockingSuggestions(model, table), ...stackSuggestions(model, table), ...chunkSuggestions(model, table)];
}
