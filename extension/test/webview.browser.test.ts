// Browser tests of the standalone report: a recording made by running samples/extlib under
// `capriccio run --record`, turned into HTML by `capriccio report`, opened from a file: URL in
// headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; never a downloaded
// browser). Checks what is drawn, hover and click, the charts, the suggestions, the CSP, and
// that the page makes no network request. Keeps a screenshot in test-results/webview-report.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { loadBundle, reportHtml } from '../src/report/html.ts';
import { syntheticView } from '../src/report/synthetic.ts';
import { REVEAL_EVENT } from '../../shared/domids.ts';
import type { ViewData } from '../../shared/view.ts';
import { formatBytes, formatCount } from '../../webview/src/format.ts';
import { have, BROWSER, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');
const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Chromium on a profile of its own, closed and removed after the test (in that order: removing
 * the profile of a running browser fails with ENOTEMPTY while it still writes there).
 */
async function launchBrowser(t: { after: (fn: () => Promise<void>) => void }): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), 'capriccio-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, viewport: { width: 1280, height: 900 }, args: ARGS });
  t.after(async () => {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return ctx;
}

/**
 * The report of `view` (the bundle built first) in a real browser, at a file in a temporary folder
 * named for `name`: its page, and the page errors it raises.
 */
async function openReport(t: { after: (fn: () => void | Promise<void>) => void }, view: ViewData, name: string): Promise<{ page: Page; problems: string[] }> {
  const b = run(process.execPath, [join(root, 'scripts', 'build.mjs')]);
  assert.equal(b.status, 0, b.stderr);
  const dir = mkdtempSync(join(tmpdir(), `capriccio-webview-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const html = join(dir, `${name}.html`);
  writeFileSync(html, reportHtml(view, loadBundle(root)));
  const ctx = await launchBrowser(t);
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(pathToFileURL(html).href);
  return { page, problems };
}

/**
 * Collects what the page asks the host to reveal (REVEAL_EVENT) from now on; returns a reader of
 * what it collected so far.
 */
async function recordReveals(page: Page): Promise<() => Promise<{ file: string; line: number }[]>> {
  await page.evaluate((event) => {
    const w = window as unknown as { reveals: unknown[] };
    w.reveals = [];
    window.addEventListener(event, (e) => w.reveals.push((e as CustomEvent).detail));
  }, REVEAL_EVENT);
  return () => page.evaluate(() => (window as unknown as { reveals: { file: string; line: number }[] }).reveals);
}

function run(file: string, args: readonly string[]): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw r.error;
  return r;
}
const capriccio = (args: readonly string[]): SpawnSyncReturns<string> => run(process.execPath, ['--import', 'tsx', mainTs, ...args]);

interface SummaryNode {
  id: number;
  function: string;
  file: string;
  line: number;
  chain: { function: string }[];
}
interface Summary {
  nodes: SummaryNode[];
  edges: { from: number; to: number }[];
  suggestions: { kind: string; file?: string; line?: number }[];
  stacks: {
    residentBytes: number | null;
    reservedBytes: number | null;
    wasteBytes: number | null;
    measured: string;
    hotSplits: readonly { label: string; reason: string }[];
  };
}

const short = (f: string): string => f.split('/').slice(-2).join('/');

/**
 * The stacks view shows stack memory as the summary has it: resident of reserved and waste with how
 * they were measured, or that they were not (never 0), the chart of resident against reserved, the
 * per-site address space left untouched (not a "used / allocated" bar), and each hot split by what
 * to act on and why.
 */
async function checkStackFigures(page: Page, st: Summary['stacks']): Promise<void> {
  await page.locator('#stacks').scrollIntoViewIfNeeded();
  const memory = page.locator('#stacks .stack-memory');
  if (st.residentBytes !== null && st.reservedBytes !== null && st.wasteBytes !== null) {
    const want = `resident ${formatBytes(st.residentBytes)} of ${formatBytes(st.reservedBytes)} reserved, waste ${formatBytes(st.wasteBytes)} (resident, held by no live thread)`;
    const how = `How: ${st.measured}.`;
    // (the view below the fold is brought up to date once it comes into sight)
    await page.waitForFunction((w) => document.querySelector('#stacks .measured')?.textContent === w, how, { timeout: 5_000 });
    assert.equal(await memory.textContent(), want);
    const resident = await page.locator('[data-chart="stack-memory"] path.chart-line[data-series="resident"]').getAttribute('d');
    assert.ok(resident, 'the chart draws resident stack memory');
  } else {
    assert.match(st.measured, /^not measured/);
    assert.equal(await memory.textContent(), `resident, reserved and waste ${st.measured}`);
    assert.equal(await page.locator('#stacks .measured').count(), 0);
    assert.ok(((await page.locator('[data-chart="stack-memory"] .chart-note').textContent()) ?? '').includes(st.measured), 'the chart says it was not measured');
  }
  assert.match((await page.locator('#stacks .definitions').textContent()) ?? '', /^Resident: .* Reserved: .* Waste: resident bytes no live thread holds/);
  const headers = await page.locator('[data-chart="sites"] th').allTextContents();
  assert.ok(headers.includes('untouched (never resident)') && !headers.some((h) => /allocated|waste/.test(h)), headers.join(' | '));
  const splits = await page.locator('[data-chart="hot-splits"] tbody tr').allTextContents();
  st.hotSplits.slice(0, 50).forEach((h, i) => assert.ok(splits[i]?.startsWith(`${h.label}${h.reason}`), `hot split ${i}: "${splits[i]}" is not ${h.label}: ${h.reason}`));
}

test('the report of a recorded run draws the graph, charts and suggestions, offline, under a strict CSP', async (t) => {
  if (!have(t, BROWSER, RUNTIME)) return;
  const b = run(process.execPath, [join(root, 'scripts', 'build.mjs')]);
  assert.equal(b.status, 0, b.stderr);
  const mk = run('make', ['-s', '-C', join(root, 'samples', 'extlib')]);
  assert.equal(mk.status, 0, mk.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-webview-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const rec = join(dir, 'lookup.caprec');
  const r = capriccio(['run', '--record', rec, '--interval', '50', '--', join(root, 'samples', 'extlib', 'build', 'lookup'), '4', '100']);
  assert.equal(r.status, 0, r.stderr);
  const s = capriccio(['summary', rec, '--json']);
  assert.equal(s.status, 0, s.stderr);
  const summary = JSON.parse(s.stdout) as Summary;
  assert.ok(summary.nodes.length >= 3 && summary.edges.length >= 2, s.stdout);

  const html = join(dir, 'report.html');
  const rep = capriccio(['report', rec, '-o', html]);
  assert.equal(rep.status, 0, rep.stderr);
  const text = readFileSync(html, 'utf8');
  const csp = /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-([A-Za-z0-9+/=]+)'; style-src 'nonce-\1'; img-src data:;">/.exec(text);
  assert.ok(csp, 'CSP meta with one nonce for scripts and styles');
  assert.ok(text.includes(`<script nonce="${csp[1]}">`) && text.includes(`<style nonce="${csp[1]}">`));
  // A fresh nonce per file.
  const again = join(dir, 'again.html');
  assert.equal(capriccio(['report', rec, '-o', again]).status, 0);
  assert.notEqual(/nonce-([^']+)'/.exec(readFileSync(again, 'utf8'))![1], csp[1]);

  const ctx = await launchBrowser(t);
  const page = await ctx.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  page.on('request', (req) => requests.push(req.url()));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(pathToFileURL(html).href);
  await page.waitForFunction((n) => document.querySelectorAll('[data-node-id]').length === n, summary.nodes.length, { timeout: 10_000 });

  // What is drawn: one element per node and per edge, labelled.
  assert.equal(await page.locator('[data-node-id]').count(), summary.nodes.length);
  assert.equal(await page.locator('[data-edge-id]').count(), summary.edges.length);
  for (const e of summary.edges) assert.equal(await page.locator(`[data-edge-id="${e.from}>${e.to}"]`).count(), 1);
  for (const n of summary.nodes) {
    const label = await page.locator(`[data-node-id="${n.id}"]`).textContent();
    assert.ok(label?.includes(n.function), `node ${n.id}: "${label}" lacks ${n.function}`);
    assert.ok(label?.includes(`${short(n.file)}:${n.line}`), `node ${n.id}: "${label}" lacks ${short(n.file)}:${n.line}`);
  }
  const edgeText = await page.locator('[data-edge-id] text').allTextContents();
  assert.ok(edgeText.every((x) => /\d+(\.\d+)? (ns|µs|ms|s) ×\d/.test(x)), `edge labels: ${edgeText.join(' | ')}`);

  // Hover: the tooltip shows the symbolized chain, max and count.
  const looker = summary.nodes.find((n) => n.function === 'looker');
  assert.ok(looker, 'the looker thread blocks');
  await page.hover(`[data-node-id="${looker.id}"]`);
  const tip = page.locator('.tooltip');
  await tip.waitFor({ state: 'visible' });
  const tipText = (await tip.textContent()) ?? '';
  for (const f of looker.chain.filter((c) => c.function !== '??')) assert.ok(tipText.includes(f.function), `tooltip lacks ${f.function}: ${tipText}`);
  assert.match(tipText, /max \d/);
  assert.match(tipText, /waits \d/);

  // Click: asks the host to reveal the node's source line (the report shows it and fires an event).
  const reveals = await recordReveals(page);
  await page.click(`[data-node-id="${looker.id}"]`);
  assert.deepEqual(await reveals(), [{ file: looker.file, line: looker.line }]);
  assert.equal(await page.locator('.notice').textContent(), `open ${looker.file}:${looker.line}`);

  // Stacks and resources charts are drawn.
  for (const id of ['threads', 'runqueue', 'memory', 'fds', 'dropped', 'edge-latency', 'stack-memory']) {
    const paths = await page.locator(`[data-chart="${id}"] path.chart-line`).evaluateAll((ps) => ps.map((p) => p.getAttribute('d') ?? ''));
    assert.ok(paths.length > 0 && paths.some((d) => d.length > 0), `chart ${id} has no line`);
  }
  assert.ok((await page.locator('[data-chart="sites"] rect.bar-used').count()) > 0, 'per-site bars');
  assert.ok((await page.locator('[data-chart="hot-splits"] tr').count()) > 1, 'hot splits table');
  await checkStackFigures(page, summary.stacks);

  // Suggestions, each with a link to its source line.
  const sug = summary.suggestions.find((x) => x.kind === 'annotate-blocking');
  assert.ok(sug?.file !== undefined && sug.line !== undefined);
  const link = page.locator('li.suggestion[data-kind="annotate-blocking"] a.source-link');
  assert.equal(await link.count(), 1);
  await link.click();
  assert.deepEqual((await reveals()).at(-1), { file: sug.file, line: sug.line });

  // Search filters the graph.
  await page.fill('input.search', 'ticker');
  assert.ok((await page.locator('[data-node-id].match').count()) >= 1);
  assert.ok((await page.locator('[data-node-id].dim').count()) >= 1);
  await page.fill('input.search', '');

  // No inline handlers, no remote resource.
  const inline = await page.evaluate(() =>
    [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name) || (/^(src|href|xlink:href)$/.test(a.name) && /^\w+:/.test(a.value) && !a.value.startsWith('data:'))).map((a) => `${e.tagName} ${a.name}`)),
  );
  assert.deepEqual(inline, []);

  mkdirSync(join(root, 'test-results'), { recursive: true });
  await page.screenshot({ path: join(root, 'test-results', 'webview-report.png'), fullPage: true });

  // Data it cannot render: a clear message, no crash.
  await page.evaluate(() => window.dispatchEvent(new MessageEvent('message', { data: { type: 'update', view: { version: 1, nodes: 'x' } } })));
  assert.match((await page.locator('.error-message').textContent()) ?? '', /Cannot show this data: view.source: expected a string/);

  assert.deepEqual(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), [], 'no network requests');
  assert.deepEqual(problems, []);
});

test('a large graph (1,000 points, 3,000 edges): an element per node and edge, canvas edges answer hover and click, live updates keep them', async (t) => {
  if (!have(t, BROWSER)) return;
  const { page, problems } = await openReport(t, syntheticView(1000, 3000, 0), 'large');
  await page.waitForFunction(() => document.querySelectorAll('[data-edge-id]').length === 3000, undefined, { timeout: 10_000 });
  assert.equal(await page.locator('[data-node-id]').count(), 1000);
  assert.ok(await page.locator('canvas.graph-canvas').isVisible(), 'large graphs paint on the canvas');

  // A point on an edge that no node box covers: the middle of its curve, in page coordinates.
  const spot = await page.evaluate(() => {
    const svgEl = document.querySelector('svg.graph-svg')!;
    const box = svgEl.getBoundingClientRect();
    const m = /translate\(([-\d.e]+),([-\d.e]+)\) scale\(([-\d.e]+)\)/.exec(document.querySelector('g.zoom-layer')!.getAttribute('transform') ?? '');
    if (!m) throw new Error('no zoom transform');
    const [tx, ty, k] = [Number(m[1]), Number(m[2]), Number(m[3])];
    for (const g of document.querySelectorAll('[data-edge-id]')) {
      const n = (g.querySelector('path')!.getAttribute('d') ?? '').match(/-?[\d.]+/g)!.map(Number);
      // the curve at t = 1/2 (no helper function here: the test runner would rename it)
      const x = box.left + tx + (k * (n[0]! + 3 * n[2]! + 3 * n[4]! + n[6]!)) / 8;
      const y = box.top + ty + (k * (n[1]! + 3 * n[3]! + 3 * n[5]! + n[7]!)) / 8;
      if (x < box.left + 20 || x > box.right - 20 || y < box.top + 20 || y > box.bottom - 20) continue;
      if (document.elementFromPoint(x, y) !== svgEl) continue; // a node box is over it
      return { id: (g as SVGGElement).dataset['edgeId']!, x, y };
    }
    throw new Error('no uncovered edge in view');
  });
  await page.mouse.move(spot.x, spot.y);
  const tip = page.locator('.tooltip');
  await tip.waitFor({ state: 'visible' });
  assert.match((await tip.textContent()) ?? '', /→.*runs \d.*avg \d.*max \d/);
  const revealed = await recordReveals(page);
  await page.mouse.click(spot.x, spot.y);
  const reveals = await revealed();
  assert.equal(reveals.length, 1, "a click on a canvas edge reveals its target's source");
  assert.match(reveals[0]!.file, /module_\d+\.c$/);

  // Live updates: same elements, still one per node and edge.
  for (let step = 1; step <= 3; step++) {
    await page.evaluate((view) => window.dispatchEvent(new MessageEvent('message', { data: { type: 'update', view } })), syntheticView(1000, 3000, step));
  }
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  assert.equal(await page.locator('[data-node-id]').count(), 1000);
  assert.equal(await page.locator('[data-edge-id]').count(), 3000);

  // At the telemetry cadence the resource charts are brought up to date in frames of their own,
  // never in the frame that renders an update: no frame pays for both.
  // (they are redrawn only while in sight, and the views above them fill the first screen)
  await page.locator('#resources').scrollIntoViewIfNeeded();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  const latest = syntheticView(1000, 3000, 4);
  // (plain JavaScript in a string: the test runner would wrap named functions in a helper the page lacks)
  const probe = `async (views) => {
    const frames = [];
    const state = { looping: true };
    state.loop = () => requestAnimationFrame(() => {
      const start = performance.now();
      setTimeout(() => frames.push({ start, end: performance.now() }), 0);
      if (state.looping) state.loop();
    });
    state.loop();
    performance.clearMeasures();
    for (const view of views) {
      window.dispatchEvent(new MessageEvent('message', { data: { type: 'update', view } }));
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 400));
    state.looping = false;
    const renders = performance.getEntriesByName('capriccio-render').map((m) => m.startTime);
    const resources = performance.getEntriesByName('capriccio-resources').map((m) => m.startTime);
    const frameOf = (t) => frames.findIndex((f) => t >= f.start && t < f.end);
    return {
      renders: renders.length,
      resources: resources.length,
      shared: resources.filter((t) => frameOf(t) >= 0 && renders.some((r) => frameOf(r) === frameOf(t))).length,
      lastResourcesAfterLastRender: resources.length > 0 && resources[resources.length - 1] > renders[renders.length - 1],
      legend: document.querySelector('[data-chart="threads"] .legend-item')?.textContent ?? '',
    };
  }`;
  const views = [syntheticView(1000, 3000, 5), syntheticView(1000, 3000, 6), latest];
  const cadence = await page.evaluate<{
    renders: number;
    resources: number;
    shared: number;
    lastResourcesAfterLastRender: boolean;
    legend: string;
  }>(`(${probe})(${JSON.stringify(views)})`);
  assert.equal(cadence.renders, 3, JSON.stringify(cadence));
  assert.ok(cadence.resources >= 1, `the resource charts were not redrawn: ${JSON.stringify(cadence)}`);
  assert.equal(cadence.shared, 0, `resource charts drawn in an update's frame: ${JSON.stringify(cadence)}`);
  assert.ok(cadence.lastResourcesAfterLastRender, `the resource charts do not show the latest update: ${JSON.stringify(cadence)}`);
  assert.equal(cadence.legend, `live ${formatCount(latest.history.threads.at(-1)!)}`);

  // The workers' table, one row per worker, as of the latest update.
  const rows = await page.locator('#resources .workers tbody tr').allTextContents();
  assert.equal(rows.length, latest.workers.length, rows.join(' | '));
  latest.workers.forEach((w, i) => {
    assert.ok(rows[i]!.startsWith(`#${w.id}`), rows[i]);
    assert.ok(rows[i]!.includes(`${(w.utilisation * 100).toFixed(1)}%`), `${rows[i]} lacks ${w.utilisation}`);
    assert.ok(rows[i]!.includes(formatCount(w.steals)), rows[i]);
  });

  // The stack figures of the latest update, brought up to date when scrolled into sight, and its
  // stack memory over time (measured from the fifth snapshot on: no line before, the latest after).
  await checkStackFigures(page, latest.stacks);
  const legend = await page.locator('[data-chart="stack-memory"] .legend-item').allTextContents();
  assert.ok(legend.includes(`resident ${formatBytes(latest.history.stackResidentBytes.at(-1)!)}`), legend.join(' | '));
  assert.ok(legend.includes(`reserved ${formatBytes(latest.history.stackReservedBytes.at(-1)!)}`), legend.join(' | '));
  assert.deepEqual(problems, []);
});

test('the wait flame: frames as wide as their share of wait time, a tooltip each, a click or Enter opens the source, live updates, an empty state', async (t) => {
  if (!have(t, BROWSER)) return;
  const view = syntheticView(40, 60, 0);
  /** the two points with the most wait time (some others are too narrow to draw) */
  const byWait = (v: ViewData) => [...v.nodes].sort((a, b) => b.waitTotalNs - a.waitTotalNs).slice(0, 2);
  const { page, problems } = await openReport(t, view, 'flame');
  const frame = (fn: string) => page.locator(`#flame g.flame-frame[data-function="${fn}"]`);
  const [n1, n2] = byWait(view);
  assert.ok(n1 && n2);
  await frame(n1.label).waitFor({ state: 'attached', timeout: 10_000 });

  // Beside the graph: next in the page and in the navigation.
  assert.equal(await page.locator('#flame h2').textContent(), 'Wait flame');
  assert.equal(await page.evaluate(() => document.getElementById('graph')?.nextElementSibling?.id), 'flame');
  const nav = await page.locator('nav a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.equal(nav[nav.indexOf('#graph') + 1], '#flame', nav.join(' '));

  // Widths: every synthetic chain is serve → handler_N → its kind, so the handlers share the root's width.
  const widths = (sel: string) => page.locator(sel).evaluateAll((gs) => gs.map((g) => Number(g.querySelector('rect')!.getAttribute('width'))));
  const shares = async (v: ViewData): Promise<void> => {
    const total = v.nodes.reduce((s, n) => s + n.waitTotalNs, 0);
    const [rootW] = await widths('#flame g.flame-root');
    assert.ok(rootW !== undefined && rootW > 300, `root width ${rootW}`);
    // (frames narrower than half a pixel are not drawn)
    const hidden = v.nodes.filter((n) => (n.waitTotalNs / total) * rootW < 0.5);
    const handlers = await widths('#flame g.flame-own[data-function^="handler_"]');
    assert.equal(handlers.length, v.nodes.length - hidden.length);
    const sum = handlers.reduce((s, w) => s + w, 0);
    assert.ok(Math.abs(sum - rootW) <= 1 + 0.5 * hidden.length, `handlers ${sum} px, root ${rootW} px`);
    for (const n of [...byWait(v), v.nodes[1]!]) {
      const [w] = await widths(`#flame g.flame-frame[data-function="${n.label}"]`);
      const share = n.waitTotalNs / total;
      assert.ok(Math.abs(w! / rootW - share) <= 0.02 * share, `${n.label}: ${w} of ${rootW} px, wait share ${share}`);
    }
  };
  await shares(view);
  const tip = (await frame(n1.label).locator('title').textContent()) ?? '';
  assert.ok(tip.startsWith(`${n1.label} (server/${n1.file.split('/').at(-1)}:${n1.line}) — `), tip);
  assert.match(tip, / — \d[\d.]* (ns|µs|ms|s) waited, \d+% of all, [\d,.]+ k? ?waits$/);
  assert.equal(await frame(n1.label).getAttribute('aria-label'), tip);
  assert.equal(await frame(n1.label).getAttribute('role'), 'button');
  assert.equal(await frame(n1.label).getAttribute('tabindex'), '0');
  assert.equal(await page.locator(`#flame g.flame-leaf[data-kind="${n1.kind}"]`).count() > 0, true, 'a leaf per kind');
  assert.equal(await page.locator('#flame g.flame-root').getAttribute('role'), 'img', 'all waits has no source');

  // Click, and Enter on a focused frame: the report shows where it would open and fires REVEAL_EVENT.
  const reveals = await recordReveals(page);
  await frame(n1.label).click();
  assert.deepEqual(await reveals(), [{ file: n1.file, line: n1.line }]);
  assert.equal(await page.locator('.notice').textContent(), `open ${n1.file}:${n1.line}`);
  await frame(n2.label).focus();
  await page.keyboard.press('Enter');
  assert.deepEqual((await reveals()).at(-1), { file: n2.file, line: n2.line });
  await page.locator('#flame g.flame-root').click();
  assert.equal((await reveals()).length, 2, 'all waits opens nothing');

  // A live update while in sight: the widths follow the new figures; the frames keep their elements.
  await page.evaluate(() => {
    (window as unknown as { kept: Element | null }).kept = document.querySelector('#flame g.flame-frame[data-function="serve"]');
  });
  const later = syntheticView(40, 60, 3);
  await page.evaluate((v) => window.dispatchEvent(new MessageEvent('message', { data: { type: 'update', view: v } })), later);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  await shares(later);
  assert.ok(await page.evaluate(() => (window as unknown as { kept: Element | null }).kept === document.querySelector('#flame g.flame-frame[data-function="serve"]')));

  // No wait ended: a sentence says so, nothing is drawn.
  const idle = { ...later, nodes: later.nodes.map((n) => ({ ...n, count: 0, waitAvgNs: 0, waitMaxNs: 0, waitTotalNs: 0 })) };
  await page.evaluate((v) => window.dispatchEvent(new MessageEvent('message', { data: { type: 'update', view: v } })), idle);
  await page.locator('#flame p.empty').waitFor({ state: 'visible' });
  assert.match((await page.locator('#flame p.empty').textContent()) ?? '', /^No wait has ended yet/);
  assert.equal(await page.locator('#flame svg.flame-svg').isVisible(), false);
  assert.deepEqual(problems, []);
});

test('capriccio report: a file that is not a recording is a one-line error, exit 1; usage errors exit 2', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const junk = join(dir, 'junk.bin');
  writeFileSync(junk, 'not a recording at all');
  if (!existsSync(join(root, 'dist', 'webview.js'))) assert.equal(run(process.execPath, [join(root, 'scripts', 'build.mjs')]).status, 0);
  const r = capriccio(['report', junk, '-o', join(dir, 'out.html')]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^capriccio: /);
  assert.equal(existsSync(join(dir, 'out.html')), false);
  assert.equal(capriccio(['report', junk]).status, 2);
  assert.equal(capriccio(['report', '-o', join(dir, 'x.html')]).status, 2);
});

test('contention and wakes: wake edges drawn dashed in their own colour, a lock point lists its holders, the Locks view links both sites', async (t) => {
  if (!have(t, BROWSER)) return;
  const base = syntheticView(6, 5, 0);
  const [n1, , n3] = base.nodes;
  const serve = (line: number) => ({ function: 'serve', file: '/src/server/main.c', line });
  const view: ViewData = {
    ...base,
    locks: [
      {
        id: n3!.id,
        label: n3!.label,
        kind: 'mutex',
        function: n3!.label,
        file: n3!.file,
        line: n3!.line,
        waits: 40,
        waitNs: 2e8,
        holders: [{ ...serve(88), count: 40, holdAvgNs: 5e6, holdMaxNs: 5.4e6, waitNs: 2e8, release: serve(90) }],
      },
    ],
    wakes: [
      { from: serve(91), to: n3!.id, fromNode: n1!.id, count: 30 },
      { from: serve(95), to: n3!.id, fromNode: n1!.id, count: 3 },
      { from: serve(99), to: n1!.id, fromNode: null, count: 2 }, // a waker that had not blocked: not in the graph
    ],
  };
  const { page, problems } = await openReport(t, view, 'locks');
  await page.waitForFunction((n) => document.querySelectorAll('[data-node-id]').length === n, view.nodes.length, { timeout: 10_000 });

  // One dashed wake edge for the two waker lines from n1 to n3; none for the waker without a point.
  assert.equal(await page.locator('[data-wake-id]').count(), 1);
  const wake = page.locator(`[data-wake-id="${n1!.id}~${n3!.id}"] path`);
  const look = await wake.evaluate((p) => ({ dash: getComputedStyle(p).strokeDasharray, stroke: getComputedStyle(p).stroke }));
  const runStroke = await page.locator('[data-edge-id] path').first().evaluate((p) => getComputedStyle(p).stroke);
  assert.notEqual(look.dash, 'none', 'dashed');
  assert.notEqual(look.stroke, runStroke, 'its own colour');
  assert.match((await page.locator('#graph .legend').textContent()) ?? '', /wake: the waker's last blocking point → the point it made runnable/);

  // Hover the wake edge (the middle of its curve, in page coordinates): its count and waker lines.
  const spot = await page.evaluate((id) => {
    const svgEl = document.querySelector('svg.graph-svg')!;
    const box = svgEl.getBoundingClientRect();
    const m = /translate\(([-\d.e]+),([-\d.e]+)\) scale\(([-\d.e]+)\)/.exec(document.querySelector('g.zoom-layer')!.getAttribute('transform') ?? '');
    if (!m) throw new Error('no zoom transform');
    const [tx, ty, k] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const n = (document.querySelector(`[data-wake-id="${id}"] path`)!.getAttribute('d') ?? '').match(/-?[\d.]+/g)!.map(Number);
    return { x: box.left + tx + (k * (n[0]! + 3 * n[2]! + 3 * n[4]! + n[6]!)) / 8, y: box.top + ty + (k * (n[1]! + 3 * n[3]! + 3 * n[5]! + n[7]!)) / 8 };
  }, `${n1!.id}~${n3!.id}`);
  await page.mouse.move(spot.x, spot.y);
  const tip = page.locator('.tooltip');
  await tip.waitFor({ state: 'visible' });
  const wakeTip = (await tip.textContent()) ?? '';
  assert.match(wakeTip, /wakes 33:/);
  assert.ok(wakeTip.includes('serve server/main.c:91 ×30') && wakeTip.includes('serve server/main.c:95 ×3'), wakeTip);

  // The lock's point: who held it while threads waited there.
  await page.hover(`[data-node-id="${n3!.id}"]`);
  await page.waitForFunction(() => document.querySelector('.tooltip')?.textContent?.includes('held by') ?? false);
  assert.ok(((await tip.textContent()) ?? '').includes('held by serve server/main.c:88 → released at serve server/main.c:90, avg 5.00 ms, ×40'));

  // The toggle hides the wake edges.
  await page.locator('input.show-wakes').uncheck();
  assert.equal(await wake.isVisible(), false);
  await page.locator('input.show-wakes').check();
  assert.equal(await wake.isVisible(), true);

  // The Locks view: the waiting point, its holder's acquisition and release sites as links; the wakes.
  await page.locator('#locks').scrollIntoViewIfNeeded();
  await page.locator('[data-chart="locks"] tbody tr').first().waitFor();
  const cells = await page.locator('[data-chart="locks"] tbody tr').first().locator('td').allTextContents();
  assert.deepEqual(cells, [n3!.label, 'mutex', '40', '200 ms', 'serve server/main.c:88', 'serve server/main.c:90', '5.00 ms', '5.40 ms', '40']);
  const wakeRows = await page.locator('[data-chart="wakes"] tbody tr').allTextContents();
  assert.equal(wakeRows.length, 3);
  assert.ok(wakeRows[0]!.startsWith('serve server/main.c:91') && wakeRows[0]!.endsWith('30'), wakeRows[0]);
  const reveals = await recordReveals(page);
  await page.locator('[data-chart="locks"] a.source-link', { hasText: 'serve server/main.c:88' }).click();
  assert.deepEqual(await reveals(), [{ file: '/src/server/main.c', line: 88 }]);

  // A recording before protocol version 4: said so, no table, no wake edge.
  const old: ViewData = { ...view, locks: [], wakes: [], syncRecorded: false, syncMeasured: 'not recorded: protocol version 3' };
  await page.evaluate((v) => window.dispatchEvent(new MessageEvent('message', { data: { type: 'update', view: v } })), old);
  await page.waitForFunction(() => document.querySelector('#locks .measured')?.textContent === 'Contended locks and wakes: not recorded: protocol version 3.');
  assert.equal(await page.locator('#locks table').count(), 0);
  assert.equal(await page.locator('[data-wake-id]').count(), 0);
  assert.deepEqual(problems, []);
});

test('wait-for edges: a lock point has a critical-section box per holder with the most wait (at most 3) and a dotted edge to each; hover, click, toggle', async (t) => {
  if (!have(t, BROWSER)) return;
  const base = syntheticView(6, 5, 0);
  const [, , n3, , n5] = base.nodes;
  const at = (fn: string, file: string, line: number) => ({ function: fn, file, line });
  const holder = (acq: ReturnType<typeof at>, rel: number, count: number, holdAvgNs: number, waitNs: number) => ({ ...acq, count, holdAvgNs, holdMaxNs: holdAvgNs * 2, waitNs, release: { ...acq, line: rel } });
  // Most hand-overs first (as the view lists them); the three with the most wait are drawn, not the first three.
  const holders = [
    holder(at('tiny', '/src/server/util.c', 7), 9, 200, 1e3, 1e3),
    holder(at('accept_loop', '/src/server/net.c', 40), 52, 100, 1e4, 1e6),
    holder(at('serve', '/src/server/main.c', 88), 90, 40, 5e6, 2e8),
    holder(at('flush', '/src/server/io.c', 120), 131, 10, 2e6, 3e7),
  ];
  const lock = (n: typeof n3, kind: 'mutex' | 'sem', hs: typeof holders) => ({ id: n!.id, label: n!.label, kind, function: n!.label, file: n!.file, line: n!.line, waits: 350, waitNs: 2.5e8, holders: hs });
  const view: ViewData = { ...base, locks: [lock(n3, 'mutex', holders), lock(n5, 'sem', [holder(at('worker', '??', 0), 0, 3, 1e6, 4e6)])] };
  const key = (n: typeof n3, h: (typeof holders)[number]) => `${n!.id}@${h.function}@${h.file}:${h.line}`;
  const { page, problems } = await openReport(t, view, 'waitfor');
  await page.waitForFunction((n) => document.querySelectorAll('[data-node-id]').length === n, view.nodes.length, { timeout: 10_000 });

  // Boxes: three for n3 (the most wait: serve, flush, accept_loop; not tiny), one for n5; labelled acquire→release and hold.
  const box = (k: string) => page.locator(`[data-section-id="${k}"]`);
  assert.equal(await page.locator(`[data-section-id][data-lock="${n3!.id}"]`).count(), 3);
  assert.equal(await page.locator('[data-section-id]').count(), 4);
  assert.equal(await box(key(n3, holders[0]!)).count(), 0, 'the fourth by wait is not drawn');
  const texts = async (k: string) => [await box(k).locator('.section-label').textContent(), await box(k).locator('.section-held').textContent()];
  assert.deepEqual(await texts(key(n3, holders[2]!)), ['serve · server/main.c:88→90', 'held avg 5.00 ms ×40']);
  assert.deepEqual(await texts(key(n3, holders[3]!)), ['flush · server/io.c:120→131', 'held avg 2.00 ms ×10']);
  // (a label longer than the box shortens the function, never the place)
  assert.deepEqual(await texts(key(n3, holders[1]!)), ['accept… · server/net.c:40→52', 'held avg 10.0 µs ×100']);
  assert.match((await page.locator('#graph .legend').textContent()) ?? '', /wait-for: a lock's waiting point → the critical section \(acquire → release\) that held it/);

  // Geometry (graph coordinates): no box overlaps a point's box; each dotted edge runs from its waiter's box to its section's box.
  // (no named function inside evaluate: tsx would wrap it in a helper the page does not have)
  const geo = await page.evaluate(() => ({
    nodes: [...document.querySelectorAll('[data-node-id]')].map((g) => ({ id: Number((g as SVGGElement).dataset['nodeId']), rect: ['x', 'y', 'width', 'height'].map((a) => Number(g.querySelector('rect')!.getAttribute(a))) })),
    sections: [...document.querySelectorAll('[data-section-id]')].map((g) => ({
      key: (g as SVGGElement).dataset['sectionId']!,
      lock: Number((g as SVGGElement).dataset['lock']),
      rect: ['x', 'y', 'width', 'height'].map((a) => Number(g.querySelector('rect')!.getAttribute(a))),
    })),
    edges: [...document.querySelectorAll('[data-waitfor-id]')].map((g) => {
      const line = g.querySelector('path.line')!;
      const s = getComputedStyle(line);
      return { key: (g as SVGGElement).dataset['waitforId']!, d: (line.getAttribute('d') ?? '').match(/-?[\d.]+/g)!.map(Number), dash: s.strokeDasharray, stroke: s.stroke, cap: s.strokeLinecap, width: Number.parseFloat(s.strokeWidth), marker: line.getAttribute('marker-end') };
    }),
  }));
  const asBox = (r: number[]) => ({ x: r[0]!, y: r[1]!, w: r[2]!, h: r[3]! });
  const nodes = geo.nodes.map((n) => ({ id: n.id, ...asBox(n.rect) }));
  const sections = geo.sections.map((n) => ({ key: n.key, lock: n.lock, ...asBox(n.rect) }));
  type Box = { x: number; y: number; w: number; h: number };
  const overlap = (a: Box, c: Box) => a.x < c.x + c.w && c.x < a.x + a.w && a.y < c.y + c.h && c.y < a.y + a.h;
  const near = (px: number, py: number, bx: Box) => px >= bx.x - 3 && px <= bx.x + bx.w + 3 && py >= bx.y - 3 && py <= bx.y + bx.h + 3;
  for (const s of sections) for (const n of nodes) assert.ok(!overlap(s, n), `section ${s.key} overlaps point ${n.id}`);
  assert.equal(geo.edges.length, 4);
  const wakeStroke = await page.evaluate(() => {
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'g');
    p.setAttribute('class', 'wake');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    p.append(path);
    document.querySelector('g.wakes')!.append(p);
    const s = getComputedStyle(path).stroke;
    p.remove();
    return s;
  });
  for (const e of geo.edges) {
    const s = sections.find((x) => x.key === e.key)!;
    const n = nodes.find((x) => x.id === s.lock)!;
    const d = e.d;
    assert.ok(near(d[0]!, d[1]!, n) && Math.abs(d[0]! - (n.x + n.w)) <= 3, `${e.key} starts at its waiter's box: ${d.slice(0, 2).join(",")} ${JSON.stringify(n)}`);
    assert.ok(near(d[6]!, d[7]!, s) && Math.abs(d[6]! - s.x) <= 3, `${e.key} ends at its section's box: ${d.slice(6).join(",")} ${JSON.stringify(s)}`);
    assert.match(e.dash, /^0(px)?,? /, `${e.key} dotted: ${e.dash}`);
    assert.equal(e.cap, 'round');
    assert.equal(e.marker, 'url(#waitfor-arrow)');
    assert.notEqual(e.stroke, wakeStroke, 'the lock colour, not the wakes\'');
  }
  const widthOf = (k: string) => geo.edges.find((e) => e.key === k)!.width;
  assert.ok(widthOf(key(n3, holders[2]!)) > widthOf(key(n3, holders[1]!)), 'wider for more wait');

  // Hover the serve edge (the middle of its curve) and the serve box.
  const spot = await page.evaluate((k) => {
    const box = document.querySelector('svg.graph-svg')!.getBoundingClientRect();
    const m = /translate\(([-\d.e]+),([-\d.e]+)\) scale\(([-\d.e]+)\)/.exec(document.querySelector('g.zoom-layer')!.getAttribute('transform') ?? '');
    if (!m) throw new Error('no zoom transform');
    const [tx, ty, sc] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const n = (document.querySelector(`[data-waitfor-id="${k}"] path.line`)!.getAttribute('d') ?? '').match(/-?[\d.]+/g)!.map(Number);
    return { x: box.left + tx + (sc * (n[0]! + 3 * n[2]! + 3 * n[4]! + n[6]!)) / 8, y: box.top + ty + (sc * (n[1]! + 3 * n[3]! + 3 * n[5]! + n[7]!)) / 8 };
  }, key(n3, holders[2]!));
  await page.mouse.move(spot.x, spot.y);
  const tip = page.locator('.tooltip');
  await tip.waitFor({ state: 'visible' });
  const waiter = `${n3!.label} server/${n3!.file.split('/').at(-1)}:${n3!.line}`;
  const edgeTip = (await tip.textContent()) ?? '';
  assert.ok(edgeTip.includes(`waited 5.00 ms avg at ${waiter} while serve server/main.c:88 held it (avg 5.00 ms, ×40)`), edgeTip);
  await box(key(n3, holders[2]!)).hover();
  await page.waitForFunction(() => document.querySelector('.tooltip')?.textContent?.includes('critical section:') ?? false);
  assert.ok(((await tip.textContent()) ?? '').includes('critical section: serve server/main.c:88 → released at serve server/main.c:90'));

  // A click on a box opens its acquire site; one without a source opens nothing.
  const reveals = await recordReveals(page);
  await box(key(n3, holders[3]!)).click();
  assert.deepEqual(await reveals(), [{ file: '/src/server/io.c', line: 120 }]);
  assert.equal(await page.locator('.notice').textContent(), 'open /src/server/io.c:120');
  await page.locator(`[data-section-id][data-lock="${n5!.id}"]`).click();
  assert.equal((await reveals()).length, 1, 'no source: nothing opened');

  // The checkbox hides boxes and edges, and shows them again.
  const serveBox = box(key(n3, holders[2]!));
  const serveEdge = page.locator(`[data-waitfor-id="${key(n3, holders[2]!)}"] path.line`);
  assert.ok((await serveBox.isVisible()) && (await serveEdge.isVisible()));
  await page.locator('input.show-waitfor').uncheck();
  assert.equal(await serveBox.isVisible(), false);
  assert.equal(await serveEdge.isVisible(), false);
  await page.locator('input.show-waitfor').check();
  assert.ok((await serveBox.isVisible()) && (await serveEdge.isVisible()));

  // A live update relabels in place; a view without locks draws none.
  await page.evaluate((k) => {
    (window as unknown as { kept: Element | null }).kept = document.querySelector(`[data-section-id="${k}"]`);
  }, key(n3, holders[2]!));
  const later: ViewData = { ...view, locks: [lock(n3, 'mutex', holders.map((h) => (h.function === 'serve' ? { ...h, count: 41, holdAvgNs: 6e6 } : h)))] };
  const post = (v: ViewData) => page.evaluate((x) => window.dispatchEvent(new MessageEvent('message', { data: { type: 'update', view: x } })), v);
  await post(later);
  await page.waitForFunction((k) => document.querySelector(`[data-section-id="${k}"] .section-held`)?.textContent === 'held avg 6.00 ms ×41', key(n3, holders[2]!));
  assert.ok(await page.evaluate((k) => (window as unknown as { kept: Element | null }).kept === document.querySelector(`[data-section-id="${k}"]`), key(n3, holders[2]!)));
  assert.equal(await page.locator('[data-section-id]').count(), 3);
  await post({ ...view, locks: [] });
  await page.waitForFunction(() => document.querySelectorAll('[data-section-id], [data-waitfor-id]').length === 0);
  assert.deepEqual(problems, []);
});
