// The contracts between the Node side and the webview live in shared/, which neither side owns:
// the import boundaries, the webview's type check without Node's types, the message validators
// checking every field, the history derived from the resource list, the DOM ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { root } from './prerequisites.ts';
import { ROOT_ID } from '../../shared/domids.ts';
import { parseHostMessage, parseWebviewMessage } from '../../shared/messages.ts';
import { HISTORY_FIELDS } from '../../shared/protocol.ts';
import type { ViewData } from '../../shared/view.ts';
import { Model } from '../src/model/model.ts';
import { buildViewData } from '../src/report/viewdata.ts';
import { syntheticView } from '../src/report/synthetic.ts';
import { SymbolTable } from '../src/symbols/symbols.ts';
import { fullSnapshot, hello } from './frames.ts';

// ---- import boundaries -------------------------------------------------------------------

/** The module specifiers a TypeScript source names: static, type-only, re-exports, dynamic, require. */
function specifiers(source: string): string[] {
  // Comments out first (a `//` after a space or at a line's start: not the one in 'http://...').
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1');
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((p) => [...code.matchAll(p)].map((m) => m[1]!));
}

const NODE_BUILTINS = new Set(builtinModules);
const isNodeBuiltin = (s: string): boolean => s.startsWith('node:') || NODE_BUILTINS.has(s.split('/')[0]!);

/**
 * What `file` (relative to the root, with /) may not import, as messages: webview/src nothing of
 * extension/, nor Node or VS Code; extension/src nothing of webview/; shared/ nothing but shared/.
 */
function crossings(file: string, source: string): string[] {
  const tree = file.split('/')[0]!;
  const out: string[] = [];
  for (const s of specifiers(source)) {
    const relativeSpec = s.startsWith('.');
    const target = relativeSpec ? relative(root, resolve(root, dirname(file), s)).split(sep).join('/') : undefined;
    const into = target?.split('/')[0];
    const bad =
      tree === 'shared'
        ? !relativeSpec || into !== 'shared'
        : tree === 'webview'
          ? into === 'extension' || (!relativeSpec && (s === 'vscode' || isNodeBuiltin(s)))
          : into === 'webview';
    if (bad) out.push(`${file} imports ${s}`);
  }
  return out;
}

const sources = (dir: string): string[] =>
  readdirSync(join(root, dir)).flatMap((f) => {
    const p = `${dir}/${f}`;
    return statSync(join(root, p)).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });

test('the scanner sees the imports that would cross, in all their forms', () => {
  const webview = "import type {\n  SpawnSite,\n} from '../../extension/src/protocol/decode.ts';\nimport { x } from './ok.ts';";
  assert.deepEqual(crossings('webview/src/a.ts', webview), ['webview/src/a.ts imports ../../extension/src/protocol/decode.ts']);
  assert.deepEqual(crossings('webview/src/a.ts', "import { readFile } from 'node:fs';\nimport * as vscode from 'vscode';\nimport { select } from 'd3-selection';"), [
    'webview/src/a.ts imports node:fs',
    'webview/src/a.ts imports vscode',
  ]);
  assert.deepEqual(crossings('extension/src/report/a.ts', "export type { ViewData } from '../../../webview/src/app.ts';\nconst m = await import('../../../webview/src/main.ts');"), [
    'extension/src/report/a.ts imports ../../../webview/src/app.ts',
    'extension/src/report/a.ts imports ../../../webview/src/main.ts',
  ]);
  assert.deepEqual(crossings('extension/src/report/a.ts', "import type { ViewData } from '../../../shared/view.ts';\n// as sent from '../../../webview/src/main.ts'\n/* from \"../../../webview\" */"), []);
  assert.deepEqual(crossings('shared/a.ts', "import { b } from './b.ts';\nimport { c } from '../webview/src/c.ts';\nimport 'node:fs';\nimport d3 = require('d3');"), [
    'shared/a.ts imports ../webview/src/c.ts',
    'shared/a.ts imports node:fs',
    'shared/a.ts imports d3',
  ]);
});

