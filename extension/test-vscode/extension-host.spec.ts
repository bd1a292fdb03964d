// The extension-host suite (mocha, *.test.ts here, bundled by npm run build into dist/test-vscode,
// whose index.js exports @vscode/test-electron's `run()`) run inside VS Code's extension host.
// In code-server: the workbench gets extensionDevelopmentPath (the repo root) and
// extensionTestsPath through the `payload` URL parameter and reports mocha's result through
// window.codeAutomationExit(code); its console (mocha's report) is printed here. The extension
// host runs server-side in Node, so the extension spawns processes and opens sockets as on the
// desktop. With VSCODE_EXECUTABLE=/path/to/code, the suite runs in that desktop VS Code through
// @vscode/test-electron instead (not exercised on machines without one).
// CAPRICCIO_VSCODE_GREP: only the mocha tests matching it. CAPRICCIO_VSCODE_WORKSPACE: the folder
// opened (default: an empty temp dir).
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { expect, repoRoot, settings, test, verbose, workbenchUrl } from './workbench.ts';

const extensionTests = path.join(repoRoot, 'dist/test-vscode/index.js');
const folder = (tempDir: string) => path.resolve(repoRoot, process.env['CAPRICCIO_VSCODE_WORKSPACE'] ?? tempDir);

// Workbench log lines that say nothing about the extension (shown with CAPRICCIO_VSCODE_VERBOSE=1);
// the network ones come from the closed network (extension gallery, telemetry).
const noise = new RegExp(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'open-vsx\\.org', 'Failed to fetch',
  '^Resolv(ing|ed) connection token', '^Creating a socket', '^Updating additional builtin extensions cache',
  '^\\[Service Worker\\]', '^ChatSessionStore:', '^Creation of workbench contribution'].join('|'));

test.beforeAll(() => {
  if (!fs.existsSync(extensionTests)) throw new Error(`${extensionTests} is missing: npm run build`);
});

const vscodeExecutable = process.env['VSCODE_EXECUTABLE'];
if (!vscodeExecutable) {
  test('the mocha suite passes in code-server', async ({ workbench: { page, server }, tempDir }) => {
    let report!: (code: number) => void;
    let done = false; // what the workbench logs as it shuts down is not the suite's
    const exit = new Promise<number>((resolve) => { report = resolve; });
    await page.exposeFunction('codeAutomationExit', (code: unknown) => { done = true; report(Number(code)); });
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown) => {
      const text = util.format(...(Array.isArray(args) ? (args as unknown[]) : [args]));
      if (verbose || (!done && !noise.test(text))) (type === 'error' ? process.stderr : process.stdout).write(`${text}\n`);
    });
    const remote = (p: string) => `vscode-remote://${server.authority}${p}`;
    await page.goto(workbenchUrl(server, folder(tempDir), [
      ['extensionDevelopmentPath', remote(repoRoot)],
      ['extensionTestsPath', remote(extensionTests)],
    ]));
    expect(await Promise.race([exit, server.exited]), 'mocha exit code').toBe(0);
  });
} else {
  test('the mocha suite passes in desktop VS Code', async ({ tempDir }) => {
    const { runTests } = await import('@vscode/test-electron');
    fs.mkdirSync(path.join(tempDir, 'user/User'), { recursive: true });
    fs.writeFileSync(path.join(tempDir, 'user/User/settings.json'), JSON.stringify(settings, null, 2));
    fs.mkdirSync(path.join(tempDir, 'extensions'));
    const code = await runTests({
      vscodeExecutablePath: vscodeExecutable,
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: extensionTests,
      launchArgs: [folder(fs.mkdtempSync(path.join(tempDir, 'ws-'))), '--user-data-dir', path.join(tempDir, 'user'),
        '--extensions-dir', path.join(tempDir, 'extensions')],
    });
    expect(code, 'mocha exit code').toBe(0);
  });
}
