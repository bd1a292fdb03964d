// The yield suggestion applied as written (issue 15: each suggestion kind has a test that applies
// it and shows the effect; annotate-apply.test.ts does the annotate and chunk-size kinds).
// samples/hog on one worker: its hot loop never blocks, so the ticker beside it waits for the
// whole run. The profile suggests a yield point on the loop; the quick fix puts it there; the
// program built again from the fixed source gets no yield suggestion, and its ticker's worst delay
// (which hog prints) falls by far more than a loaded machine could account for. The two
// recordings, compared: `capriccio diff`, and the report's Compare view (`report --compare`), in
// its data and as Chromium draws it.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { loadCParser } from '../src/source/cparser.ts';
import { applyEdits, yieldFix } from '../src/fixes/fixes.ts';
import { DATA_ID } from '../../shared/domids.ts';
import type { DiffPoint, ViewData } from '../../shared/view.ts';
import { formatCount, formatNs } from '../../webview/src/format.ts';
import { BROWSER, CHROMIUM, have, RUNTIME } from './prerequisites.ts';

const root = resolve(__dirname, '..', '..');
const mainTs = join(root, 'extension', 'src', 'cli', 'main.ts');
const capcc = join(root, 'bin', 'capcc');

interface Suggestion {
  kind: string;
  function?: string;
  file?: string;
  line?: number;
}

function run(file: string, args: readonly string[], cwd = root): SpawnSyncReturns<string> {
  const r = spawnSync(file, args, { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CAPRICCIO_WORKERS: '1' } });
  if (r.error) throw r.error;
  return r;
}

/** Builds DIR/hog.c with capcc and profiles one second of it: its suggestions and its worst tick delay. */
function profile(dir: string, name: string): { suggestions: Suggestion[]; worstMs: number } {
  const exe = join(dir, name);
  const cc = run(capcc, ['-O2', '-g', '-pthread', join(dir, 'hog.c'), '-o', exe], dir);
  assert.equal(cc.status, 0, cc.stderr);
  const rec = join(dir, `${name}.cap`);
  const r = run(process.execPath, ['--import', 'tsx', mainTs, 'run', '--record', rec, '--interval', '50', '--', exe, '1']);
  assert.equal(r.status, 0, r.stderr);
  const m = /worst delay (\d+) ms/.exec(r.stdout);
  assert.ok(m, `hog printed no worst delay: ${r.stdout}`);
  const s = run(process.execPath, ['--import', 'tsx', mainTs, 'summary', rec, '--json']);
  assert.equal(s.status, 0, s.stderr);
  return { suggestions: (JSON.parse(s.stdout) as { suggestions: Suggestion[] }).suggestions, worstMs: Number(m[1]) };
}

before(() => loadCParser());

/** The ticker's sleep among compared points (its line moved with the fix: matched by kind and function). */
const tickerSleep = <P extends Pick<DiffPoint, 'kind' | 'label'>>(points: readonly P[]): P[] => points.filter((p) => p.kind === 'sleep' && p.label.startsWith('ticker '));

/** The report of AFTER compared with BEFORE: its file and the ViewData embedded in it. */
function compareReport(dir: string, before: string, after: string): { html: string; view: ViewData } {
  const html = join(dir, 'compare.html');
  const r = run(process.execPath, ['--import', 'tsx', mainTs, 'report', after, '--compare', before, '-o', html]);
  assert.equal(r.status, 0, r.stderr);
  const data = new RegExp(`<script type="application/json" id="${DATA_ID}">(.*?)</script>`, 's').exec(readFileSync(html, 'utf8'));
  assert.ok(data, 'no ViewData in the report');
  return { html, view: JSON.parse(data[1]!) as ViewData };
}

