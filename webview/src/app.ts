// The page: header (program, run), what was lost (health), the five views, and the message
// shown for data that cannot be rendered. Updates are coalesced to one render per frame.
import { CompareView } from './compare.ts';
import { el } from './dom.ts';
import { FlameView } from './flame.ts';
import { formatCount, formatNs } from './format.ts';
import { GraphView } from './graph/view.ts';
import { LocksView } from './locks.ts';
import type { ViewData } from '../../shared/view.ts';
import { ResourcesView } from './resources.ts';
import { StacksView } from './stacks.ts';
import { SuggestionsView } from './suggestions.ts';

export interface AppHandlers {
  reveal(file: string, line: number): void;
}

/** performance.measure names: one render, one drawing of the resource charts (read by scripts/bench-webview.mjs and the browser tests). */
export const RENDER_MEASURE = 'capriccio-render';
export const RESOURCES_MEASURE = 'capriccio-resources';
/**
 * The resource charts show history over time (hundreds of points per series): after a live
 * update they are redrawn at most this often (ms), and in a frame of their own rather than the
 * update's, so that no frame pays for both — unless updates fill every frame for
 * RESOURCES_SHARE_MS, when they share one.
 */
const RESOURCES_EVERY_MS = 200;
const RESOURCES_SHARE_MS = 50;

/** How the program ended, for the header: the profiler's account when it stopped it (a kill is told in full under the header). */
function endFact(view: ViewData): string {
  if (view.end) return view.end.stopped && !view.end.killed ? view.end.text : view.end.status;
  if (view.exit) return view.exit.how === 'exited' ? `exit status ${view.exit.status}` : `killed by signal ${view.exit.status}`;
  return 'no exit seen';
}

export class App {
  private readonly header: HTMLElement;
  private readonly health: HTMLElement;
  private readonly error: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly graph: GraphView;
  private readonly flame: FlameView;
  private readonly resources = new ResourcesView();
  private readonly stacks = new StacksView();
  private readonly suggestions = new SuggestionsView();
  private readonly locks = new LocksView();
  private readonly compare = new CompareView();
  private pending: ViewData | undefined;
  private scheduled = false;
  /** Views below the fold are brought up to date when they scroll into sight, not every frame. */
  private readonly visible = new Set<Element>();
  private readonly stale = new Set<Element>();
  private lastRendered = 0;
  private lastWidth = 0;
  private last: ViewData | undefined;
  private headerText: [string, string] = ['', ''];
  private healthText: string | undefined;
  /** when the resource charts were last drawn (performance.now()) */
  private resourcesDrawnAt = -Infinity;
  /** a drawing of the resource charts is on its way (resourcesLater) */
  private resourcesPending = false;
  /** the frame (its requestAnimationFrame time) of the last render */
  private renderedFrame = -1;

