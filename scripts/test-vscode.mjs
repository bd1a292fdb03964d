#!/usr/bin/env node
// Runs the VS Code extension's tests inside a real VS Code, with no VS Code download:
// code-server 4.100.3 (VS Code 1.100.3, installed by scripts/setup-vscode-test.sh into
// .vscode-test/code-server/) shown in Debian's /usr/bin/chromium, driven by playwright-core.
// Recipe and background: ../shared/TESTING-VSCODE.md.
//
//   node scripts/test-vscode.mjs [--suite-only | --ui-only] [FILTER...]
//
// 1. Extension-host suite (mocha, written for @vscode/test-electron): code-server starts with
//    an empty extensions dir; the workbench gets extensionDevelopmentPath (the repo root: its
//    package.json is the extension manifest) and extensionTestsPath (dist/test-vscode/index.js,
//    exporting the standard test-electron `run(): Promise<void>`) through the `payload` URL
//    parameter, and reports the result through window.codeAutomationExit(code). The extension
//    host runs server-side in Node, so the extension can spawn processes and open sockets as
//    on the desktop. Its console output (mocha's report) is printed here.
//    With VSCODE_EXECUTABLE=/path/to/code (a desktop VS Code), the same suite runs instead with
//    @vscode/test-electron's runTests({ vscodeExecutablePath, extensionDevelopmentPath,
//    extensionTestsPath }) (temp user-data and extensions dirs; test-electron adds
//    --disable-workspace-trust). Not exercised on machines without a desktop VS Code.
// 2. UI end-to-end tests: every extension/test-vscode/ui/*.test.mjs (FILTER: only files whose
//    name contains one of the words). The extension is installed the way a user gets it: from
//    the .vsix named by CAPRICCIO_VSIX (code-server --install-extension), else the extension
//    folder linked into the extensions dir as PUBLISHER.NAME-VERSION. Each file runs in a fresh
//    Chromium profile against one shared code-server whose workspace trust is disabled.
//    A file that exports `export const workspaceTrust = true` runs instead against a
//    code-server with workspace trust ENABLED (security.workspace.trust.startupPrompt "never":
//    no dialog; every folder opens in Restricted Mode until trusted).
//
// A UI test file:
//   export const workspace = 'samples/hog';   // optional: folder to open (relative to the repo
//                                              // root, or absolute); default: a fresh empty temp dir
//   export const workspaceTrust = true;        // optional, see above
//   export default async function (ctx) { ... }   // throw (e.g. node:assert) to fail
// ctx:
//   page                   playwright Page showing the workbench for the workspace (status bar shown)
//   context                its BrowserContext
//   runCommand(title, {timeout}?)   F1, types title, waits for the palette row whose label is
//                          exactly `title` ("Capriccio: Profile Program"; retries Escape/F1 while
//                          the extension's commands register), then runs it. Default timeout 60 s.
//   webviewFrame(i = 0)    FrameLocator of the i-th webview's content (two frames deep:
//                          iframe.webview.ready >> #active-frame)
//   openWorkspace(folder, {trust}?)  closes the page and opens a fresh context/page on folder
//                          (absolute or repo-relative); returns the page and updates ctx.page
//   openFile(relPath)      Quick Open (Ctrl+P) a workspace file and wait for its editor tab
//   copyToTemp(folder)     copies a folder (repo-relative or absolute) into a fresh temp dir and
//                          returns its absolute path (open it with openWorkspace; edits stay there)
//   screenshot(name)       saves test-results/vscode-<test>-<name>.png; returns the path
//   waitForNotification(textOrRegExp, {timeout}?)  waits for a notification toast containing it
//   log(...args)           prints, prefixed with the test's name
//   repoRoot, extensionDir, tempDir (this test's scratch dir), workspace (path opened),
//   serverUrl ('http://127.0.0.1:PORT'), workspaceTrust (boolean)
// A failing test leaves test-results/vscode-<test>-failure.png.
//
// Environment:
//   CAPRICCIO_EXTENSION_DIR     extension folder (default: the repo root)
//   CAPRICCIO_EXTENSION_TESTS   extensionTestsPath (default: EXTENSION_DIR/dist/test-vscode/index.js)
//   CAPRICCIO_UI_TESTS_DIR      folder of *.test.mjs (default: EXTENSION_DIR/extension/test-vscode/ui)
//   CAPRICCIO_VSIX              .vsix installed for the UI tests (default: link EXTENSION_DIR)
//   CAPRICCIO_VSCODE_WORKSPACE  folder the extension-host suite opens (default: fresh empty temp dir)
//   CAPRICCIO_SUITE_TIMEOUT_MS  extension-host suite timeout (default 900000 = 15 min)
//   CAPRICCIO_UI_TIMEOUT_MS     per UI test file timeout (default 300000 = 5 min)
//   CAPRICCIO_CODE_SERVER       code-server entry (default .vscode-test/code-server/node_modules/.bin/code-server)
//   CAPRICCIO_CHROMIUM          browser (default /usr/bin/chromium; never downloaded)
//   CAPRICCIO_VSCODE_KEEP=1     keep the temp dir (server logs, profiles) and print its path
//   CAPRICCIO_VSCODE_VERBOSE=1  also print code-server's output and the pages' console errors
//   VSCODE_EXECUTABLE           run the extension-host suite in this desktop VS Code instead
// Exit code 0 when everything passed; 1 otherwise (a summary lists what failed).
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import util from 'node:util';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(repoRoot, 'package.json'));
const env = process.env;
const abs = (p) => path.resolve(repoRoot, p);