test('yield applied as written: the hog loop gets its yield point, the suggestion is gone and the ticker is no longer starved', async (t) => {
  if (!have(t, RUNTIME)) return;
  const dir = mkdtempSync(join(tmpdir(), 'capriccio-yield-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const src = join(dir, 'hog.c');
  copyFileSync(join(root, 'samples', 'hog', 'hog.c'), src);

  const before = profile(dir, 'hog-before');
  const y = before.suggestions.find((s) => s.kind === 'yield' && s.function === 'hog');
  assert.ok(y?.line, `no yield suggestion for hog: ${JSON.stringify(before.suggestions)}`);
  assert.equal(y.file, src);
  // One worker, a cooperative hog of a second: the ticker waited for most of it.
  assert.ok(before.worstMs >= 400, `the ticker's worst delay before the fix was only ${before.worstMs} ms`);

  const text = readFileSync(src, 'utf8');
  const fix = yieldFix(text, y.line);
  assert.ok(fix, `no fix for line ${y.line}`);
  const fixed = applyEdits(text, fix.edits);
  assert.match(fixed, /sched_yield\(\);/);
  writeFileSync(src, fixed);

  const after = profile(dir, 'hog-after');
  assert.deepEqual(
    after.suggestions.filter((s) => s.kind === 'yield'),
    [],
    'a yield suggestion remains after the fix',
  );
  t.diagnostic(`ticker's worst delay: ${before.worstMs} ms before the fix, ${after.worstMs} ms after`);
  assert.ok(after.worstMs * 4 <= before.worstMs, `worst delay ${before.worstMs} ms before the fix, ${after.worstMs} ms after`);

  // capriccio diff shows it: the ticker's sleep, matched across the rebuild (the fix moved its
  // line), ended at least four times as often after (a tick every 5 ms, not one per hog's
  // second). Its longest wait shows the hog's second only when the sleep's timer fired late; when
  // it fired on time, the ticker spent that second runnable behind the hog, which no wait counts.
  const d = run(process.execPath, ['--import', 'tsx', mainTs, 'diff', join(dir, 'hog-before.cap'), join(dir, 'hog-after.cap'), '--json']);
  assert.equal(d.status, 0, d.stderr);
  const diff = JSON.parse(d.stdout) as {
    points: { kind: string; label: string; before: { count: number; waitMaxNs: number } | null; after: { count: number; waitMaxNs: number } | null; change: number }[];
  };
  const tick = tickerSleep(diff.points);
  assert.equal(tick.length, 1, JSON.stringify(diff.points));
  const [b, a] = [tick[0]!.before, tick[0]!.after];
  assert.ok(b && a, `the ticker's sleep is on both sides: ${JSON.stringify(tick[0])}`);
  t.diagnostic(`diff: the ticker's sleep ended ${b.count} times before, ${a.count} after; it waited at most ${b.waitMaxNs} ns before, ${a.waitMaxNs} ns after`);
  assert.ok(a.count >= 4 * b.count, JSON.stringify(tick[0]));
  const changes = diff.points.map((p) => Math.abs(p.change));
  assert.deepEqual(changes, [...changes].sort((x, y) => y - x), 'ranked by change');

  // The report of the fixed run compared with the first: its Compare view has the same row and
  // figures.
  const report = compareReport(dir, join(dir, 'hog-before.cap'), join(dir, 'hog-after.cap'));
  const c = report.view.compare;
  assert.ok(c, 'the report has no compare');
  assert.equal(c.source, join(dir, 'hog-before.cap'));
  assert.equal(c.name, 'hog-before.cap');
  const row = tickerSleep(c.points);
  assert.equal(row.length, 1, JSON.stringify(c.points));
  const [rb, ra] = [row[0]!.before, row[0]!.after];
  assert.ok(rb && ra, JSON.stringify(row[0]));
  assert.deepEqual([rb.count, ra.count, rb.waitMaxNs, ra.waitMaxNs], [b.count, a.count, b.waitMaxNs, a.waitMaxNs], 'the compare view has the diff\'s figures');
  assert.ok(row[0]!.file.endsWith('hog.c') && row[0]!.line > 0, `the row's place: ${row[0]!.file}:${row[0]!.line}`);

  await t.test('the Compare section draws the row, before and after', async (st) => {
    if (!have(st, BROWSER)) return;
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    st.after(() => browser.close());
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(pathToFileURL(report.html).href);
    const section = page.locator('#compare');
    await section.locator('[data-chart="compare-points"]').waitFor({ timeout: 10_000 });
    assert.equal(await section.locator('h2').textContent(), 'Compare with hog-before.cap');
    assert.equal(await page.locator('nav a[href="#compare"]').isVisible(), true, 'the nav has no Compare entry');
    const tr = section.locator(`[data-chart="compare-points"] tr[data-key="${row[0]!.key}"]`);
    const text = (await tr.textContent()) ?? '';
    for (const figure of [formatCount(rb.count), formatCount(ra.count), formatNs(rb.waitMaxNs), formatNs(ra.waitMaxNs)]) assert.ok(text.includes(figure), `the row "${text}" lacks ${figure}`);
    // The longest wait is judged: better when it fell to a quarter (the timer fired late before the fix).
    const judged = (await tr.locator('[data-column="max wait"]').getAttribute('class')) ?? '';
    assert.match(judged, /^pair trend-/, text);
    if (rb.waitMaxNs >= 4 * ra.waitMaxNs) assert.equal(judged, 'pair trend-better', text);
    // Its name links to the source line, as elsewhere.
    assert.equal(await tr.locator('a.source-link').getAttribute('data-line'), String(row[0]!.line));
    assert.deepEqual(problems, []);
  });
});