  constructor(
    private readonly root: HTMLElement,
    handlers: AppHandlers,
  ) {
    this.header = el('header', 'header');
    this.error = el('div', 'error-message');
    this.error.setAttribute('role', 'alert');
    this.error.hidden = true;
    this.notice = el('div', 'notice');
    this.notice.setAttribute('role', 'status');
    this.notice.hidden = true;
    this.health = el('div', 'health');
    this.health.hidden = true;
    this.graph = new GraphView(handlers);
    this.flame = new FlameView(handlers);
    const nav = el('nav', 'nav');
    for (const [id, label] of [
      ['graph', 'Blocking graph'],
      ['flame', 'Wait flame'],
      ['locks', 'Locks'],
      ['resources', 'Scheduler and resources'],
      ['stacks', 'Stacks'],
      ['suggestions', 'Suggestions'],
    ] as const) {
      const a = el('a', '', label);
      a.href = `#${id}`;
      nav.append(a);
    }
    nav.prepend(this.compare.link);
    root.append(this.header, nav, this.error, this.notice, this.health, this.compare.element, this.graph.element, this.flame.element, this.locks.element, this.suggestions.element, this.resources.element, this.stacks.element);
    root.addEventListener('click', (ev) => {
      const a = ev.target instanceof Element ? ev.target.closest('a.source-link') : null;
      if (!(a instanceof HTMLAnchorElement)) return;
      ev.preventDefault();
      handlers.reveal(a.dataset['file'] ?? '', Number(a.dataset['line']));
    });
    const seen = new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) {
          this.visible.delete(e.target);
          continue;
        }
        this.visible.add(e.target);
        if (this.stale.has(e.target) && this.last) this.renderSide(this.last, e.target);
      }
    });
    for (const v of this.sides()) seen.observe(v);
    window.addEventListener('resize', () => {
      if (this.last && this.width() !== this.lastWidth) this.show(this.last);
    });
  }

  /** Renders `view` at the next frame (a newer view replaces a pending one). */
  show(view: ViewData): void {
    this.pending = view;
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame((frame) => {
      this.scheduled = false;
      this.renderedFrame = frame;
      const v = this.pending;
      this.pending = undefined;
      if (v) this.render(v);
    });
  }

  /** Data that cannot be rendered: say what is wrong instead of drawing it. */
  showError(message: string): void {
    this.error.textContent = `Cannot show this data: ${message}`;
    this.error.hidden = false;
  }

  /** A passing notice (e.g. where the report would open a source file). */
  showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
  }

  private width(): number {
    return Math.max(320, Math.min(1400, (this.root.clientWidth || 960) - 40));
  }

  private render(view: ViewData): void {
    const start = performance.now();
    this.last = view;
    this.lastWidth = this.width();
    this.error.hidden = true;
    this.renderHeader(view);
    this.renderHealth(view);
    const first = this.lastRendered++ === 0; /* the first render draws every view */
    this.graph.update(view);
    this.compare.toggle(view);
    for (const v of this.sides()) {
      if (!first && !this.visible.has(v)) this.stale.add(v);
      else if (v === this.resources.element && !first) this.resourcesLater();
      else this.renderSide(view, v);
    }
    performance.measure(RENDER_MEASURE, { start, end: performance.now() });
  }

  /** The resource charts are to show the latest view: RESOURCES_EVERY_MS after their last drawing, in a frame without a render. */
  private resourcesLater(): void {
    this.stale.add(this.resources.element);
    if (this.resourcesPending) return;
    this.resourcesPending = true;
    const wait = Math.max(0, this.resourcesDrawnAt + RESOURCES_EVERY_MS - performance.now());
    setTimeout(() => this.drawResourcesAlone(performance.now()), wait);
  }

  private drawResourcesAlone(since: number): void {
    requestAnimationFrame((frame) => {
      const r = this.resources.element;
      const busy = this.scheduled || this.renderedFrame === frame; /* a render has this frame */
      if (busy && performance.now() - since < RESOURCES_SHARE_MS) return this.drawResourcesAlone(since);
      this.resourcesPending = false;
      if (this.stale.has(r) && this.visible.has(r) && this.last) this.renderSide(this.last, r);
    });
  }

  /** The views beside the graph, each brought up to date only while in sight. */
  private sides(): Element[] {
    return [this.compare.element, this.flame.element, this.locks.element, this.suggestions.element, this.resources.element, this.stacks.element];
  }

  /** Brings one of the views beside the graph up to date. */
  private renderSide(view: ViewData, v: Element): void {
    this.stale.delete(v);
    if (v === this.suggestions.element) this.suggestions.update(view);
    else if (v === this.compare.element) this.compare.update(view);
    else if (v === this.flame.element) this.flame.update(view, this.lastWidth);
    else if (v === this.locks.element) this.locks.update(view);
    else if (v === this.stacks.element) this.stacks.update(view, this.lastWidth);
    else if (v === this.resources.element) {
      const start = (this.resourcesDrawnAt = performance.now());
      this.resources.update(view, this.lastWidth);
      performance.measure(RESOURCES_MEASURE, { start, end: performance.now() });
    }
  }

  private renderHeader(view: ViewData): void {
    const p = view.program;
    const title = p ? [p.executable, ...p.args.slice(1)].join(' ') : 'Capriccio profile';
    const facts = [
      p ? `pid ${p.pid}` : '',
      `${formatNs(view.durationNs)}`,
      `${formatCount(view.snapshots)} snapshots`,
      p ? `every ${p.intervalMs} ms` : '',
      p ? `${p.stackMode} stacks, ${p.scheduler} scheduler, disk ${p.diskBackend}` : '',
      endFact(view),
      view.source,
    ].filter((s) => s !== '');
    // Written only when changed: every live update comes here, and new text means style and layout.
    const text = facts.join(' · ');
    if (title === this.headerText[0] && text === this.headerText[1]) return;
    this.headerText = [title, text];
    this.header.replaceChildren(el('h1', '', title), el('div', 'facts', text));
  }

  private renderHealth(view: ViewData): void {
    const h = view.health;
    const lines: string[] = [];
    if (view.end?.killed) {
      lines.push(`The program was ${view.end.text}. Everything it sent until then is shown; what it would have sent as it exited (the last snapshot, the exit) is not.`);
    }
    if (h.truncated) lines.push(`The recording is cut short (${h.truncated}): everything before it is shown.`);
    if (h.decodeErrors > 0) lines.push(`${h.decodeErrors} bad frame(s) skipped${h.errors[0] ? `, first at byte ${h.errors[0].offset}: ${h.errors[0].reason}` : ''}.`);
    if (h.droppedSnapshots > 0) lines.push(`The runtime skipped ${formatCount(h.droppedSnapshots)} snapshot(s) for a slow consumer (later ones cover them).`);
    if (h.runtimeNodesDropped > 0) lines.push(`${formatCount(h.runtimeNodesDropped)} blocking operation(s) were not recorded: the runtime's tables were full.`);
    const model = Object.entries(h.model).filter(([, v]) => v > 0);
    if (model.length > 0) lines.push(`Not kept by the model's caps: ${model.map(([k, v]) => `${formatCount(v)} ${k}`).join(', ')}.`);
    if (h.hiddenNodes > 0 || h.hiddenEdges > 0) lines.push(`Not drawn: ${formatCount(h.hiddenNodes)} blocking points and ${formatCount(h.hiddenEdges)} edges with the least time.`);
    if (h.hiddenPoints > 0) lines.push(`Charts downsampled: ${formatCount(h.hiddenPoints)} snapshot(s) not plotted.`);
    const text = lines.join('\n');
    if (text === this.healthText) return;
    this.healthText = text;
    this.health.replaceChildren(...lines.map((l) => el('p', '', l)));
    this.health.hidden = lines.length === 0;
  }
}