const extensionDir = abs(env.CAPRICCIO_EXTENSION_DIR ?? '.');
const extensionTests = abs(env.CAPRICCIO_EXTENSION_TESTS ?? path.join(extensionDir, 'dist/test-vscode/index.js'));
const uiTestsDir = abs(env.CAPRICCIO_UI_TESTS_DIR ?? path.join(extensionDir, 'extension/test-vscode/ui'));
const vsix = env.CAPRICCIO_VSIX ? abs(env.CAPRICCIO_VSIX) : undefined;
const codeServer = abs(env.CAPRICCIO_CODE_SERVER ?? '.vscode-test/code-server/node_modules/.bin/code-server');
const chromiumPath = env.CAPRICCIO_CHROMIUM ?? '/usr/bin/chromium';
const suiteTimeoutMs = Number(env.CAPRICCIO_SUITE_TIMEOUT_MS ?? 900_000);
const uiTimeoutMs = Number(env.CAPRICCIO_UI_TIMEOUT_MS ?? 300_000);
const keep = env.CAPRICCIO_VSCODE_KEEP === '1';
const verbose = env.CAPRICCIO_VSCODE_VERBOSE === '1';
const resultsDir = path.join(repoRoot, 'test-results');

const args = process.argv.slice(2);
const suiteOnly = args.includes('--suite-only');
const uiOnly = args.includes('--ui-only');
const filters = args.filter((a) => !a.startsWith('--'));

const say = (...a) => console.log('[test-vscode]', ...a);
const display = (p) => (p.startsWith(repoRoot + path.sep) ? path.relative(repoRoot, p) : p);
const started = Date.now();
const seconds = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'capriccio-vscode-test-'));
const results = []; // { name, ok, detail }

// ---------------------------------------------------------------- cleanup
const servers = new Set(); // running code-server children (each leads its own process group)
const browsers = new Set(); // open playwright contexts

function killGroup(child, signal) {
  try { process.kill(-child.pid, signal); } catch { /* already gone */ }
}

async function stopServer(server) {
  if (!servers.has(server)) return;
  servers.delete(server);
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    killGroup(child, 'SIGTERM');
    const t = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  // The wrapper may be gone while children (fileWatcher, extension host) linger: sweep the group.
  killGroup(child, 'SIGKILL');
}

let cleaningUp;
function cleanup() {
  cleaningUp ??= (async () => {
    for (const b of [...browsers]) await b.close().catch(() => {});
    browsers.clear();
    for (const s of [...servers]) await stopServer(s);
    if (keep) { say(`kept ${tmpRoot}`); return; }
    // A browser that just exited may still be flushing its profile: retry a few times.
    for (let i = 0; i < 5 && fs.existsSync(tmpRoot); i++) {
      try { fs.rmSync(tmpRoot, { recursive: true, force: true, maxRetries: 3, retryDelay: 200 }); } catch { /* retry */ }
      if (fs.existsSync(tmpRoot)) await new Promise((r) => setTimeout(r, 1000));
    }
    if (fs.existsSync(tmpRoot)) say(`could not remove ${tmpRoot}`);
  })();
  return cleaningUp;
}

// Last resort when the process exits without cleanup (a crash): no group left running.
process.on('exit', () => { for (const s of servers) killGroup(s.child, 'SIGKILL'); });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    say(`${sig}: stopping code-server and the browser`);
    cleanup().finally(() => process.exit(128 + (os.constants.signals[sig] ?? 1)));
  });
}

