// Through the real UI, as a user does it: open a copy of samples/hog, run "Capriccio: Profile
// Program" from the command palette, see the blocking graph drawn in the panel, see the `yield`
// diagnostic on the hog's hot loop in the Problems panel, apply its quick fix (Ctrl+.), and find
// the yield point in the saved file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '../workbench.ts';

test('profile the hog: graph, problem, yield quick fix', async ({ workbench }) => {
  const { page } = workbench;
  const dir = workbench.copy('samples/hog');
  // The copy's Makefile would look for ../common.mk; the command builds the open file on its own.
  await workbench.open(dir);
  await workbench.openFile('hog.c');
  await workbench.runCommand('Capriccio: Profile Program');

  // The panel: the graph's nodes are drawn (the webview is two frames deep).
  const view = workbench.webview();
  await view.locator('[data-node-id]').first().waitFor({ timeout: 90_000 });
  const nodes = await view.locator('[data-node-id]').count();
  console.log(`panel draws ${nodes} blocking points`);
  expect(nodes, 'blocking points drawn').toBeGreaterThanOrEqual(2);
  await workbench.screenshot('panel');

  // A click on a node opens its source line: the ticker's usleep.
  const source = readFileSync(join(dir, 'hog.c'), 'utf8').split('\n');
  const sleepLine = source.findIndex((l) => l.includes('usleep(5000)')) + 1;
  await view.locator('[data-node-id]', { hasText: 'ticker' }).first().click();
  await page.locator('.statusbar-item', { hasText: `Ln ${sleepLine},` }).first().waitFor({ timeout: 30_000 });

  // The Problems panel lists the hot loop's yield suggestion once the hog has run (the enclosing
  // while loop may have one too).
  const loopLine = source.findIndex((l) => l.includes('the hot loop')) + 1;
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
  await workbench.screenshot('quick-fix');
  // Chosen with the keyboard, as the menu was opened: a click can land on the pointer block VS Code
  // lays over the editor while the menu is up.
  const chosen = page.locator('.action-widget .monaco-list-row.focused', { hasText: 'sched_yield' });
  for (let i = 0; i < 5 && (await chosen.count()) === 0; i++) await page.keyboard.press('ArrowDown');
  expect(await chosen.count(), 'the yield fix could not be selected in the quick-fix menu').toBe(1);
  await page.keyboard.press('Enter');
  await page.keyboard.press('Control+S');
  const saved = () => readFileSync(join(dir, 'hog.c'), 'utf8');
  await expect.poll(saved, { message: 'the fix was not saved', timeout: 30_000 }).toContain('sched_yield');
  const fixed = saved();
  expect(fixed, 'the include was not added').toMatch(/#include <sched\.h>/);
  expect(fixed.split('sched_yield();').length, 'not one yield').toBe(2);
  expect(fixed, `the yield is not in the loop:\n${fixed.split('\n').slice(loopLine - 2, loopLine + 2).join('\n')}`)
    .toMatch(/\{ sched_yield\(\); x = x \*/);
  await workbench.screenshot('fixed');
});
