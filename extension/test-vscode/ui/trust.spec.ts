// Workspace trust: in a folder that is not trusted (Restricted Mode) nothing is built or run:
// Profile Program, Attach and Analyze Stack Usage are not offered in the palette (run anyway,
// the commands refuse: see requireTrust in extension/src/vscode/commands.ts), while opening a
// recording, which runs nothing, still is. Tagged @trust: runs in the ui-trust project, whose
// code-server has workspace trust enabled.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '../workbench.ts';

test('an untrusted workspace offers only what runs nothing', { tag: '@trust' }, async ({ workbench, codeServer }) => {
  expect(codeServer.workspaceTrust).toBe(true);
  const { page } = workbench;
  const dir = workbench.copy('samples/hog');
  await workbench.open(dir);
  await workbench.openFile('hog.c');
  // The extension is loaded (limited support): its safe commands are there once registered. The
  // rows are read once the list shows only what matches the filter.
  let rows: string[] = [];
  await expect(async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>Capriccio:');
    rows = (await page.locator('.quick-input-list .monaco-list-row .label-name').allInnerTexts()).map((r) => r.trim());
    expect(rows.every((r) => r.includes('Capriccio')), `the list is filtered: ${rows.join(' | ')}`).toBe(true);
    expect(rows).toContain('Capriccio: Open Recording');
  }, 'Capriccio: Open Recording is offered').toPass({ timeout: 90_000 });
  await page.keyboard.press('Escape');
  console.log(`palette offers: ${rows.join(' | ')}`);
  for (const hidden of ['Capriccio: Profile Program', 'Capriccio: Attach to Telemetry Socket', 'Capriccio: Analyze Stack Usage']) {
    expect(rows, `${hidden} is offered in an untrusted workspace`).not.toContain(hidden);
  }
  await workbench.screenshot('restricted');
  expect(existsSync(join(dir, '.capriccio')), 'something was built or recorded in an untrusted workspace').toBe(false);
});