// ---------------------------------------------------------------- code-server
const baseSettings = {
  'workbench.startupEditor': 'none',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.colorTheme': 'Default Dark Modern',
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.commandCenter.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'git.autoRepositoryDetection': false,
  'git.openRepositoryInParentFolders': 'never',
  'files.autoSave': 'off',
  'files.hotExit': 'off',
  'editor.accessibilitySupport': 'off',
  'window.dialogStyle': 'custom',
};

let serverCount = 0;
/** Starts code-server in its own process group; resolves once it listens. */
async function startServer({ name, workspaceTrust = false, install } = {}) {
  const dir = path.join(tmpRoot, `server-${++serverCount}-${name}`);
  const userDir = path.join(dir, 'user');
  const extDir = path.join(dir, 'extensions');
  fs.mkdirSync(path.join(userDir, 'User'), { recursive: true });
  fs.mkdirSync(extDir, { recursive: true });
  const settings = { ...baseSettings };
  if (workspaceTrust) {
    settings['security.workspace.trust.enabled'] = true;
    settings['security.workspace.trust.startupPrompt'] = 'never';
    settings['security.workspace.trust.banner'] = 'always';
  }
  fs.writeFileSync(path.join(userDir, 'User/settings.json'), JSON.stringify(settings, null, 2));
  // Always pass --config: otherwise code-server writes ~/.config/code-server/config.yaml.
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  const common = ['--config', config, '--user-data-dir', userDir, '--extensions-dir', extDir];
  // XDG/HOME under the temp dir too: nothing lands in ~/.config or ~/.local.
  const home = path.join(dir, 'home');
  fs.mkdirSync(home, { recursive: true });
  const childEnv = { ...env, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.local/share') };
  delete childEnv.VSCODE_IPC_HOOK_CLI; // when run from a VS Code terminal, don't talk to that VS Code
  if (install) {
    const out = execFileSync(process.execPath, [codeServer, ...common, '--install-extension', install],
      { env: childEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    if (verbose) process.stdout.write(out);
  }
  const argv = [codeServer, ...common, '--auth', 'none', '--bind-addr', '127.0.0.1:0',
    '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override',
    ...(workspaceTrust ? [] : ['--disable-workspace-trust'])];
  const logFile = path.join(dir, 'code-server.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, argv, {
    cwd: dir, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = { name, child, dir, extDir, logFile, workspaceTrust, output: '' };
  servers.add(server);
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server (${name}) did not start within 60 s; log: ${logFile}`)), 60_000);
    const onData = (chunk) => {
      fs.writeSync(log, chunk);
      if (verbose) process.stdout.write(`[code-server ${name}] ${chunk}`);
      server.output = (server.output + chunk).slice(-20_000);
      const m = /HTTP server listening on (http:\/\/[^\s/]+)/.exec(server.output);
      if (m) { clearTimeout(timer); resolve(m[1].replace('0.0.0.0', '127.0.0.1')); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`code-server (${name}) exited (${code ?? sig}) before listening:\n${server.output.slice(-3000)}`));
    });
  });
  server.url = url;
  server.authority = new URL(url).host;
  return server;
}

function tailOf(server, lines = 25) {
  try {
    return fs.readFileSync(server.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch { return ''; }
}

// ---------------------------------------------------------------- browser
let chromium;
async function loadPlaywright() {
  // playwright-core never downloads a browser; executablePath is Debian's chromium.
  chromium ??= require('playwright-core').chromium;
  return chromium;
}

let profileCount = 0;
async function newContext() {
  const pw = await loadPlaywright();
  const profile = path.join(tmpRoot, `chromium-${++profileCount}`);
  const home = path.join(profile, 'home');
  fs.mkdirSync(home, { recursive: true });
  const context = await pw.launchPersistentContext(path.join(profile, 'data'), {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage'],
    env: { ...env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache') },
  });
  browsers.add(context);
  const close = context.close.bind(context);
  context.close = async () => { browsers.delete(context); await close(); };
  return context;
}

function workbenchUrl(server, folder, payload) {
  const q = new URLSearchParams({ folder });
  if (payload) q.set('payload', JSON.stringify(payload));
  return `${server.url}/?${q}`;
}

const workbenchReady = (page, timeout = 120_000) =>
  page.waitForSelector('.monaco-workbench .part.statusbar', { timeout });

// ---------------------------------------------------------------- 1. extension-host suite
// Workbench log lines that say nothing about the extension (shown with CAPRICCIO_VSCODE_VERBOSE=1);
// the network ones come from the closed network (extension gallery, telemetry).
const workbenchNoise = new RegExp([
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'open-vsx\\.org', 'Failed to fetch',
  '^Resolv(ing|ed) connection token', '^Creating a socket', '^Updating additional builtin extensions cache',
  '^\\[Service Worker\\]', '^ChatSessionStore:', '^Creation of workbench contribution',
].join('|'));

async function runSuiteInCodeServer(workspace) {
  const server = await startServer({ name: 'suite' });
  say(`extension-host suite in code-server ${server.url}: ${display(extensionTests)}`);
  const context = await newContext();
  try {
    const page = context.pages()[0] ?? await context.newPage();
    let report;
    const exit = new Promise((resolve) => { report = resolve; });
    await page.exposeFunction('codeAutomationExit', (code) => report(Number(code)));
    // The workbench forwards its console here (printf-style arguments): mocha's report and
    // whatever the extension host prints, with the workbench's own chatter, filtered out.
    await page.exposeFunction('codeAutomationLog', (type, logArgs) => {
      const text = util.format(...(Array.isArray(logArgs) ? logArgs : [logArgs]));
      if (!verbose && workbenchNoise.test(text)) return;
      (type === 'error' ? process.stderr : process.stdout).write(`${text}\n`);
    });
    page.on('pageerror', (e) => verbose && console.error('[page error]', e.message));
    if (verbose) page.on('console', (m) => m.type() === 'error' && console.error('[page console]', m.text()));
    const remote = (p) => `vscode-remote://${server.authority}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(extensionDir)],
      ['extensionTestsPath', remote(extensionTests)],
    ];
    await page.goto(workbenchUrl(server, workspace, payload));
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), suiteTimeoutMs); });
    const serverDied = new Promise((resolve) => server.child.once('exit', () => resolve('server-exit')));
    const code = await Promise.race([exit, timeout, serverDied]);
    clearTimeout(timer);
    if (code === 'timeout') {
      await screenshot(page, 'vscode-suite-timeout').catch(() => {});
      throw new Error(`the extension-host suite did not finish within ${suiteTimeoutMs / 1000} s `
        + '(CAPRICCIO_SUITE_TIMEOUT_MS); screenshot test-results/vscode-suite-timeout.png; '
        + `code-server log tail:\n${tailOf(server)}`);
    }
    if (code === 'server-exit') throw new Error(`code-server exited during the suite:\n${tailOf(server)}`);
    if (code !== 0) throw new Error(`the extension-host suite failed (exit code ${code})`);
  } finally {
    await context.close().catch(() => {});
    await stopServer(server);
  }
}