test('webview/src and extension/src import each other only through shared/, and shared/ imports neither', () => {
  const files = [...sources('webview/src'), ...sources('extension/src'), ...sources('shared')];
  assert.ok(files.includes('shared/messages.ts') && files.includes('webview/src/main.ts') && files.includes('extension/src/vscode/panel.ts'), 'the scan found the trees');
  assert.deepEqual(
    files.flatMap((f) => crossings(f, readFileSync(join(root, f), 'utf8'))),
    [],
  );
});

// ---- the webview's type check ------------------------------------------------------------

// TypeScript 7, the checker npm run build uses (node_modules/.bin/tsc is typescript 6, for typescript-eslint).
const tscBin = join(root, 'node_modules', 'typescript-7', 'bin', 'tsc');
const tsc = (...args: string[]) =>
  spawnSync(process.execPath, [tscBin, '--noEmit', ...args], { cwd: root, encoding: 'utf8', timeout: 300_000 });

test("the webview project checks all of shared/, without Node's types: a Buffer there does not compile", () => {
  const listed = tsc('--listFilesOnly', '-p', 'webview');
  assert.equal(listed.status, 0, listed.stdout + listed.stderr);
  for (const f of sources('shared')) assert.ok(listed.stdout.includes(join(root, f)), `webview/tsconfig.json checks ${f}`);
  assert.ok(!/@types[\\/]node/.test(listed.stdout), 'no Node types in the webview project');

  const dir = mkdtempSync(join(tmpdir(), 'capriccio-shared-'));
  try {
    cpSync(join(root, 'shared'), join(dir, 'shared'), { recursive: true });
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: join(root, 'webview', 'tsconfig.json'), include: ['shared'] }));
    const clean = tsc('-p', dir);
    assert.equal(clean.status, 0, `a copy of shared/ compiles under the webview's options: ${clean.stdout}${clean.stderr}`);
    appendFileSync(join(dir, 'shared', 'protocol.ts'), '\nexport const sneaked = Buffer.from([1]);\n');
    const sneaked = tsc('-p', dir);
    assert.notEqual(sneaked.status, 0, 'a Buffer in shared/ must not compile');
    assert.match(sneaked.stdout, /protocol\.ts.*Cannot find name 'Buffer'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the validators check every field ----------------------------------------------------

/** A view with every optional part present, so that every field of ViewData is in it. */
function fullView(): ViewData {
  const v = syntheticView(3, 2, 0);
  return {
    ...v,
    exit: { how: 'exited', status: 0, tNs: 5 },
    end: { status: 'exit status 0', text: 'exited with status 0', stopped: false, killed: false },
    nodes: v.nodes.map((n, i) => (i === 0 ? { ...n, via: '← serve (main.c:88)' } : n)),
    stacks: {
      ...v.stacks,
      threads: [{ id: 1, name: 'main', site: '0x401000', allocatedBytes: 8192, usedBytes: 4000, chunksLinked: 2, state: 'blocked', kind: 'io' }],
      hotSplits: v.stacks.hotSplits.map((h) => ({ ...h, function: 'parse', line: 40, count: 9, demandedBy: 'parse', label: 'parse → snprintf (libc)' })),
    },
    suggestions: [{ kind: 'yield', message: 'yield in the loop', function: 'parse', file: '/src/server/main.c', line: 41, evidence: { runMaxNs: 9e6, site: 'parse' } }],
    health: { ...v.health, errors: [{ offset: 8, reason: 'bad frame' }], model: { nodes: 1 }, truncated: 'cut short' },
    locks: [
      {
        id: 1,
        label: 'handler_1 (server/module_1.c:11)',
        kind: 'mutex',
        function: 'handler_1',
        file: '/src/server/module_1.c',
        line: 11,
        waits: 4,
        waitNs: 9e6,
        holders: [{ function: 'serve', file: '/src/server/main.c', line: 88, count: 4, holdAvgNs: 2e6, holdMaxNs: 3e6, waitNs: 9e6, release: { function: 'serve', file: '/src/server/main.c', line: 90 } }],
      },
    ],
    wakes: [{ from: { function: 'serve', file: '/src/server/main.c', line: 91 }, to: 1, fromNode: 2, count: 7 }],
    compare: {
      source: '/rec/before.cap',
      name: 'before.cap',
      points: [
        { key: 'io parse', kind: 'io', label: 'parse', file: '/src/server/main.c', line: 40, before: { count: 9, waitAvgNs: 5, waitMaxNs: 9, waitTotalNs: 45 }, after: { count: 3, waitAvgNs: 1, waitMaxNs: 2, waitTotalNs: 3 }, change: -42 },
      ],
      edges: [{ key: 'io parse → io parse', from: 'io parse', to: 'io parse', before: { count: 2, runAvgNs: 4, runMaxNs: 5, runTotalNs: 8 }, after: { count: 1, runAvgNs: 2, runMaxNs: 2, runTotalNs: 2 }, change: -6 }],
      sites: [{ key: 'serve', file: '/src/server/main.c', line: 12, before: { threads: 4, stackHighWaterBytes: 8192 }, after: { threads: 4, stackHighWaterBytes: 4096 }, change: -4096 }],
      hidden: { points: 1, edges: 0, sites: 0 },
    },
  };
}

type Key = string | number;
/** Every field of `v` (arrays: their first item), as key paths. */
function fieldPaths(v: unknown, path: readonly Key[] = []): Key[][] {
  if (Array.isArray(v)) return v.length === 0 ? [] : [[...path, 0], ...fieldPaths(v[0], [...path, 0])];
  if (typeof v !== 'object' || v === null) return [];
  return Object.entries(v).flatMap(([k, x]) => [[...path, k], ...fieldPaths(x, [...path, k])]);
}
const named = (base: string, path: readonly Key[]): string => base + path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
function replaced<T>(v: T, path: readonly Key[], value: unknown): T {
  const copy = structuredClone(v) as Record<Key, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<Key, unknown>;
  at[path[path.length - 1]!] = value;
  return copy as T;
}

test('parseHostMessage rejects a wrong value in any field of a view, naming that field', () => {
  const view = fullView();
  const ok = parseHostMessage({ type: 'init', view });
  assert.ok(ok.ok, ok.ok ? '' : ok.error);
  const paths = fieldPaths(view);
  assert.ok(paths.length > 100, `${paths.length} fields`);
  for (const path of paths) {
    // No check accepts a symbol (and none is JSON: a host cannot send one by accident).
    const r = parseHostMessage({ type: 'update', view: replaced(view, path, Symbol('wrong')) });
    assert.equal(r.ok, false, `${named('view', path)} is checked`);
    if (!r.ok) assert.ok(r.error.startsWith(`${named('view', path)}:`), `${named('view', path)}: got "${r.error}"`);
  }
});

test('parseWebviewMessage checks every field of a message and keeps only them', () => {
  const reveal = { type: 'reveal', file: '/a.c', line: 3 };
  for (const path of fieldPaths(reveal)) {
    const r = parseWebviewMessage(replaced(reveal, path, Symbol('wrong')));
    assert.ok(!r.ok && r.error.startsWith(`${named('message', path)}:`), `${named('message', path)}: ${JSON.stringify(r)}`);
  }
  assert.deepEqual(parseWebviewMessage({ ...reveal, extra: 1 }), { ok: true, value: reveal });
  assert.deepEqual(parseWebviewMessage({ type: 'close' }), { ok: false, error: `message.type: expected 'ready' or 'reveal', got "close"` });
});

// ---- one definition each -----------------------------------------------------------------

test("the view's history has a column for each resource figure RESOURCE_FIELDS marks for it", () => {
  const m = new Model();
  m.apply(hello());
  m.apply(fullSnapshot());
  const h = buildViewData(m, new SymbolTable(), { source: 'test' }).history;
  assert.deepEqual(Object.keys(h), ['tNs', ...HISTORY_FIELDS, 'stackReservedBytes', 'stackResidentBytes', 'stackWasteBytes', 'edgeLatency']);
  for (const k of HISTORY_FIELDS) assert.deepEqual(h[k], [m.latest!.resources[k]], k);
  assert.deepEqual([h.stackReservedBytes, h.stackResidentBytes, h.stackWasteBytes], [[null], [null], [null]], 'not measured: null, never 0');
  assert.ok(HISTORY_FIELDS.includes('rssBytes') && !HISTORY_FIELDS.includes('switches' as never));
});

test('the stylesheet styles the root element by its one id', () => {
  assert.match(readFileSync(join(root, 'webview', 'src', 'style.css'), 'utf8'), new RegExp(`#${ROOT_ID}\\b`));
});
