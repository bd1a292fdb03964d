// Through the real UI: a workspace whose settings give a program 1 s to exit after SIGTERM
// (capriccio.killAfterSeconds), a program that ignores SIGTERM, "Capriccio: Profile Program"
// then "Capriccio: Stop" from the palette: the panel says the profiler killed it and why, and
// keeps showing what was recorded before.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export default async function (ctx) {
  const dir = ctx.copyToTemp('extension/test-vscode/fixtures/stubborn');
  mkdirSync(join(dir, '.vscode'));
  writeFileSync(join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'capriccio.killAfterSeconds': 1 }));
  await ctx.openWorkspace(dir);
  await ctx.openFile('stubborn.c');
  await ctx.runCommand('Capriccio: Profile Program');

  // The worker blocks only after SIGTERM is ignored: once it is drawn, only SIGKILL ends the program.
  const view = ctx.webviewFrame();
  await view.locator('[data-node-id]', { hasText: 'worker' }).first().waitFor({ timeout: 90_000 });
  await ctx.runCommand('Capriccio: Stop');

  const why = 'killed by the profiler with SIGKILL: it did not exit within 1 s of SIGTERM, sent when Capriccio: Stop was run';
  const health = view.locator('.health p', { hasText: why });
  await health.waitFor({ timeout: 60_000 });
  ctx.log(`panel says: ${await health.textContent()}`);
  assert.match(await view.locator('.header .facts').textContent(), /killed by SIGKILL/);
  assert.ok((await view.locator('[data-node-id]', { hasText: 'worker' }).count()) > 0, 'the worker is no longer drawn');
  await ctx.screenshot('killed');
}
