// Fixtures of the VS Code tests (run by @playwright/test: playwright.config.ts beside this file).
// A real VS Code without a VS Code download: code-server 4.100.3 (VS Code 1.100.3, installed by
// scripts/setup-vscode-test.sh into .vscode-test/code-server/) in Debian's chromium. Recipe and
// background: shared/TESTING-VSCODE.md. Environment: CAPRICCIO_VSIX, CAPRICCIO_CODE_SERVER,
// CAPRICCIO_CHROMIUM (playwright.config.ts), CAPRICCIO_VSCODE_VERBOSE=1 (code-server's output and
// the pages' errors printed); the extension-host suite's in extension-host.spec.ts.
//
//   codeServer  (worker)  a code-server of its own, in its own process group and temp dir, with
//                         workspace trust as the project's `workspaceTrust` option says, and the
//                         extension installed as a user gets it (`installExtension`): the .vsix
//                         named by CAPRICCIO_VSIX, else the repo root linked in as an unpacked one.
//   workbench   (test)    the VS Code UI in Playwright's `page`, with helpers (see Workbench).
//   tempDir     (test)    a fresh scratch dir, removed after the test.
// A failing test that used the workbench gets its code-server's log attached (Playwright
// adds the screenshot and the trace).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, type FrameLocator, type Locator, type Page, test as base } from '@playwright/test';

export { expect };
export const repoRoot = path.resolve(__dirname, '../..');
const env = process.env;
const codeServerBin = path.resolve(repoRoot, env['CAPRICCIO_CODE_SERVER'] ?? '.vscode-test/code-server/node_modules/.bin/code-server');
export const verbose = env['CAPRICCIO_VSCODE_VERBOSE'] === '1';

export interface CodeServer {
  url: string; // http://127.0.0.1:PORT
  authority: string; // 127.0.0.1:PORT
  workspaceTrust: boolean;
  logFile: string;
  /** Rejects when code-server exits while the tests still need it. */
  exited: Promise<never>;
}

