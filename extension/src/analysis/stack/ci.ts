// Parsing one `.ci` file: the per-object call graph with stack sizes that GCC writes for
// `-fcallgraph-info=su` (VCG syntax). What GCC 12 really writes, one element a line:
//
//   graph: { title: "deep.c"
//   node: { title: "deep.c:descend" label: "descend\ndeep.c:17:48\n1040 bytes (static)" }
//   node: { title: "usleep" label: "usleep\n/usr/include/unistd.h:480:12" shape : ellipse }
//   node: { title: "__indirect_call" label: "Indirect Call Placeholder" shape : ellipse }
//   edge: { sourcename: "deep.c:descend" targetname: "usleep" label: "deep.c:22:3" }
//   edge: { sourcename: "vla" targetname: "__morestack_allocate_stack_space" }
//   }
//
// - A function with internal linkage is titled "UNIT:name" (UNIT = the graph's title, even when
//   it was defined in a header); one with external linkage by its symbol name.
// - A node drawn as an ellipse is declared but not defined in this unit: no size.
// - Labels separate their lines with the two characters `\n`; sizes read "N bytes (static)",
//   "(dynamic)" or "(dynamic,bounded)"; `-fcallgraph-info=su,da` appends more lines.
// - Strings are written verbatim: a `"` or `\` in a path is not escaped (titles drop the `"`,
//   labels keep it). A string therefore ends at the first `"` on its line that is followed by the
//   next attribute (`KEY:`), the element's `}` or the end of the line.
// - An assembler name given verbatim is titled with a leading `*` (`*__sysv_signal`).
// - An edge may name a node declared further down, or (rarely) never.

export type FrameKind = 'static' | 'dynamic' | 'bounded' | 'external';

export interface CiFunction {
  /** the node's title: "UNIT:name" (internal linkage) or the symbol name */
  readonly id: string;
  /** the function's name as written in the source (for an external function: its symbol) */
  readonly name: string;
  /** where it is defined or declared ('' when GCC gives no place, e.g. built-ins) */
  readonly file: string;
  readonly line: number;
  /** frame size in bytes, return address included; null for an external function */
  readonly bytes: number | null;
  readonly kind: FrameKind;
  /** internal linkage (static): only calls from the same unit can reach it */
  readonly local: boolean;
}

export interface CiCall {
  readonly from: string;
  readonly to: string;
  /** the call site ('' and 0 when GCC gives none) */
  readonly file: string;
  readonly line: number;
}

export interface CiGraph {
  /** the .ci file this came from */
  readonly path: string;
  /** the compilation unit (the graph's title) */
  readonly unit: string;
  readonly functions: Map<string, CiFunction>;
  readonly calls: CiCall[];
}

/** A .ci file that is not what GCC writes: names the file and the line. */
export class CiParseError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

/** The title GCC gives the placeholder callee of every call through a pointer. */
export const INDIRECT_CALL = '__indirect_call';

const SIZE_RE = /^(\d+) bytes \(([a-z,]+)\)$/;
const LOCATION_RE = /^(.*):(\d+):(\d+)$/;
const IDENT_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
/** after the closing quote of a string: the next attribute, the end of the element or of the line */
const STRING_END_RE = /[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*:|[ \t]*\}|[ \t]*(?:\r?\n|$)/y;

type Attrs = Map<string, { value: string; line: number }>;

class Reader {
  pos = 0;
  private readonly lineStarts: number[] = [0];

