// Bundles the VS Code extension (extension/src/vscode/extension.ts) into dist/extension.js, the
// capriccio CLI (extension/src/cli/main.ts) into dist/cli.js, and the webview
// (webview/src/main.ts, one IIFE used by the VS Code panel and the standalone report) into
// dist/webview.js with its stylesheet dist/webview.css. The C parser's WebAssembly (web-tree-sitter
// and tree-sitter-c, loaded by extension/src/source/cparser.ts) is copied beside the bundles.
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const require = createRequire(import.meta.url);
await mkdir(join(root, 'dist'), { recursive: true });
// Read at run time (beside the bundle, or from its package when running from source): external.
const wasm = ['web-tree-sitter/web-tree-sitter.wasm', 'tree-sitter-c/tree-sitter-c.wasm'];

await Promise.all([
  ...wasm.map((w) => copyFile(require.resolve(w), join(root, 'dist', basename(w)))),
  build({
    entryPoints: [join(root, 'extension/src/vscode/extension.ts')],
    outfile: join(root, 'dist/extension.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode', ...wasm],
    sourcemap: true,
    logLevel: 'warning',
  }),
  // The extension-host tests (run by extension/test-vscode/extension-host.spec.ts): the runner and one file per suite.
  build({
    entryPoints: [join(root, 'extension/test-vscode/index.ts'), join(root, 'extension/test-vscode/*.test.ts')],
    outdir: join(root, 'dist/test-vscode'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode', 'mocha', ...wasm],
    sourcemap: true,
    logLevel: 'warning',
  }),
  build({
    entryPoints: [join(root, 'extension/src/cli/main.ts')],
    outfile: join(root, 'dist/cli.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: wasm,
    sourcemap: true,
    logLevel: 'warning',
  }),
  build({
    entryPoints: [join(root, 'webview/src/main.ts')],
    outfile: join(root, 'dist/webview.js'),
    bundle: true,
    platform: 'browser',
    target: 'es2020',
    format: 'iife',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  }),
  build({
    entryPoints: [join(root, 'webview/src/style.css')],
    outfile: join(root, 'dist/webview.css'),
    bundle: true,
    minify: true,
    logLevel: 'warning',
  }),
]);
