// Suggestions drawn from a model: where to yield, which external functions to annotate, and what
// first chunk to give threads spawned at a site. Each carries the figures it rests on.
import type { Model } from '../model/model.ts';
import { NULL_ADDRESS } from '../protocol/types.ts';
import { describe, nameChain, type SymbolInfo, type SymbolTable } from '../symbols/symbols.ts';

interface Base {
  readonly function?: string;
  readonly file?: string;
  readonly line?: number;
  readonly message: string;
}

export interface YieldSuggestion extends Base {
  readonly kind: 'yield';
  readonly evidence: { readonly samples: number; readonly runMaxMs: number; readonly quantumMs: number };
}
export interface AnnotateBlockingSuggestion extends Base {
  readonly kind: 'annotate-blocking';
  readonly evidence: { readonly stalls: number; readonly maxMs: number; readonly totalMs: number; readonly calledFrom?: string };
}
export interface AnnotateStackSuggestion extends Base {
  readonly kind: 'annotate-stack';
  readonly evidence: { readonly splits: number; readonly frameBytes: number };
}
export interface ChunkSizeSuggestion extends Base {
  readonly kind: 'chunk-size';
  readonly evidence: {
    readonly threads: number;
    readonly chunksLinked: number;
    readonly usedMax: number;
    readonly wasteBytes: number;
    readonly firstChunk: number;
    readonly suggestedBytes: number;
  };
}

export type Suggestion = YieldSuggestion | AnnotateBlockingSuggestion | AnnotateStackSuggestion | ChunkSizeSuggestion;
export type SuggestionKind = Suggestion['kind'];

/** Hot splits below this count are not worth an annotation. */
export const HOT_SPLIT_MIN = 10;
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

function yieldSuggestions(model: Model, table: SymbolTable): YieldSuggestion[] {
  const quantumMs = (model.hello?.quantumUs ?? 0) / 1000;
  const byPlace = new Map<string, { loc: ReturnType<typeof nameChain>; samples: number; runMaxNs: number }>();
  for (const s of model.samples.values()) {
    if (s.count < 1 || s.frames.length === 0) continue;
    const loc = nameChain(table, s.frames, true);
    if (!loc.own) continue;
    const key = `${loc.function}\0${loc.file}\0${loc.line}`;
    const g = byPlace.get(key);
    if (g) {
      g.samples += s.count;
      g.runMaxNs = Math.max(g.runMaxNs, s.runMaxNs);
    } else byPlace.set(key, { loc, samples: s.count, runMaxNs: s.runMaxNs });
  }
  return [...byPlace.values()]
    .sort((a, b) => b.runMaxNs - a.runMaxNs)
    .map(({ loc, samples, runMaxNs }) => ({
      kind: 'yield',
      ...at(loc),
      message: `thread ran ${ms(runMaxNs)} ms without blocking at ${where(loc)}: add a yield point in this loop`,
      evidence: { samples, runMaxMs: ms(runMaxNs), quantumMs },
    }));
}

function blockingSuggestions(model: Model, table: SymbolTable): AnnotateBlockingSuggestion[] {
  const byName = new Map<string, { name: string; from?: SymbolInfo; stalls: number; maxNs: number; totalNs: number }>();
  for (const s of model.stalls.values()) {
    if (s.target === NULL_ADDRESS && s.callsite === NULL_ADDRESS) continue;
    const target = s.target !== NULL_ADDRESS ? table.get(s.target, 'pc') : undefined;
    const pc = table.get(s.pc, 'pc');
    const name = target && target.function !== '??' ? target.function : !pc.own && pc.function !== '??' ? pc.function : undefined;
    if (name === undefined) continue;
    const from = s.callsite !== NULL_ADDRESS ? table.get(s.callsite, 'return') : undefined;
    const key = `${name}\0${from ? where(from) : ''}`;
    const g = byName.get(key);
    if (g) {
      g.stalls += s.count;
      g.maxNs = Math.max(g.maxNs, s.maxNs);
      g.totalNs += s.totalNs;
    } else byName.set(key, { name, ...(from ? { from } : {}), stalls: s.count, maxNs: s.maxNs, totalNs: s.totalNs });
  }
  return [...byName.values()]
    .sort((a, b) => b.totalNs - a.totalNs)
    .map(({ name, from, stalls, maxNs, totalNs }) => ({
      kind: 'annotate-blocking',
      function: name,
      ...(from && from.function !== '??' ? { file: from.file, line: from.line } : {}),
      message:
        `${name} stalled the whole scheduler ${stalls} time${stalls === 1 ? '' : 's'}, max ${ms(maxNs)} ms` +
        `${from && from.function !== '??' ? ` (called from ${where(from)})` : ''}: annotate ${name} as blocking`,
      evidence: { stalls, maxMs: ms(maxNs), totalMs: ms(totalNs), ...(from && from.function !== '??' ? { calledFrom: where(from) } : {}) },
    }));
}

function stackSuggestions(model: Model, table: SymbolTable): AnnotateStackSuggestion[] {
  const out: AnnotateStackSuggestion[] = [];
  for (const h of [...model.hotSplits.values()].sort((a, b) => b.count - a.count)) {
    if (h.count < HOT_SPLIT_MIN) continue;
    const from = table.get(h.callsite, 'return');
    if (!from.own) continue;
    out.push({
      kind: 'annotate-stack',
      ...at(from),
      message: `calls into external code at ${where(from)} need a big chunk (${h.frameBytes} bytes, split ${h.count} times): annotate its stack need`,
      evidence: { splits: h.count, frameBytes: h.frameBytes },
    });
  }
  return out;
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
    out.push({
      kind: 'chunk-size',
      ...at(site),
      message: `set the first chunk of threads spawned at ${site.function === '??' ? p.site : where(site)} to ${n} bytes`,
      evidence: {
        threads: p.threadsTotal,
        chunksLinked: p.chunksLinked,
        usedMax: p.usedBytesMax,
        wasteBytes: p.wasteBytes,
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
