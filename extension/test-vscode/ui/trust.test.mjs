// Workspace trust: in a folder that is not trusted (Restricted Mode) nothing is built or run:
// Profile Program, Attach and Analyze Stack Usage are not offered in the palette (run anyway,
// the commands refuse: see requireTrust in extension/src/vscode/commands.ts), while opening a
// recording, which runs nothing, still is.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const workspaceTrust = true;

async function paletteRows(page, text) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(`>${text}`);
  await page.waitForTimeout(1500); // let the list settle on the filter
  const rows = await page.locator('.quick-input-list .monaco-list-row .label-name').allInnerTexts();
  await page.keyboard.press('Escape');
  return rows.map((r) => r.trim());
}

export default async function (ctx) {
  assert.equal(ctx.workspaceTrust, true);
  const dir = ctx.copyToTemp('samples/hog');
  const page = await ctx.openWorkspace(dir);
  await ctx.openFile('hog.c');
  // The extension is loaded (limited support): its safe commands are there once registered.
  let rows = [];
  for (let i = 0; i < 30 && !rows.includes('Capriccio: Open Recording'); i++) rows = await paletteRows(page, 'Capriccio:');
  ctx.log(`palette offers: ${rows.join(' | ')}`);
  assert.ok(rows.includes('Capriccio: Open Recording'), 'Open Recording is not offered');
  for (const hidden of ['Capriccio: Profile Program', 'Capriccio: Attach to Telemetry Socket', 'Capriccio: Analyze Stack Usage']) {
    assert.ok(!rows.includes(hidden), `${hidden} is offered in an untrusted workspace`);
  }
  await ctx.screenshot('restricted');
  assert.ok(!existsSync(join(dir, '.capriccio')), 'something was built or recorded in an untrusted workspace');
}
