// The VS Code tests (npm run test:vscode), run by @playwright/test in a real VS Code: code-server
// in Debian's chromium (fixtures: workbench.ts). No browser download: @playwright/test 1.65.1 shares
// playwright-core 1.65.1 with the rest of the repo and launches /usr/bin/chromium (CAPRICCIO_CHROMIUM).
//   extension-host  the mocha suite (*.test.ts here, bundled into dist/test-vscode) inside VS Code's
//                   extension host, the extension loaded from the repo as in development
//   ui              ui/*.spec.ts through the UI, the packaged extension installed, trust disabled
//   ui-trust        the ui/*.spec.ts tagged @trust, in a code-server with workspace trust enabled
// One worker: each code-server and browser takes most of a core on this 2-core machine. A failing
// test leaves a screenshot, a trace (npx playwright show-trace FILE) and code-server's log tail under
// test-results/vscode/, each path printed with the failure.
import path from 'node:path';
import { defineConfig } from '@playwright/test';

const repoRoot = path.resolve(__dirname, '../..');

export default defineConfig<Record<never, never>, { workspaceTrust: boolean; installExtension: boolean }>({
  testDir: __dirname,
  outputDir: path.join(repoRoot, 'test-results/vscode'),
  workers: 1,
  retries: 0,
  forbidOnly: true,
  timeout: 300_000,
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env['CAPRICCIO_CHROMIUM'] ?? '/usr/bin/chromium',
      args: ['--disable-gpu', '--disable-quic', '--disable-dev-shm-usage'],
    },
    viewport: { width: 1600, height: 1000 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'extension-host',
      testMatch: /extension-host\.spec\.ts$/,
      timeout: 900_000,
      use: { installExtension: false },
    },
    { name: 'ui', testMatch: /ui\/.*\.spec\.ts$/, grepInvert: /@trust/, use: { workspaceTrust: false } },
    { name: 'ui-trust', testMatch: /ui\/.*\.spec\.ts$/, grep: /@trust/, use: { workspaceTrust: true } },
  ],
});
