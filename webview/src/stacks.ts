// Stacks: per spawn site and per thread, bytes used against allocated, waste, chunks, the call
// sites that split again and again, and stack bytes over time.
import { drawChart, timeAxis } from './charts.ts';
import { bar, el, row, sourceLink, table } from './dom.ts';
import { fileLine, formatBytes, formatCount } from './format.ts';
import type { ViewData, ViewSite } from '../../shared/view.ts';

const siteName = (p: ViewSite): string => (p.site === '0x0' ? 'main thread' : p.function === '??' ? p.site : p.function);

export class StacksView {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;

  constructor() {
    this.element = el('section', 'view stacks-view');
    this.element.id = 'stacks';
    this.element.append(el('h2', '', 'Stacks'));
    this.body = el('div');
    this.element.append(this.body);
  }

  update(view: ViewData, width: number): void {
    const st = view.stacks;
    const parts: Node[] = [];
    parts.push(
      el(
        'p',
        'totals',
        `allocated now ${formatBytes(st.allocatedBytes)} · used by finished threads ${formatBytes(st.usedBytes)} · waste ${formatBytes(st.wasteBytes)} · ` +
          `largest thread ${formatBytes(st.maxThreadUsedBytes)} · ${formatCount(st.chunksLinked)} chunks linked`,
      ),
    );

    // Per spawn site: of finished threads, used (high-waters) against allocated (used + waste).
    parts.push(el('h3', '', 'Per spawn site: used against allocated (finished threads), live allocation'));
    const sites = table(['spawn site', 'threads', 'first chunk', 'used / allocated', '', 'waste', 'largest thread', 'live allocated', 'chunks', 'largest split frame']);
    sites.t.dataset['chart'] = 'sites';
    const maxAlloc = Math.max(0, ...st.sites.map((p) => p.usedBytesTotal + p.wasteBytes));
    for (const p of st.sites) {
      const name = p.file && p.file !== '??' && p.line > 0 ? sourceLink(p.file, p.line, `${siteName(p)} ${fileLine(p.file, p.line)}`) : siteName(p);
      const alloc = p.usedBytesTotal + p.wasteBytes;
      const r = row([
        name,
        `${formatCount(p.threadsLive)} live / ${formatCount(p.threadsTotal)}`,
        formatBytes(p.firstChunkBytes),
        bar(p.usedBytesTotal, alloc, maxAlloc, 160),
        `${formatBytes(p.usedBytesTotal)} / ${formatBytes(alloc)}`,
        formatBytes(p.wasteBytes),
        formatBytes(p.usedBytesMax),
        formatBytes(p.allocatedBytes),
        formatCount(p.chunksLinked),
        formatBytes(p.splitFrameMax),
      ]);
      r.dataset['site'] = p.site;
      sites.body.append(r);
    }
    if (st.sites.length === 0) sites.body.append(row(['no spawn site reported yet']));
    parts.push(sites.t);

    // Per thread (the largest live threads the runtime sends about once a second).
    parts.push(el('h3', '', 'Live threads with the largest stacks'));
    if (st.threads.length === 0) parts.push(el('p', 'empty', 'No live thread rows (the program had none live when the runtime last sent them).'));
    else {
      const byId = new Map(st.sites.map((p) => [p.site, p]));
      const threads = table(['thread', 'state', 'spawn site', 'used / allocated', '', 'chunks']);
      threads.t.dataset['chart'] = 'threads';
      const maxT = Math.max(0, ...st.threads.map((t) => t.allocatedBytes));
      for (const t of st.threads) {
        const site = byId.get(t.site);
        threads.body.append(
          row([
            `${t.name || 'thread'} #${t.id}`,
            t.state === 'blocked' ? `blocked (${t.kind})` : t.state,
            site ? siteName(site) : t.site,
            bar(t.usedBytes, t.allocatedBytes, maxT, 160),
            `${formatBytes(t.usedBytes)} / ${formatBytes(t.allocatedBytes)}`,
            formatCount(t.chunksLinked),
          ]),
        );
      }
      parts.push(threads.t);
    }

    parts.push(el('h3', '', 'Hot splits: calls that link a new chunk again and again'));
    if (st.hotSplits.length === 0) parts.push(el('p', 'empty', 'No split reported.'));
    else {
      const hs = table(['call site', 'splits', 'largest frame']);
      hs.t.dataset['chart'] = 'hot-splits';
      for (const h of st.hotSplits.slice(0, 50)) {
        const where = h.function === '??' ? h.callsite : `${h.function} ${fileLine(h.file, h.line)}`;
        hs.body.append(row([h.file && h.file !== '??' && h.line > 0 ? sourceLink(h.file, h.line, where) : where, formatCount(h.count), formatBytes(h.frameBytes)]));
      }
      parts.push(hs.t);
    }

    const over = el('div');
    drawChart(over, { id: 'stack-over-time', title: 'Stack bytes allocated over time', format: formatBytes, series: [{ name: 'allocated', values: view.history.stackAllocatedBytes }] }, timeAxis(view.history.tNs, width));
    parts.push(over);
    this.body.replaceChildren(...parts);
  }
}