  constructor(
    readonly text: string,
    readonly file: string,
  ) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
  }

  lineAt(pos: number): number {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  fail(reason: string, pos = this.pos): never {
    throw new CiParseError(this.file, this.lineAt(pos), reason);
  }

  failAtLine(reason: string, line: number): never {
    throw new CiParseError(this.file, line, reason);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  atEnd(): boolean {
    this.skipSpace();
    return this.pos >= this.text.length;
  }

  peek(): string {
    this.skipSpace();
    return this.text[this.pos] ?? '';
  }

  /** what is at the cursor, for messages */
  found(): string {
    this.skipSpace();
    if (this.pos >= this.text.length) return 'end of file';
    const rest = this.text.slice(this.pos, this.pos + 20).split('\n')[0]!;
    return `'${rest}'`;
  }

  expect(ch: string, what: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}' ${what}, found ${this.found()}`);
    this.pos++;
  }

  ident(what: string): string {
    this.skipSpace();
    IDENT_RE.lastIndex = this.pos;
    const m = IDENT_RE.exec(this.text);
    if (!m) this.fail(`expected ${what}, found ${this.found()}`);
    this.pos += m[0].length;
    return m[0];
  }

  /** a quoted string (verbatim, see above) or a bare word (`ellipse`, `12`) */
  value(key: string): string {
    this.skipSpace();
    const start = this.pos;
    if (this.text[start] !== '"') {
      const m = /[^\s{}"]+/y;
      m.lastIndex = start;
      const word = m.exec(this.text);
      if (!word) this.fail(`expected a value for '${key}', found ${this.found()}`);
      this.pos += word[0].length;
      return word[0];
    }
    const eol = this.text.indexOf('\n', start);
    const end = eol < 0 ? this.text.length : eol;
    for (let q = this.text.indexOf('"', start + 1); q >= 0 && q < end; q = this.text.indexOf('"', q + 1)) {
      STRING_END_RE.lastIndex = q + 1;
      if (STRING_END_RE.test(this.text)) {
        this.pos = q + 1;
        return this.text.slice(start + 1, q);
      }
    }
    return this.fail(`unterminated string for '${key}'`, start);
  }

  /** `KEY: VALUE` pairs up to the closing `}` of an element */
  attrs(element: string, open: number): Attrs {
    const out: Attrs = new Map();
    for (;;) {
      const c = this.peek();
      if (c === '}') {
        this.pos++;
        return out;
      }
      if (c === '') this.fail(`${element} opened here is never closed`, open);
      const at = this.pos;
      const key = this.ident(`an attribute of ${element} or '}'`);
      this.expect(':', `after '${key}'`);
      if (this.peek() === '{') this.fail(`'${key}' cannot hold an element inside ${element}`);
      out.set(key, { value: this.value(key), line: this.lineAt(at) });
    }
  }
}

/** GCC marks an assembler name given verbatim (glibc's `signal` is `*__sysv_signal`) with `*`. */
const symbolName = (title: string): string => (title.startsWith('*') ? title.slice(1) : title);

function parseLocation(text: string): { file: string; line: number } {
  const m = LOCATION_RE.exec(text);
  return m ? { file: m[1]!, line: Number(m[2]) } : { file: '', line: 0 };
}

function kindOf(qualifier: string): FrameKind | undefined {
  switch (qualifier) {
    case 'static':
      return 'static';
    case 'dynamic':
      return 'dynamic';
    case 'dynamic,bounded':
      return 'bounded';
    default:
      return undefined;
  }
}

function toFunction(r: Reader, unit: string, attrs: Attrs, line: number): CiFunction {
  const title = attrs.get('title')?.value;
  if (title === undefined || title === '') r.failAtLine('node without a title', line);
  const label = attrs.get('label')?.value ?? title;
  const external = attrs.get('shape')?.value === 'ellipse';
  // GCC drops the quotes of the unit's name from the titles (but not from the labels).
  const prefix = `${unit.replaceAll('"', '')}:`;
  const local = title.length > prefix.length && (title.startsWith(prefix) || title.startsWith(`${unit}:`));
  const lines = label.split('\\n');
  const sizeAt = lines.findIndex((l, i) => i >= 2 && SIZE_RE.test(l));
  if (external) {
    // Declared here, defined elsewhere: named by its symbol (fwrite, not __builtin_fwrite).
    return { id: title, name: symbolName(title), ...parseLocation(lines.slice(1).join('\\n')), bytes: null, kind: 'external', local };
  }
  if (sizeAt < 0) {
    r.failAtLine(`function ${lines[0]} has no stack size (compile with -fcallgraph-info=su, as capriccio cc does)`, line);
  }
  const [, bytes, qualifier] = SIZE_RE.exec(lines[sizeAt]!)!;
  const kind = kindOf(qualifier!);
  if (kind === undefined) r.failAtLine(`function ${lines[0]}: unknown stack size kind '(${qualifier})'`, line);
  return {
    id: title,
    name: lines[0]!,
    ...parseLocation(lines.slice(1, sizeAt).join('\\n')),
    bytes: Number(bytes),
    kind,
    local,
  };
}

/** Parses the text of one .ci file; `path` names it in errors. Throws CiParseError. */
export function parseCi(text: string, path: string): CiGraph {
  const r: Reader = new Reader(text, path);
  const functions = new Map<string, CiFunction>();
  const calls: CiCall[] = [];
  const mentioned: { id: string; line: number }[] = [];
  let unit: string | undefined;
  let graphs = 0;
  while (!r.atEnd()) {
    const open = r.pos;
    const word = r.ident("'graph:'");
    if (word !== 'graph') r.fail(`expected 'graph:', found '${word}'`, open);
    r.expect(':', "after 'graph'");
    r.expect('{', "after 'graph:'");
    graphs++;
    for (;;) {
      const c = r.peek();
      if (c === '}') {
        r.pos++;
        break;
      }
      if (c === '') r.fail('graph opened here is never closed', open);
      const at = r.pos;
      const key = r.ident("'node:', 'edge:', an attribute or '}'");
      r.expect(':', `after '${key}'`);
      if (r.peek() !== '{') {
        const value = r.value(key);
        if (key === 'title') unit ??= value;
        continue;
      }
      r.pos++;
      const line = r.lineAt(at);
      const attrs = r.attrs(key, at);
      if (key === 'node') {
        const f = toFunction(r, unit ?? '', attrs, line);
        const old = functions.get(f.id);
        // A definition wins over a declaration of the same function.
        if (!old || (old.kind === 'external' && f.kind !== 'external')) functions.set(f.id, f);
      } else if (key === 'edge') {
        const from = attrs.get('sourcename')?.value;
        const to = attrs.get('targetname')?.value;
        if (from === undefined || to === undefined) r.fail(`edge without ${from === undefined ? 'sourcename' : 'targetname'}`, at);
        const site = attrs.has('label') ? parseLocation(attrs.get('label')!.value) : { file: '', line: 0 };
        calls.push({ from, to, ...site });
        mentioned.push({ id: from, line }, { id: to, line });
      }
      // Other elements (GCC writes none) are skipped.
    }
  }
  if (graphs === 0) r.fail('empty file: expected \'graph: {\'', 0);
  // Edges naming a node that was never declared: an external function without a place.
  for (const m of mentioned) {
    if (!functions.has(m.id)) {
      functions.set(m.id, { id: m.id, name: symbolName(m.id), file: '', line: 0, bytes: null, kind: 'external', local: false });
    }
  }
  return { path, unit: unit ?? '', functions, calls };
}
