// The static stack analysis as suggestions (the same Suggestion union as the runtime's), as one
// JSON object for `capriccio analyze --json`, and as text.
import type { AnnotateStackSuggestion, ChunkSizeSuggestion, Suggestion } from '../suggest.ts';
import { CHUNK_RESERVE, DEFAULT_FIRST_CHUNK, MAX_FIRST_CHUNK, type EntryResult, type StackAnalysis } from './graph.ts';

const place = (file: string, line: number): string => (file === '' ? '' : line > 0 ? `${file}:${line}` : file);
const at = (file: string, line: number): Pick<Suggestion, 'file' | 'line'> => (file === '' || line <= 0 ? {} : { file, line });

/**
 * Suggestions from the call graph: annotate the stack need of each external function the
 * program calls (the call graph has no size for it), and give threads that start at an entry
 * other than main a first chunk that holds their deepest path. These carry no runtime figures:
 * `splits` and `threads` are 0, and `usedMax` is the static estimate of the frames' need.
 */
export function stackSuggestions(a: StackAnalysis): Suggestion[] {
  const out: Suggestion[] = [];
  for (const c of a.annotationCandidates) {
    const first = c.callers[0];
    const more = c.callers.length - 1;
    const s: AnnotateStackSuggestion = {
      kind: 'annotate-stack',
      function: c.function,
      ...(first ? at(first.file, first.line) : {}),
      message:
        `${c.function} is external: the call graph has no stack size for it` +
        (first ? ` (called from ${first.function}${first.file ? ` at ${place(first.file, first.line)}` : ''}${more > 0 ? ` and ${more} more` : ''})` : '') +
        `: annotate its stack need`,
      evidence: { splits: 0, frameBytes: 0 },
    };
    out.push(s);
  }
  // Functions nobody calls are taken for thread functions only in a program that spawns threads.
  const spawns = a.spawnSites.length > 0;
  for (const e of a.entries) {
    // main's first chunk is the runtime's choice; a first chunk only helps frames it can hold.
    if (e.reason === 'main' || e.chunkCapped || e.recommendedChunkBytes === DEFAULT_FIRST_CHUNK) continue;
    if (e.reason === 'no callers' && !spawns) continue;
    const s: ChunkSizeSuggestion = {
      kind: 'chunk-size',
      function: e.name,
      ...at(e.file, e.line),
      message:
        `set the first chunk of threads that start at ${e.name}${e.file ? ` (${place(e.file, e.line)})` : ''} to ${e.recommendedChunkBytes} bytes: ` +
        (e.deepestBytes === null
          ? `their deepest path through one round of recursion needs ${e.boundedBytes} bytes (deeper recursion links chunks)`
          : `their deepest path needs ${e.deepestBytes} bytes`),
      evidence: {
        threads: 0,
        chunksLinked: 0,
        usedMax: e.boundedBytes,
        untouchedBytes: 0,
        firstChunk: DEFAULT_FIRST_CHUNK,
        suggestedBytes: e.recommendedChunkBytes,
      },
    };
    out.push(s);
  }
  return out;
}

export interface AnalyzeJson {
  readonly callGraphs: readonly string[];
  readonly functions: number;
  readonly entries: readonly {
    readonly name: string;
    readonly file: string;
    readonly line: number;
    readonly reason: EntryResult['reason'];
    readonly deepestBytes: number | null;
    readonly unbounded?: true;
    readonly recursion?: readonly string[];
    readonly boundedBytes: number;
    readonly approximate?: true;
    readonly path: readonly { function: string; file: string; line: number; bytes: number | null; lacking?: string; callFile?: string; callLine?: number }[];
    readonly lacking: EntryResult['lacking'];
    readonly recommendedChunkBytes: number;
    readonly chunkCapped: boolean;
  }[];
  readonly cycles: readonly (readonly string[])[];
  readonly annotationCandidates: StackAnalysis['annotationCandidates'];
  readonly indirectCalls: StackAnalysis['indirectCalls'];
  readonly spawnSites: StackAnalysis['spawnSites'];
  readonly checkpoints: readonly { function: string; file: string; line: number; reason: string }[];
  readonly suggestions: readonly Suggestion[];
  readonly warnings: readonly string[];
}

export function analysisJson(a: StackAnalysis, callGraphs: readonly string[]): AnalyzeJson {
  return {
    callGraphs,
    functions: a.functions,
    entries: a.entries.map((e) => ({
      name: e.name,
      file: e.file,
      line: e.line,
      reason: e.reason,
      deepestBytes: e.deepestBytes,
      ...(e.recursion ? { unbounded: true as const, recursion: e.recursion } : {}),
      boundedBytes: e.boundedBytes,
      ...(e.approximate ? { approximate: true as const } : {}),
      path: e.path.map(({ key: _key, ...step }) => step),
      lacking: e.lacking,
      recommendedChunkBytes: e.recommendedChunkBytes,
      chunkCapped: e.chunkCapped,
    })),
    cycles: a.cycles.map((c) => c.functions),
    annotationCandidates: a.annotationCandidates,
    indirectCalls: a.indirectCalls,
    spawnSites: a.spawnSites,
    checkpoints: a.checkpoints.map(({ key: _key, ...c }) => c),
    suggestions: stackSuggestions(a),
    warnings: a.warnings,
  };
}

