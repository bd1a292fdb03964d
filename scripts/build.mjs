// Bundles the VS Code extension (extension/src/vscode/extension.ts) into dist/extension.js, the
// capriccio CLI (extension/src/cli/main.ts) into dist/cli.js, and the webview
// (webview/src/main.ts, one IIFE used by the VS Code panel and the standalone report) into
// dist/webview.js with its stylesheet dist/webview.css.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await Promise.all([
  build({
    entryPoints: [join(root, 'extension/src/vscode/extension.ts')],
    outfile: join(root, 'dist/extension.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode'],
    sourcemap: true,
    logLevel: 'warning',
  }),
  // The extension-host tests (run by scripts/test-vscode.mjs): the runner and one file per suite.
  build({
    entryPoints: [join(root, 'extension/test-vscode/index.ts'), join(root, 'extension/test-vscode/*.test.ts')],
    outdir: join(root, 'dist/test-vscode'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode', 'mocha'],
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
