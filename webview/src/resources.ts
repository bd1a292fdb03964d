// Scheduler and resources over time: threads by state, run queue, memory, descriptors, stack
// bytes, dropped telemetry frames and edge latency — small multiples on one time axis.
import { drawChartWhenSeen, timeAxis, type ChartSpec } from './charts.ts';
import { el } from './dom.ts';
import { formatBytes, formatCount, formatNs } from './format.ts';
import type { ViewData } from '../../shared/view.ts';

export class ResourcesView {
  readonly element: HTMLElement;
  private readonly charts: HTMLElement;
  private readonly empty: HTMLElement;

  constructor() {
    this.element = el('section', 'view resources-view');
    this.element.id = 'resources';
    this.element.append(el('h2', '', 'Scheduler and resources'));
    this.empty = el('p', 'empty', 'No snapshot yet.');
    this.charts = el('div', 'charts');
    this.element.append(this.empty, this.charts);
  }

  update(view: ViewData, width: number): void {
    const h = view.history;
    this.empty.hidden = h.tNs.length > 0;
    const axis = timeAxis(h.tNs, width);
    const last = (a: readonly number[]): number | undefined => a[a.length - 1];
    const limit = last(h.fdLimit);
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
      { id: 'memory', title: 'Memory', format: formatBytes, series: [{ name: 'resident', values: h.rssBytes }] },
      { id: 'fds', title: 'File descriptors', format: formatCount, series: [{ name: 'open', values: h.openFds }], ...(limit !== undefined ? { note: `limit ${formatCount(limit)}` } : {}) },
      { id: 'stack-bytes', title: 'Stack bytes', format: formatBytes, series: [{ name: 'allocated', values: h.stackAllocatedBytes }] },
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