/** Calls lacking information listed per entry in the text (all of them in --json). */
const LACKING_SHOWN = 4;

const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;

export function analysisText(a: StackAnalysis, callGraphs: readonly string[]): string {
  const lines: string[] = [];
  lines.push(
    `stack analysis of ${plural(callGraphs.length, 'call graph')}: ${plural(a.functions, 'function')}, ` +
      `${plural(a.entries.length, 'thread entry', 'thread entries')}` +
      `, ${plural(a.cycles.length, 'recursion cycle')}, ${plural(a.annotationCandidates.length, 'external function')}`,
  );
  for (const e of a.entries) {
    lines.push('');
    const why = e.reason === 'main' ? 'main' : e.reason === 'named' ? 'named with --entry' : 'nobody calls it: a thread function?';
    const head = `entry ${e.name}${e.file ? ` (${place(e.file, e.line)})` : ''} [${why}]: `;
    lines.push(
      head +
        (e.deepestBytes === null
          ? `unbounded: recursion through ${(e.recursion ?? []).join(' → ')}; deepest path without repeating a function ${e.boundedBytes} bytes`
          : `deepest path ${e.deepestBytes} bytes`) +
        (e.approximate ? ' (search cut short: at least this)' : ''),
    );
    const width = Math.max(...e.path.map((s) => s.function.length));
    for (const s of e.path) {
      const bytes = s.runtime ? '-' : s.bytes === null ? '?' : String(s.bytes);
      const note = s.runtime
        ? '  Capriccio runtime: grows the stack it needs'
        : s.lacking === 'external'
          ? '  external: no stack size'
          : s.lacking === 'indirect'
            ? '  indirect call: callee unknown'
            : s.lacking === 'dynamic'
              ? '  dynamic frame: more at run time'
              : '';
      const loc = place(s.file, s.line);
      lines.push(`  ${bytes.padStart(7)}  ${s.function.padEnd(width)}  ${loc}${note}`);
    }
    lines.push(`  ${String(e.boundedBytes).padStart(7)}  total`);
    const lack = e.lacking.filter((l) => l.kind !== 'dynamic' || !e.path.some((s) => s.function === l.function && s.lacking));
    if (lack.length > 0) {
      const shown = lack.slice(0, LACKING_SHOWN).map((l) => `${l.kind === 'indirect' ? 'an indirect call' : l.function} (${l.kind}, from ${l.from.function}${l.from.file ? ` at ${place(l.from.file, l.from.line)}` : ''})`);
      const more = lack.length - shown.length;
      lines.push(`  lacking stack information on this path: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
    }
    if (e.chunkCapped) {
      lines.push(`  recommended first chunk: ${e.recommendedChunkBytes} bytes (the cap: the frames need more than ${MAX_FIRST_CHUNK - CHUNK_RESERVE}; rely on linking further chunks)`);
    } else {
      lines.push(`  recommended first chunk: ${e.recommendedChunkBytes} bytes (${e.recommendedChunkBytes - CHUNK_RESERVE} for frames + ${CHUNK_RESERVE} runtime reserve; default ${DEFAULT_FIRST_CHUNK})`);
    }
  }
  lines.push('', a.cycles.length === 0 ? 'recursion cycles: none' : 'recursion cycles:');
  for (const c of a.cycles) {
    const rest = c.functions.filter((f) => !c.walk.includes(f));
    lines.push(`  ${c.walk.join(' → ')}${rest.length > 0 ? ` (with ${rest.join(', ')} in the same cycle)` : ''}`);
  }
  lines.push('', a.annotationCandidates.length === 0 ? 'annotation candidates: none' : 'annotation candidates (external functions without a stack size):');
  for (const c of a.annotationCandidates) {
    const shown = c.callers.slice(0, 3).map((x) => `${x.function}${x.file ? ` at ${place(x.file, x.line)}` : ''}`);
    const more = c.callers.length - shown.length;
    lines.push(`  ${c.function}: called from ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
  }
  if (a.indirectCalls.length > 0) {
    lines.push('', 'indirect calls (callee unknown to the call graph):');
    for (const c of a.indirectCalls) lines.push(`  in ${c.function}${c.file ? ` at ${place(c.file, c.line)}` : ''}`);
  }
  if (a.spawnSites.length > 0) {
    lines.push('', 'spawn sites (the thread function is not in the call graph: see the entries above):');
    for (const c of a.spawnSites) lines.push(`  ${c.spawn} in ${c.function}${c.file ? ` at ${place(c.file, c.line)}` : ''}`);
  }
  lines.push('', a.checkpoints.length === 0 ? 'checkpoints: none needed' : 'checkpoints (where Capriccio would check the stack):');
  for (const c of a.checkpoints) lines.push(`  ${c.function}${c.file ? ` ${place(c.file, c.line)}` : ''}: ${c.reason}`);
  const suggestions = stackSuggestions(a);
  if (suggestions.length > 0) {
    lines.push('', 'suggestions:');
    for (const s of suggestions) lines.push(`  [${s.kind}] ${s.message}`);
  }
  if (a.warnings.length > 0) {
    lines.push('', 'warnings:');
    for (const w of a.warnings) lines.push(`  ${w}`);
  }
  return lines.join('\n') + '\n';
}
