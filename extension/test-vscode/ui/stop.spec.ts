// Through the real UI: a workspace whose settings give a program 1 s to exit after SIGTERM
// (capriccio.killAfterSeconds), a program that ignores SIGTERM, "Capriccio: Profile Program"
// then "Capriccio: Stop" from the palette: the panel says the profiler killed it and why, and
// keeps showing what was recorded before.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '../workbench.ts';

test('stop a program that ignores SIGTERM: the panel says it was killed and why', async ({ workbench }) => {
  const dir = workbench.copy('extension/test-vscode/fixtures/stubborn');
  mkdirSync(join(dir, '.vscode'));
  writeFileSync(join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'capriccio.killAfterSeconds': 1 }));
  await workbench.open(dir);
  await workbench.openFile('stubborn.c');
  await workbench.runCommand('Capriccio: Profile Program');

  // The worker blocks only after SIGTERM is ignored: once it is drawn, only SIGKILL ends the program.
  const view = workbench.webview();
  await view.locator('[data-node-id]', { hasText: 'worker' }).first().waitFor({ timeout: 90_000 });
  await workbench.runCommand('Capriccio: Stop');

  const why = 'killed by the profiler with SIGKILL: it did not exit within 1 s of SIGTERM, sent when Capriccio: Stop was run';
  const health = view.locator('.health p', { hasText: why });
  await health.waitFor({ timeout: 60_000 });
  console.log(`panel says: ${await health.textContent()}`);
  await expect(view.locator('.header .facts')).toContainText(/killed by SIGKILL/);
  expect(await view.locator('[data-node-id]', { hasText: 'worker' }).count(), 'the worker is no longer drawn').toBeGreaterThan(0);
  await workbench.screenshot('killed');
});