async function runSuiteInDesktop(workspace) {
  say(`extension-host suite in desktop VS Code ${env.VSCODE_EXECUTABLE}`);
  let runTests;
  try {
    ({ runTests } = require('@vscode/test-electron'));
  } catch {
    throw new Error('VSCODE_EXECUTABLE is set but @vscode/test-electron is not installed (npm ci)');
  }
  const dir = path.join(tmpRoot, 'desktop');
  fs.mkdirSync(path.join(dir, 'user/User'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'extensions'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'user/User/settings.json'), JSON.stringify(baseSettings, null, 2));
  const code = await runTests({
    vscodeExecutablePath: env.VSCODE_EXECUTABLE,
    extensionDevelopmentPath: extensionDir,
    extensionTestsPath: extensionTests,
    launchArgs: [workspace, '--user-data-dir', path.join(dir, 'user'), '--extensions-dir', path.join(dir, 'extensions')],
    timeout: suiteTimeoutMs,
  }).catch((e) => { throw new Error(`desktop VS Code run failed: ${e?.message ?? e}`); });
  if (code !== 0) throw new Error(`the extension-host suite failed (exit code ${code})`);
}

// ---------------------------------------------------------------- 2. UI tests
async function screenshot(page, name) {
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file });
  return file;
}

function installSource() {
  if (vsix) {
    if (!fs.existsSync(vsix)) throw new Error(`CAPRICCIO_VSIX ${vsix} does not exist`);
    return { vsix };
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));
  const { publisher, name, version, main } = manifest;
  if (!publisher || !name || !version) throw new Error(`${extensionDir}/package.json lacks publisher, name or version`);
  if (main && !fs.existsSync(path.join(extensionDir, main))) {
    throw new Error(`${path.join(extensionDir, main)} is missing: build the extension first (npm run build)`);
  }
  return { folderName: `${publisher}.${name}-${version}`.toLowerCase() };
}