export const settings = {
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
const trustSettings = {
  // No dialog: every folder opens in Restricted Mode until trusted.
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.banner': 'always',
};

/** Starts code-server in its own process group under dir; resolves once it listens. */
async function startCodeServer(dir: string, workspaceTrust: boolean, installExtension: boolean) {
  if (!fs.existsSync(codeServerBin)) throw new Error(`no code-server at ${codeServerBin}: run bash scripts/setup-vscode-test.sh`);
  const userDir = path.join(dir, 'user');
  const extDir = path.join(dir, 'extensions');
  fs.mkdirSync(path.join(userDir, 'User'), { recursive: true });
  fs.mkdirSync(extDir);
  fs.writeFileSync(path.join(userDir, 'User/settings.json'), JSON.stringify({ ...settings, ...(workspaceTrust ? trustSettings : {}) }, null, 2));
  // Always --config (else code-server writes ~/.config/code-server), and HOME/XDG in dir.
  fs.writeFileSync(path.join(dir, 'config.yaml'), 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
  const common = ['--config', path.join(dir, 'config.yaml'), '--user-data-dir', userDir, '--extensions-dir', extDir];
  const childEnv: NodeJS.ProcessEnv = { ...env, XDG_CONFIG_HOME: path.join(dir, 'home/.config'), XDG_DATA_HOME: path.join(dir, 'home/.local/share') };
  delete childEnv['VSCODE_IPC_HOOK_CLI']; // run from a VS Code terminal: don't talk to that VS Code
  if (installExtension) {
    const vsix = env['CAPRICCIO_VSIX'] && path.resolve(repoRoot, env['CAPRICCIO_VSIX']);
    if (vsix) {
      execFileSync(process.execPath, [codeServerBin, ...common, '--install-extension', vsix],
        { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
    } else {
      // As if unpacked from a .vsix: PUBLISHER.NAME-VERSION (npm run build first).
      const { publisher, name, version } = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Record<'publisher' | 'name' | 'version', string>;
      fs.symlinkSync(repoRoot, path.join(extDir, `${publisher}.${name}-${version}`.toLowerCase()), 'dir');
    }
  }
  const logFile = path.join(dir, 'code-server.log');
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [codeServerBin, ...common, '--auth', 'none', '--bind-addr', '127.0.0.1:0',
    '--disable-telemetry', '--disable-update-check', '--disable-getting-started-override',
    ...(workspaceTrust ? [] : ['--disable-workspace-trust'])], { cwd: dir, env: childEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code, sig) =>
    reject(new Error(`code-server exited (${code ?? sig}); log tail:\n${tail(logFile)}`))));
  exited.catch(() => {}); // observed by whoever races it
  let output = '';
  const url = await Promise.race([exited, new Promise<string>((resolve) => {
    const onData = (chunk: Buffer) => {
      fs.writeSync(log, chunk);
      const text = chunk.toString('utf8');
      if (verbose) process.stdout.write(`[code-server] ${text}`);
      output = (output + text).slice(-20_000);
      const m = /HTTP server listening on (http:\/\/[^\s/]+)/.exec(output);
      if (m?.[1]) resolve(m[1].replace('0.0.0.0', '127.0.0.1'));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  })]);
  const server: CodeServer = { url, authority: new URL(url).host, workspaceTrust, logFile, exited };
  return { server, child };
}

/** Ends code-server's whole process group (the wrapper alone would leave fileWatcher and the extension host). */
async function stopCodeServer(child: ChildProcess) {
  const kill = (sig: NodeJS.Signals) => { try { process.kill(-child.pid!, sig); } catch { /* gone */ } };
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    kill('SIGTERM');
    const t = setTimeout(() => kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
  kill('SIGKILL');
}

const tail = (file: string, lines = 40) => {
  try { return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return ''; }
};

export const workbenchUrl = (server: CodeServer, folder: string, payload?: [string, string][]) => {
  const q = new URLSearchParams({ folder });
  if (payload) q.set('payload', JSON.stringify(payload));
  return `${server.url}/?${q}`;
};

/** The VS Code UI in a page, and what the tests do with it. */
export class Workbench {
  constructor(readonly page: Page, readonly server: CodeServer, private readonly tempDir: string,
    private readonly outputPath: (file: string) => string) {}

  /** Shows the workbench for folder (absolute or repo-relative) and waits for its status bar. */
  async open(folder: string) {
    await this.page.goto(workbenchUrl(this.server, path.resolve(repoRoot, folder)));
    await this.page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout: 120_000 });
  }

  /** Copies a folder (repo-relative or absolute) into a fresh dir of the test's; returns its path. */
  copy(folder: string) {
    const dest = fs.mkdtempSync(path.join(this.tempDir, 'ws-'));
    fs.cpSync(path.resolve(repoRoot, folder), dest, { recursive: true });
    return dest;
  }

  /** Runs the palette entry whose label is exactly title ("Capriccio: Profile Program"). The
   *  extension's commands register a few seconds after the workbench shows: F1 again until then. */
  async runCommand(title: string, { timeout = 60_000 } = {}) {
    const { page } = this;
    const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
    const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
    await expect(async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press('F1');
      await page.locator('.quick-input-widget .quick-input-box input').fill(`>${title}`, { timeout: 5000 });
      await row.waitFor({ state: 'visible', timeout: 3000 });
    }, `palette entry "${title}"`).toPass({ timeout });
    // The exact row, clicked: Enter would run whichever row is active.
    await row.hover();
    await row.click();
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => {});
  }

  /** Quick Open (Ctrl+P) a workspace file; waits for its editor. */
  async openFile(relPath: string, { timeout = 30_000 } = {}) {
    const { page } = this;
    const base = path.basename(relPath);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget .quick-input-box input').fill(relPath, { timeout });
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: base }).first().waitFor({ timeout });
    await page.keyboard.press('Enter');
    await page.locator('.tabs-container .tab', { hasText: base }).first().waitFor({ timeout });
    await page.locator('.monaco-editor .view-lines').first().waitFor({ timeout });
  }

  /** The i-th webview's content: two frames deep. */
  webview(i = 0): FrameLocator {
    return this.page.locator('iframe.webview.ready').nth(i).contentFrame().locator('#active-frame').contentFrame();
  }

  /** A notification toast containing text, once shown. */
  async notification(text: string | RegExp, { timeout = 60_000 } = {}): Promise<Locator> {
    const toast = this.page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
    await toast.waitFor({ timeout });
    return toast;
  }

  /** Saves a screenshot NAME.png in the test's output dir (test-results/vscode/TEST/). */
  async screenshot(name: string) { await this.page.screenshot({ path: this.outputPath(`${name}.png`) }); }
}

interface WorkerFixtures {
  /** Workspace trust enabled in code-server (a project option). */
  workspaceTrust: boolean;
  /** Install the extension in code-server (the extension-host project loads it as in development instead). */
  installExtension: boolean;
  codeServer: CodeServer;
}
interface TestFixtures {
  tempDir: string;
  workbench: Workbench;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  workspaceTrust: [false, { scope: 'worker', option: true }],
  installExtension: [true, { scope: 'worker', option: true }],
  codeServer: [async ({ workspaceTrust, installExtension }, use) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capriccio-code-server-'));
    let child: ChildProcess | undefined;
    const sweep = () => { try { process.kill(-child!.pid!, 'SIGKILL'); } catch { /* gone */ } };
    process.on('exit', sweep); // a worker that dies without teardown leaves no code-server
    try {
      const started = await startCodeServer(dir, workspaceTrust, installExtension);
      child = started.child;
      await use(started.server);
    } finally {
      if (child) await stopCodeServer(child);
      process.off('exit', sweep);
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }, { scope: 'worker', timeout: 180_000 }],

  // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this pattern
  tempDir: async ({}, use) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capriccio-vscode-test-'));
    await use(dir);
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  },

  workbench: async ({ page, codeServer, tempDir }, use, testInfo) => {
    if (verbose) {
      page.on('pageerror', (e) => console.error('[page error]', e.message));
      page.on('console', (m) => m.type() === 'error' && console.error('[page console]', m.text()));
    }
    await use(new Workbench(page, codeServer, tempDir, (file) => testInfo.outputPath(file)));
    if (testInfo.status !== testInfo.expectedStatus) {
      await testInfo.attach('code-server log', { path: codeServer.logFile, contentType: 'text/plain' });
    }
  },
});
