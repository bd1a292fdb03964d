// Scheduler and resources over time: threads by state, run queue, memory (the process's and its
// stacks'; their address space is in the stacks view), descriptors, dropped telemetry frames and
// edge latency — small multiples on one time axis — and a table of the workers (the kernel
// threads running user threads) as they are now.
import { drawChartWhenSeen, timeAxis, type ChartSpec } from './charts.ts';
import { bar, el, row, table } from './dom.ts';
import { formatBytes, formatCount, formatNs } from './format.ts';
import type { ViewData, ViewWorker } from '../../shared/view.ts';

export class ResourcesView {
  readonly element: HTMLElement;
  private readonly charts: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly workers: HTMLElement;

  constructor() {
    this.element = el('section', 'view resources-view');
    this.element.id = 'resources';
    this.element.append(el('h2', '', 'Scheduler and resources'));
    this.empty = el('p', 'empty', 'No snapshot yet.');
    this.charts = el('div', 'charts');
    this.workers = el('div', 'workers');
    this.element.append(this.empty, this.charts, this.workers);
  }

  /** One row per worker; nothing for a program whose runtime sends no WORKERS frames. */
  private drawWorkers(workers: readonly ViewWorker[]): void {
    this.workers.replaceChildren();
    if (workers.length === 0) return;
    const { t, body } = table(['worker', 'busy', '', 'busy time', 'parked', 'run queue', 'threads', 'switches', 'steals', 'migrations']);
    for (const w of workers) {
      body.append(
        row([
          `#${w.id}`,
          bar(w.busyNs, w.busyNs + w.parkedNs, w.busyNs + w.parkedNs, 120),
          `${(w.utilisation * 100).toFixed(1)}%`,
          formatNs(w.busyNs),
          formatNs(w.parkedNs),
          formatCount(w.runnable),
          formatCount(w.threads),
          formatCount(w.switches),
          formatCount(w.steals),
          formatCount(w.migrations),
        ]),
      );
    }
    this.workers.append(el('h3', '', `Workers (${workers.length})`), t);
  }

  update(view: ViewData, width: number): void {
    const h = view.history;
    this.empty.hidden = h.tNs.length > 0;
    this.drawWorkers(view.workers);
    const axis = timeAxis(h.tNs, width);
    const last = (a: readonly number[]): number | undefined => a[a.length - 1];
    const limit = last(h.fdLimit);
    // The stacks' share of the memory, or why it is not known (a recording before protocol version 3).
    const stackMemory = { name: 'stacks', values: h.stackResidentBytes };
    const stackNote = view.stacks.residentBytes === null ? { note: `stacks ${view.stacks.measured}` } : {};
    const specs: ChartSpec[] = [
      {
        id: 'threads',
        title: 'Threads by state',
        format: formatCount,
        series: [
          { name: 'live', values: h.threads },
          { name: 'runnable', values: h.runnable },
          { name: 'io', values: h.blockedIo },
          { name: 'disk', values: h.blockedDisk },
          { name: 'sync', values: h.blockedSync },
          { name: 'sleeping', values: h.sleeping },
        ],
      },
      { id: 'runqueue', title: 'Run queue', format: formatCount, series: [{ name: 'runnable', values: h.runnable }] },
      { id: 'memory', title: 'Memory (resident)', format: formatBytes, series: [{ name: 'process', values: h.rssBytes }, stackMemory], ...stackNote },
      { id: 'fds', title: 'File descriptors', format: formatCount, series: [{ name: 'open', values: h.openFds }], ...(limit !== undefined ? { note: `limit ${formatCount(limit)}` } : {}) },
      { id: 'dropped', title: 'Dropped telemetry snapshots', format: formatCount, series: [{ name: 'dropped', values: h.droppedTotal }] },
      {
        id: 'edge-latency',
        title: 'Edge latency (average per interval, edges with the most time)',
        format: formatNs,
        series: h.edgeLatency.map((s) => ({ name: s.label, values: s.avgNs })),
      },
    ];
    while (this.charts.children.length < specs.length) this.charts.append(el('div'));
    specs.forEach((s, i) => drawChartWhenSeen(this.charts.children[i] as HTMLElement, s, axis));
  }
}