async function startUiServer(workspaceTrust) {
  const source = installSource();
  const server = await startServer({
    name: workspaceTrust ? 'ui-trust' : 'ui', workspaceTrust, install: source.vsix,
  });
  if (source.folderName) {
    // As if unpacked from a .vsix; code-server scans its extensions dir at start and picks it
    // up in each new window (extension host) it opens.
    fs.symlinkSync(extensionDir, path.join(server.extDir, source.folderName), 'dir');
  }
  return server;
}

function testsToRun() {
  if (!fs.existsSync(uiTestsDir)) return [];
  return fs.readdirSync(uiTestsDir)
    .filter((f) => f.endsWith('.test.mjs'))
    .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
    .sort()
    .map((f) => path.join(uiTestsDir, f));
}

function makeCtx(server, testName, testTmp) {
  const ctx = {
    repoRoot, extensionDir, tempDir: testTmp, serverUrl: server.url,
    workspaceTrust: server.workspaceTrust, page: undefined, context: undefined, workspace: undefined,
    log: (...a) => console.log(`  [${testName}]`, ...a),

    async openWorkspace(folder) {
      const target = abs(folder);
      if (ctx.context) await ctx.context.close().catch(() => {});
      ctx.context = await newContext();
      const page = ctx.context.pages()[0] ?? await ctx.context.newPage();
      page.on('pageerror', (e) => verbose && console.error(`  [${testName} page error]`, e.message));
      const t0 = Date.now();
      await page.goto(workbenchUrl(server, target));
      await workbenchReady(page);
      if (verbose) ctx.log(`workbench shown in ${seconds(t0)}`);
      ctx.page = page;
      ctx.workspace = target;
      return page;
    },

    async runCommand(title, { timeout = 60_000 } = {}) {
      const { page } = ctx;
      const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
      const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row')
        .filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
      const input = page.locator('.quick-input-widget .quick-input-box input');
      const deadline = Date.now() + timeout;
      for (let attempt = 0; ; attempt++) {
        await page.keyboard.press('Escape');
        await page.keyboard.press('F1');
        try {
          await input.waitFor({ state: 'visible', timeout: 5000 });
          await input.fill(`>${title}`);
          // The extension's commands register a few seconds after the workbench shows.
          await row.waitFor({ state: 'visible', timeout: 3000 });
          break;
        } catch (e) {
          if (Date.now() > deadline) {
            throw new Error(`runCommand: no palette entry "${title}" after ${attempt + 1} attempts (${e.message.split('\n')[0]})`);
          }
        }
      }
      // Make the exact row the active one before Enter: Enter on another row runs another command.
      await row.hover();
      await row.click();
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
    },

    webviewFrame(index = 0) {
      return ctx.page.frameLocator('iframe.webview.ready').nth(index).frameLocator('#active-frame');
    },

    async openFile(relPath, { timeout = 30_000 } = {}) {
      const { page } = ctx;
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P');
      const input = page.locator('.quick-input-widget .quick-input-box input');
      await input.waitFor({ state: 'visible', timeout });
      await input.fill(relPath);
      const base = path.basename(relPath);
      await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: base })
        .first().waitFor({ state: 'visible', timeout });
      await page.keyboard.press('Enter');
      await page.locator('.tabs-container .tab', { hasText: base }).first().waitFor({ state: 'visible', timeout });
      await page.locator('.monaco-editor .view-lines').first().waitFor({ state: 'visible', timeout });
    },

    copyToTemp(folder) {
      const dest = fs.mkdtempSync(path.join(testTmp, 'ws-'));
      fs.cpSync(abs(folder), dest, { recursive: true });
      return dest;
    },

    screenshot: (name) => screenshot(ctx.page, `vscode-${testName}-${name}`),

    async waitForNotification(text, { timeout = 60_000 } = {}) {
      const toast = ctx.page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
      await toast.waitFor({ state: 'visible', timeout });
      return toast;
    },
  };
  return ctx;
}

