// The quick fixes behind Capriccio's suggestions, as plain text edits (no VS Code here, so they
// are tested from Node):
//   yield            a yield point as the first statement of the hot loop's body (cap_yield, or
//                    sched_yield for code that does not include capriccio.h), the loop found in
//                    the C syntax tree (source/loops.ts);
//   annotate-*       an entry in capriccio.annotations.json;
//   chunk-size       the first-chunk size at the spawn call (a stack-size attribute for
//                    pthread_create, which the runtime takes as the first chunk in split mode, or
//                    cap_spawn options).
// Lines are 1-based in suggestions and 0-based in edits (as in VS Code).
import type { Suggestion } from '../analysis/suggest.ts';
import { cLoops, innermostLoop, type LoopBody } from '../source/loops.ts';

/** Replace [line:character, endLine:endCharacter) with newText (0-based). */
export interface TextEdit {
  readonly line: number;
  readonly character: number;
  readonly endLine: number;
  readonly endCharacter: number;
  readonly newText: string;
}

export interface SourceFix {
  readonly title: string;
  readonly edits: readonly TextEdit[];
}

/** `text` with the edits made (as an editor makes them: all against the original text). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const lines = text.split('\n');
  const offset = (l: number, c: number): number => lines.slice(0, l).reduce((n, s) => n + s.length + 1, 0) + c;
  // Later edits first, so earlier offsets stay right.
  const sorted = [...edits].sort((a, b) => offset(b.line, b.character) - offset(a.line, a.character));
  let out = text;
  for (const e of sorted) out = out.slice(0, offset(e.line, e.character)) + e.newText + out.slice(offset(e.endLine, e.endCharacter));
  return out;
}

const insertAt = (line: number, character: number, newText: string): TextEdit => ({ line, character, endLine: line, endCharacter: character, newText });

/** A line's code and its trailing comment ("// ..." or a closing "/* ... *\/"), split. */
function splitComment(s: string): { code: string; comment: string } {
  const m = /^(.*?)(\s*(?:\/\/.*|\/\*.*\*\/\s*))$/.exec(s);
  return m ? { code: m[1]!, comment: m[2]! } : { code: s, comment: '' };
}

const indentOf = (s: string): string => /^\s*/.exec(s)![0];

/** The nearest line above `i` with code on it, or -1. */
function previousCode(lines: readonly string[], i: number): number {
  for (let j = i - 1; j >= 0; j--) {
    const code = splitComment(lines[j]!).code.trim();
    if (code !== '' && !code.startsWith('*') && !code.startsWith('/*')) return j;
  }
  return -1;
}

/** A control line whose statement follows without braces: `for (...)`, `if (...)`, `else`, `do`. */
const isBracelessHeader = (code: string): boolean => /^(for|while|if|else if|switch)\b.*\)$/.test(code) || /^(else|do)$/.test(code);

const includes = (text: string, header: string): boolean => new RegExp(`^\\s*#\\s*include\\s*[<"]${header.replace('.', '\\.')}[>"]`, 'm').test(text);

