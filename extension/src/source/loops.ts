// The loops of a C source, from its syntax tree: the loop a sampled line belongs to, and where
// that loop's body is (the yield quick fix puts its call there). Comments, strings and macro
// bodies are no loops to the parser; a loop written with a macro (`FOREVER { ... }`) is not one
// either, since the parser sees no #define expanded.
import { statSync, readFileSync } from 'node:fs';
import { CParserUnavailable, withCTree } from './cparser.ts';

export type LoopKind = 'for' | 'while' | 'do-while';

const KINDS: Readonly<Record<string, LoopKind>> = { for_statement: 'for', while_statement: 'while', do_statement: 'do-while' };

/** A place in the text: 0-based line and character (UTF-16 code units, as JavaScript and VS Code count). */
export interface Point {
  readonly line: number;
  readonly character: number;
}

export interface LoopBody {
  readonly start: Point;
  readonly end: Point;
  /** a compound statement: `{` at start, `}` just before end */
  readonly braced: boolean;
  /** braced: where its first statement (not a comment) starts, if it has one */
  readonly first?: Point;
  /** the empty statement `;` */
  readonly empty: boolean;
}

export interface Loop {
  readonly kind: LoopKind;
  /** 1-based line and column of its keyword (`for`, `while`, `do`): the header line */
  readonly line: number;
  readonly column: number;
  /** 1-based line of its last character (a do-while's `while (...);`) */
  readonly endLine: number;
  /** how many loops it is nested in */
  readonly depth: number;
  readonly body: LoopBody;
}

/** Every loop of a C text, in document order. */
export function cLoops(text: string): Loop[] {
  return withCTree(text, (root) => {
    const out: Loop[] = [];
    const open: number[] = []; // where the loops around the current one end (offsets)
    for (const n of root.descendantsOfType(Object.keys(KINDS))) {
      const body = n.childForFieldName('body');
      if (!body) continue; // a loop the parser could not finish
      while (open.length > 0 && open.at(-1)! <= n.startIndex) open.pop();
      const braced = body.type === 'compound_statement';
      const stmt = braced ? body.namedChildren.find((c) => c.type !== 'comment') : undefined;
      const point = (p: { row: number; column: number }): Point => ({ line: p.row, character: p.column });
      out.push({
        kind: KINDS[n.type]!,
        line: n.startPosition.row + 1,
        column: n.startPosition.column + 1,
        endLine: n.endPosition.row + 1,
        depth: open.length,
        body: {
          start: point(body.startPosition),
          end: point(body.endPosition),
          braced,
          ...(stmt ? { first: point(stmt.startPosition) } : {}),
          empty: body.type === 'expression_statement' && body.namedChildCount === 0,
        },
      });
      open.push(n.endIndex);
    }
    return out;
  });
}

/**
 * The innermost loop whose lines include `line`. A loop's lines run from its header to its end,
 * so a line that is a loop's header belongs to that loop, not to the one around it.
 */
export function innermostLoop(loops: readonly Loop[], line: number): Loop | undefined {
  let best: Loop | undefined;
  for (const l of loops) if (l.line <= line && line <= l.endLine && (!best || l.depth > best.depth)) best = l;
  return best;
}

/** A file's loops, or why they are not known (it could not be read, or the parser is missing). */
export type FileLoops = { readonly loops: readonly Loop[] } | { readonly unread: string };

const cache = new Map<string, { readonly mtimeMs: number; readonly size: number; readonly result: FileLoops }>();

/** The loops of the C file at `path`, parsed again only when the file changed. */
export function fileLoops(path: string): FileLoops {
  let result: FileLoops;
  try {
    const st = statSync(path);
    const hit = cache.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.result;
    result = { loops: cLoops(readFileSync(path, 'utf8')) };
    cache.set(path, { mtimeMs: st.mtimeMs, size: st.size, result });
  } catch (err) {
    if (!(err instanceof CParserUnavailable) && !(err as NodeJS.ErrnoException).code) throw err;
    result = { unread: (err as Error).message };
  }
  return result;
}