async function runUiTest(file, server) {
  const testName = path.basename(file, '.test.mjs');
  const testTmp = fs.mkdtempSync(path.join(tmpRoot, `ui-${testName}-`));
  const mod = await import(pathToFileURL(file).href);
  if (typeof mod.default !== 'function') throw new Error(`${file} has no default export function`);
  const ctx = makeCtx(server, testName, testTmp);
  let timer;
  try {
    const folder = mod.workspace ?? fs.mkdtempSync(path.join(testTmp, 'workspace-'));
    await ctx.openWorkspace(folder);
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${uiTimeoutMs / 1000} s (CAPRICCIO_UI_TIMEOUT_MS)`)), uiTimeoutMs);
    });
    await Promise.race([mod.default(ctx), timeout]);
  } catch (e) {
    if (ctx.page) {
      const shot = await screenshot(ctx.page, `vscode-${testName}-failure`).catch(() => undefined);
      if (shot && e instanceof Error) e.screenshot = shot;
    }
    throw e;
  } finally {
    clearTimeout(timer);
    await ctx.context?.close().catch(() => {});
  }
}

async function runUiTests() {
  const files = testsToRun();
  if (files.length === 0) {
    throw new Error(`no UI tests (*.test.mjs${filters.length ? ` matching ${filters.join(', ')}` : ''}) in ${uiTestsDir}`);
  }
  const groups = new Map([[false, []], [true, []]]);
  for (const f of files) {
    const mod = await import(pathToFileURL(f).href);
    groups.get(Boolean(mod.workspaceTrust)).push(f);
  }
  for (const [trust, group] of groups) {
    if (group.length === 0) continue;
    const server = await startUiServer(trust);
    say(`UI tests in code-server ${server.url} (workspace trust ${trust ? 'enabled' : 'disabled'}; extension from ${vsix ? path.basename(vsix) : extensionDir})`);
    try {
      for (const file of group) {
        const name = `ui: ${display(file)}`;
        say(`${name} ...`);
        try {
          const t0 = Date.now();
          await runUiTest(file, server);
          results.push({ name, ok: true });
          say(`${name}: passed (${seconds(t0)})`);
        } catch (e) {
          const detail = `${e?.stack ?? e}${e?.screenshot ? `\nscreenshot: ${display(e.screenshot)}` : ''}`;
          results.push({ name, ok: false, detail });
          say(`${name}: FAILED\n${detail}`);
        }
        if (server.child.exitCode !== null) throw new Error(`code-server exited:\n${tailOf(server)}`);
      }
    } finally {
      await stopServer(server);
    }
  }
}

// ---------------------------------------------------------------- main
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    say(`${name}: passed (${seconds(t0)})`);
  } catch (e) {
    results.push({ name, ok: false, detail: e?.message ?? String(e) });
    say(`${name}: FAILED\n${e?.message ?? e}`);
  }
}

async function main() {
  if (!fs.existsSync(codeServer) && !(env.VSCODE_EXECUTABLE && suiteOnly)) {
    throw new Error(`code-server is not installed at ${codeServer}: run bash scripts/setup-vscode-test.sh`);
  }
  if (!fs.existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: run bash scripts/setup-vscode-test.sh`);

  if (!uiOnly) {
    await step('extension-host suite', async () => {
      if (!fs.existsSync(extensionTests)) {
        throw new Error(`${extensionTests} is missing: build it first (npm run build)`);
      }
      const workspace = env.CAPRICCIO_VSCODE_WORKSPACE
        ? abs(env.CAPRICCIO_VSCODE_WORKSPACE)
        : fs.mkdtempSync(path.join(tmpRoot, 'suite-workspace-'));
      if (env.VSCODE_EXECUTABLE) await runSuiteInDesktop(workspace);
      else await runSuiteInCodeServer(workspace);
    });
  }
  if (!suiteOnly) {
    const before = results.length;
    try {
      await runUiTests();
    } catch (e) {
      results.push({ name: 'UI tests', ok: false, detail: e?.message ?? String(e) });
      say(`UI tests: FAILED\n${e?.message ?? e}`);
    }
    if (results.length === before) results.push({ name: 'UI tests', ok: false, detail: 'none ran' });
  }
}

let exitCode = 1;
try {
  await main();
  exitCode = results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
} catch (e) {
  results.push({ name: 'setup', ok: false, detail: e?.message ?? String(e) });
} finally {
  await cleanup();
}
console.log('\n==== VS Code tests ====');
for (const r of results) {
  console.log(`${r.ok ? 'ok    ' : 'FAILED'} ${r.name}`);
  if (!r.ok && r.detail) console.log(`       ${r.detail.split('\n').join('\n       ')}`);
}
const failed = results.filter((r) => !r.ok).length;
console.log(`(${seconds(started)} in all)`);
console.log(failed ? `==== ${failed} of ${results.length} FAILED ====` : `==== all ${results.length} passed ====`);
process.exit(exitCode);