/** An #include added after the last one (or at the top). */
function includeEdit(lines: readonly string[], header: string): TextEdit {
  let last = -1;
  lines.forEach((l, i) => {
    if (/^\s*#\s*include\b/.test(l)) last = i;
  });
  return insertAt(last + 1, 0, `#include <${header}>\n`);
}

/** The call as the first statement of a loop's body: after its `{`, or with braces put around it. */
function yieldInBody(lines: readonly string[], body: LoopBody, call: string): TextEdit[] {
  const { start, end } = body;
  if (!body.braced) {
    if (body.empty) {
      const space = /\S/.test(lines[start.line]![start.character - 1] ?? ' ') ? ' ' : '';
      return [{ line: start.line, character: start.character, endLine: end.line, endCharacter: end.character, newText: `${space}{ ${call} }` }];
    }
    return [insertAt(start.line, start.character, `{ ${call} `), insertAt(end.line, end.character, ' }')];
  }
  const line = lines[start.line]!;
  const open = start.character + 1;
  // Code after `{` on its line (or a comment that goes on past it): the call goes right after `{`.
  if (!/^\s*(?:\/\*.*?\*\/\s*)*(?:\/\/.*)?$/.test(line.slice(open)) || start.line + 1 >= lines.length) {
    return [insertAt(start.line, open, ` ${call}${line[open] === '}' ? ' ' : ''}`)];
  }
  // `{` ends its line (but for a comment): the call gets a line of its own, indented as the statement after it.
  const before = body.first ? lines[body.first.line]!.slice(0, body.first.character) : undefined;
  const indent = before !== undefined && before.trim() === '' ? before : indentOf(line) + (lines.some((l) => l.startsWith('\t')) ? '\t' : '    ');
  return [insertAt(start.line + 1, 0, `${indent}${call}\n`)];
}

/**
 * A yield point as the first statement of a loop's body: the loop whose header is at `line` and
 * `column` (a yield suggestion's loop), else the innermost loop around `line`. Undefined when no
 * loop is there.
 */
export function yieldFix(text: string, line: number, column?: number): SourceFix | undefined {
  const loops = cLoops(text);
  const loop = (column !== undefined ? loops.find((l) => l.line === line && l.column === column) : undefined) ?? innermostLoop(loops, line);
  if (!loop) return undefined;
  const capriccio = includes(text, 'capriccio.h');
  const call = capriccio ? 'cap_yield();' : 'sched_yield();';
  const lines = text.split('\n');
  const extra = !capriccio && !includes(text, 'sched.h') ? [includeEdit(lines, 'sched.h')] : [];
  return { title: `Insert ${call.slice(0, -1)} in this loop (Capriccio)`, edits: [...extra, ...yieldInBody(lines, loop.body, call)] };
}

// ---- the annotations file ---------------------------------------------------------------

export interface Annotation {
  readonly blocking?: true;
  readonly stackBytes?: number;
}

export class AnnotationsFileError extends Error {}

/**
 * The annotations file's text with `name` annotated (merged into what is there); `text` undefined
 * creates the file. Invalid existing content is an error, never overwritten.
 */
export function annotate(text: string | undefined, name: string, a: Annotation): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new AnnotationsFileError(`"${name}" is not a C function name`);
  let doc: Record<string, unknown> = {};
  if (text !== undefined && text.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new AnnotationsFileError(`not valid JSON (${(err as Error).message}); fix it first`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new AnnotationsFileError('expected an object with "functions"');
    doc = parsed as Record<string, unknown>;
  }
  const fns = doc['functions'] ?? {};
  if (typeof fns !== 'object' || fns === null || Array.isArray(fns)) throw new AnnotationsFileError('"functions" must be an object');
  const prev = (fns as Record<string, unknown>)[name];
  const merged = { ...(typeof prev === 'object' && prev !== null ? prev : {}), ...a };
  return JSON.stringify({ ...doc, functions: { ...(fns as Record<string, unknown>), [name]: merged } }, null, 2) + '\n';
}

/** Functions called on a line of C: the candidates for the external function to annotate. */
export function calledFunctions(sourceLine: string): string[] {
  const code = splitComment(sourceLine).code.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const keywords = new Set(['if', 'for', 'while', 'switch', 'return', 'sizeof', 'do', 'else', '_Alignof', 'defined']);
  const out: string[] = [];
  for (const m of code.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
    const n = m[1]!;
    if (!keywords.has(n) && !out.includes(n)) out.push(n);
  }
  return out;
}

/** The room given to an external function annotated for its stack need, when nothing says more. */
export const DEFAULT_ANNOTATED_STACK = 16 * 1024;

/**
 * The annotations a suggestion writes, as it reads: annotate-blocking names the function the program
 * links against; annotate-stack names its callees and their stack when they were read from the
 * program's code, all of them, since the chunk goes only when none is left (otherwise only the call
 * site is known, and the caller picks among the functions called there: none here).
 */
export function suggestedAnnotations(s: Suggestion): readonly { readonly name: string; readonly annotation: Annotation }[] {
  if (s.kind === 'annotate-blocking' && s.function !== undefined) return [{ name: s.function, annotation: { blocking: true } }];
  if (s.kind === 'annotate-stack' && s.function !== undefined && s.evidence.stackBytes !== undefined) {
    const stackBytes = s.evidence.stackBytes;
    return (s.evidence.functions?.split(', ') ?? [s.function]).map((name) => ({ name, annotation: { stackBytes } }));
  }
  return [];
}

// ---- first chunk at a spawn site ----------------------------------------------------------

/**
 * Sets the first chunk of threads spawned on `line` to `bytes`: pthread_create gets a stack-size
 * attribute (the runtime takes a stack size up to 64 KiB as the first chunk in split mode);
 * cap_spawn(fn, arg, NULL) gets options. When `line` is not a spawn call but `entry` is given
 * (the static analysis names the thread function), the first spawn of `entry` in the text is used.
 */
export function chunkFix(text: string, line: number, bytes: number, entry?: string): SourceFix | undefined {
  const lines = text.split('\n');
  const spawn = /\b(pthread_create|cap_spawn)\s*\(/;
  let i = line - 1;
  if (!spawn.test(lines[i] ?? '')) {
    if (entry === undefined) return undefined;
    i = lines.findIndex((l) => spawn.test(l) && new RegExp(`\\b${entry}\\b`).test(l));
    if (i < 0) return undefined;
  }
  const target = lines[i]!;
  const title = `Give threads spawned here a ${bytes}-byte first chunk (Capriccio)`;
  const pc = /\bpthread_create\s*\(\s*([^,]+),\s*NULL\s*,/.exec(target);
  if (pc) {
    // The attribute is set up before the statement — before its loop or if when it is their
    // only statement, without braces.
    const p = previousCode(lines, i);
    const at = p >= 0 && isBracelessHeader(splitComment(lines[p]!).code.trim()) ? p : i;
    const indent = indentOf(lines[at]!);
    const attr = `cap_attr_${i + 1}`;
    const start = pc.index + pc[0].lastIndexOf('NULL');
    return {
      title,
      edits: [
        insertAt(at, 0, `${indent}pthread_attr_t ${attr}; /* Capriccio: the first stack chunk of these threads */\n${indent}pthread_attr_init(&${attr});\n${indent}pthread_attr_setstacksize(&${attr}, ${bytes});\n`),
        { line: i, character: start, endLine: i, endCharacter: start + 4, newText: `&${attr}` },
      ],
    };
  }
  const cs = /\bcap_spawn\s*\(([^,]+),([^,]+),\s*NULL\s*\)/.exec(target);
  if (cs) {
    const start = cs.index + cs[0].lastIndexOf('NULL');
    return { title, edits: [{ line: i, character: start, endLine: i, endCharacter: start + 4, newText: `&(cap_spawn_opts_t){ .stack_size = ${bytes} }` }] };
  }
  return undefined;
}
