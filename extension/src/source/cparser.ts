// The C parser: tree-sitter's C grammar (the WebAssembly build that npm's tree-sitter-c ships) on
// web-tree-sitter. Loading compiles two WebAssembly modules, which web-tree-sitter only does
// asynchronously, so each entry point (the CLI, the VS Code extension, a test) awaits
// loadCParser() once; parsing is synchronous after that, which lets the summary, built
// synchronously on every refresh, use it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// The CommonJS build (`require`): the ES module build reads import.meta.url, which the CommonJS
// bundles (scripts/build.mjs) do not have.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS build, as said above
import TreeSitter = require('web-tree-sitter');

const { Language, Parser } = TreeSitter;
type Parser = TreeSitter.Parser;
type Node = TreeSitter.Node;

/** Why C sources cannot be parsed here (a broken installation): sources are then treated as unread. */
export class CParserUnavailable extends Error {}

/**
 * A .wasm file: beside the bundle (scripts/build.mjs copies it into dist/; the extension-host
 * tests run from dist/test-vscode/), else from its package when running from source.
 */
function wasmFile(name: string, fromPackage: () => string): string {
  for (const dir of [__dirname, join(__dirname, '..')]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return fromPackage();
}

let parser: Parser | undefined;
let failure: string | undefined;
let loading: Promise<void> | undefined;

/** Loads the parser once per process; never rejects (a failure is reported by withCTree). */
export function loadCParser(): Promise<void> {
  loading ??= (async () => {
    try {
      await Parser.init({ wasmBinary: readFileSync(wasmFile('web-tree-sitter.wasm', () => require.resolve('web-tree-sitter/web-tree-sitter.wasm'))) });
      const c = await Language.load(readFileSync(wasmFile('tree-sitter-c.wasm', () => require.resolve('tree-sitter-c/tree-sitter-c.wasm'))));
      const p = new Parser();
      p.setLanguage(c);
      parser = p;
    } catch (err) {
      failure = `the C parser could not be loaded: ${(err as Error).message}`;
    }
  })();
  return loading;
}

/**
 * `use` applied to the syntax tree of `text` (the tree lives in WebAssembly memory and is freed
 * afterwards, so nothing of it may be kept). Throws CParserUnavailable when the parser failed to
 * load, and an Error when loadCParser() was never awaited (a mistake in the caller).
 */
export function withCTree<T>(text: string, use: (root: Node) => T): T {
  if (failure !== undefined) throw new CParserUnavailable(failure);
  if (!parser) throw new Error('the C parser is not loaded: await loadCParser() first');
  const tree = parser.parse(text);
  if (!tree) throw new CParserUnavailable('the C parser returned no tree');
  try {
    return use(tree.rootNode);
  } finally {
    tree.delete();
  }
}
