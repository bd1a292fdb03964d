// Through the real UI, as a user does it: open a copy of samples/hog, run "Capriccio: Profile
// Program" from the command palette, see the blocking graph drawn in the panel, see the `yield`
// diagnostic on the hog's hot loop in the Problems panel, apply its quick fix (Ctrl+.), and find
// the yield point in the saved file.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export default async function (ctx) {
  const dir = ctx.copyToTemp('samples/hog');
  // The copy's Makefile would look for ../common.mk; the command builds the open file on its own.
  let page = await ctx.openWorkspace(dir);
  await ctx.openFile('hog.c');
  await ctx.runCommand('Capriccio: Profile Program');

  // The panel: the graph's nodes are drawn (the webview is two frames deep).
  const view = ctx.webviewFrame();
  await view.locator('[data-node-id]').first().waitFor({ timeout: 90_000 });
  const nodes = await view.locator('[data-node-id]').count();
  ctx.log(`panel draws ${nodes} blocking points`);
  assert.ok(nodes >= 2, `the panel drew ${nodes} nodes`);
  await ctx.screenshot('panel');

  // A click on a node opens its source line: the ticker's usleep.
  const sleepLine = readFileSync(join(dir, 'hog.c'), 'utf8').split('\n').findIndex((l) => l.includes('usleep(5000)')) + 1;
  await view.locator('[data-node-id]', { hasText: 'ticker' }).first().click();
  await page.locator('.statusbar-item', { hasText: `Ln ${sleepLine},` }).first().waitFor({ timeout: 30_000 });

  // The Problems panel lists the hot loop's yield suggestion once the hog has run (the enclosing
  // while loop may have one too).
  const source = readFileSync(join(dir, 'hog.c'), 'utf8');
  const loopLine = source.split('\n').findIndex((l) => l.includes('the hot loop')) + 1;
  await page.keyboard.press('Control+Shift+M');
  const problem = page.locator('.markers-panel .monaco-list-row', { hasText: new RegExp(`in the for loop at hog \\(.*hog\\.c:${loopLine}\\): add a yield point`) }).first();
  await problem.waitFor({ timeout: 90_000 });

  // Quick fix at the loop's header: go to the line, Ctrl+., pick the Capriccio fix. The click on
  // the problem opens the editor at the diagnostic but may leave the focus in the Problems list,
  // where Ctrl+. offers nothing: a click on the loop's line puts it in the editor, on the line.
  await problem.click();
  await page.locator('.statusbar-item', { hasText: `Ln ${loopLine},` }).first().waitFor({ timeout: 30_000 });
  await page.locator('.monaco-editor .view-line', { hasText: 'the hot loop' }).first().click();
  await page.locator('.statusbar-item', { hasText: `Ln ${loopLine},` }).first().waitFor({ timeout: 30_000 });
  await page.keyboard.press('Control+.');
  const fix = page.locator('.action-widget .monaco-list-row, .context-view .action-item', { hasText: 'sched_yield' }).first();
  await fix.waitFor({ timeout: 30_000 });
  await ctx.screenshot('quick-fix');
  // Chosen with the keyboard, as the menu was opened: a click can land on the pointer block VS Code
  // lays over the editor while the menu is up.
  const chosen = page.locator('.action-widget .monaco-list-row.focused', { hasText: 'sched_yield' });
  for (let i = 0; i < 5 && (await chosen.count()) === 0; i++) await page.keyboard.press('ArrowDown');
  assert.equal(await chosen.count(), 1, 'the yield fix could not be selected in the quick-fix menu');
  await page.keyboard.press('Enter');
  await page.keyboard.press('Control+S');
  const deadline = Date.now() + 30_000;
  let fixed = '';
  while (Date.now() < deadline) {
    fixed = readFileSync(join(dir, 'hog.c'), 'utf8');
    if (fixed.includes('sched_yield')) break;
    await page.waitForTimeout(200);
  }
  assert.match(fixed, /#include <sched\.h>/, 'the include was not added');
  assert.equal(fixed.split('sched_yield();').length, 2, 'not one yield');
  assert.match(fixed, /\{ sched_yield\(\); x = x \*/, `the yield is not in the loop:\n${fixed.split('\n').slice(loopLine - 2, loopLine + 2).join('\n')}`);
  await ctx.screenshot('fixed');
}
