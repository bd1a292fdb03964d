// Stacks: the memory they take (resident) apart from the address space they hold (reserved), how
// that was measured, per spawn site and per thread the bytes used and the address space left
// untouched, the call sites that split again and again and why, and stack memory over time.
import { drawChart, timeAxis } from './charts.ts';
import { bar, el, row, sourceLink, table } from './dom.ts';
import { fileLine, formatBytes, formatCount } from './format.ts';
import { stackMemoryText, type ViewData, type ViewHotSplit, type ViewSite } from '../../shared/view.ts';

const siteName = (p: ViewSite): string => (p.site === '0x0' ? 'main thread' : p.function === '??' ? p.site : p.function);

/** What the three figures mean, shown under them: an untouched chunk is address space, not memory. */
const DEFINITIONS =
  'Resident: stack bytes in memory. Reserved: address space of the stack mappings; a thread touches a few pages of its chunks, ' +
  'and only the pages touched are memory. Waste: resident bytes no live thread holds (free first chunks and chunks kept with them, and chunks pooled for reuse).';

/** Where a hot split is: its call site, linked to the source when known. */
function callSite(h: ViewHotSplit): string | Node {
  const where = h.function === '??' ? h.callsite : `${h.function} ${fileLine(h.file, h.line)}`;
  return h.file && h.file !== '??' && h.line > 0 ? sourceLink(h.file, h.line, where) : where;
}

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
    const measured = st.residentBytes !== null;
    parts.push(el('p', 'totals stack-memory', stackMemoryText(st, formatBytes)));
    if (measured) parts.push(el('p', 'measured', `How: ${st.measured}.`));
    parts.push(
      el(
        'p',
        'totals',
        `live threads hold ${formatBytes(st.allocatedBytes)} reserved (first chunks and linked chunks) · largest thread ${formatBytes(st.maxThreadUsedBytes)} · ` +
          `${formatCount(st.chunksLinked)} chunks linked`,
      ),
    );
    parts.push(
      el('p', 'totals', `finished threads used ${formatBytes(st.usedBytes)} (high-waters) · ${formatBytes(st.untouchedBytes)} of their address space untouched (never resident)`),
    );
    parts.push(el('p', 'definitions', DEFINITIONS));

    const over = el('div');
    const h = view.history;
    drawChart(
      over,
      {
        id: 'stack-memory',
        title: 'Stack memory: resident against reserved',
        format: formatBytes,
        series: [
          { name: 'resident', values: h.stackResidentBytes },
          { name: 'waste', values: h.stackWasteBytes },
          { name: 'reserved', values: h.stackReservedBytes },
          { name: 'reserved by live threads', values: h.stackAllocatedBytes },
        ],
        ...(measured ? {} : { note: `resident, reserved and waste ${st.measured}` }),
      },
      timeAxis(h.tNs, width),
    );
    parts.push(over);

    // Per spawn site, of finished threads: what they used (memory) and what they never touched
    // (address space only); a bar of used against allocated would draw untouched space as memory.
    parts.push(el('h3', '', 'Per spawn site: used by finished threads, address space they never touched, live reservation'));
    const sites = table(['spawn site', 'threads', 'first chunk', 'used (finished threads)', '', 'untouched (never resident)', 'largest thread', 'live reserved', 'chunks', 'largest split frame']);
    sites.t.dataset['chart'] = 'sites';
    const maxUsed = Math.max(0, ...st.sites.map((p) => p.usedBytesTotal));
    for (const p of st.sites) {
      const name = p.file && p.file !== '??' && p.line > 0 ? sourceLink(p.file, p.line, `${siteName(p)} ${fileLine(p.file, p.line)}`) : siteName(p);
      const r = row([
        name,
        `${formatCount(p.threadsLive)} live / ${formatCount(p.threadsTotal)}`,
        formatBytes(p.firstChunkBytes),
        bar(p.usedBytesTotal, p.usedBytesTotal, maxUsed, 160),
        formatBytes(p.usedBytesTotal),
        formatBytes(p.untouchedBytes),
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
      const threads = table(['thread', 'state', 'spawn site', 'used (high-water)', '', 'reserved', 'chunks']);
      threads.t.dataset['chart'] = 'threads';
      const maxT = Math.max(0, ...st.threads.map((t) => t.usedBytes));
      for (const t of st.threads) {
        const site = byId.get(t.site);
        threads.body.append(
          row([
            `${t.name || 'thread'} #${t.id}`,
            t.state === 'blocked' ? `blocked (${t.kind})` : t.state,
            site ? siteName(site) : t.site,
            bar(t.usedBytes, t.usedBytes, maxT, 160),
            formatBytes(t.usedBytes),
            formatBytes(t.allocatedBytes),
            formatCount(t.chunksLinked),
          ]),
        );
      }
      parts.push(threads.t);
    }

    parts.push(el('h3', '', 'Hot splits: calls that link a new chunk again and again, and why'));
    if (st.hotSplits.length === 0) parts.push(el('p', 'empty', 'No split reported.'));
    else {
      const hs = table(['hot split', 'why', 'call site', 'splits', 'mapped a chunk', 'largest frame']);
      hs.t.dataset['chart'] = 'hot-splits';
      for (const h of st.hotSplits.slice(0, 50)) {
        const r = row([el('span', 'split-label', h.label), el('span', 'split-reason', h.reason), callSite(h), formatCount(h.count), h.mapped === null ? '—' : formatCount(h.mapped), formatBytes(h.frameBytes)]);
        r.dataset['cause'] = h.cause;
        hs.body.append(r);
      }
      parts.push(hs.t);
    }
    this.body.replaceChildren(...parts);
  }
}
