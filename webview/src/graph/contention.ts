// Contention drawn on the blocking graph (SYNC, protocol version 4), over the points GraphView
// draws and on its stable layout; GraphView owns it and asks it to update, filter, find what is
// under the pointer, describe it and tell where a click on it opens.
// The wakes: dashed, from the blocking point a waker thread's run started at to the point whose
// thread it made runnable, one per pair of points drawn, in SVG always (there are few) and over
// its own curve (wakeCurve), so that a wake is never taken for a run; unlabelled (its count is in
// its details); a checkbox hides them. A lock's point lists in its details who held the lock
// while threads waited there.
// The wait-for edges: for a lock's point drawn, the critical sections of its holders with the
// most wait (acquire site → release site, at most SECTIONS_SHOWN) are small outlined boxes, placed
// by the stable layout as extra nodes one layer right of the point (ids below zero, so no box ever
// overlaps a node), and a dotted edge in the lock colour goes from the point to each, as wide as
// the wait; in SVG always (few), and a checkbox hides boxes and edges.
import { scaleLog } from 'd3-scale';
import { el, setAttr, svg } from '../dom.ts';
import { fileLine, formatCount, formatNs, hasSource, placeText } from '../format.ts';
import type { LockKind, ViewData, ViewLock, ViewLockHolder, ViewWake } from '../../../shared/view.ts';
import { pathData, wakeCurve, waitForCurve, SECTION_H, SECTION_W } from './curves.ts';
import type { StableLayout } from './layout.ts';
import { extent } from './scales.ts';

/** holders listed in a lock point's details */
const HOLDERS_SHOWN = 5;
/** waker lines listed in a wake edge's details */
const WAKERS_SHOWN = 8;
/** critical sections drawn per lock's point (its holders with the most wait), so the graph stays readable */
const SECTIONS_SHOWN = 3;
/** characters of a critical section's first line */
const SECTION_CHARS = 28;

/** The wakes from one drawn point to another: one dashed edge. */
interface WakeEl {
  readonly g: SVGGElement;
  readonly from: number;
  readonly to: number;
  /** the wakes it stands for, by waker line, most first */
  wakes: ViewWake[];
  count: number;
  dim: boolean;
  seen: number;
}

/** A holder's critical section beside a lock's point (a box), and the dotted wait-for edge from the point to it. */
interface SectionEl {
  readonly key: string;
  /** the waiting point (a node id) */
  readonly lock: number;
  readonly box: SVGGElement;
  readonly label: SVGTextElement;
  readonly held: SVGTextElement;
  readonly edge: SVGGElement;
  readonly line: SVGPathElement;
  kind: LockKind;
  holder: ViewLockHolder;
  dim: boolean;
  seen: number;
}

/** What of the contention a tooltip shows: a wake edge, a critical section or its wait-for edge. */
export type ContentionItem = { readonly kind: 'wake'; readonly el: WakeEl } | { readonly kind: 'section' | 'waitfor'; readonly el: SectionEl };

const wakeKey = (from: number, to: number): string => `${from}~${to}`;
const sectionKey = (lock: number, h: ViewLockHolder): string => `${lock}@${h.function}@${h.file}:${h.line}`;
/** A critical section's first line: "holder · file:acquire→release" (the release's file too when it differs). */
function sectionLabel(h: ViewLockHolder): string {
  const acq = fileLine(h.file, h.line) || '??';
  const rel = h.release.file === h.file && acq !== '??' ? String(h.release.line) : fileLine(h.release.file, h.release.line) || h.release.function;
  const place = `${acq}→${rel}`;
  const room = SECTION_CHARS - place.length - 3;
  if (room <= 0) return place.length <= SECTION_CHARS ? place : place.slice(0, SECTION_CHARS - 1) + '…';
  return `${h.function.length <= room ? h.function : h.function.slice(0, Math.max(1, room - 1)) + '…'} · ${place}`;
}
const sectionHeld = (h: ViewLockHolder): string => `held avg ${formatNs(h.holdAvgNs)} ×${formatCount(h.count)}`;

/** A checkbox, checked, in a label that says what it shows. */
function toggle(cls: string, text: string): { input: HTMLInputElement; label: HTMLLabelElement } {
  const input = el('input', cls);
  input.type = 'checkbox';
  input.checked = true;
  const label = el('label', 'toggle', text);
  label.prepend(input);
  return { input, label };
}

export class Contention {
  /** the wake edges, drawn under the nodes */
  readonly wakeLayer = svg('g', 'wakes');
  /** the wait-for edges, drawn under the nodes */
  readonly waitForLayer = svg('g', 'waitfors');
  /** the critical sections' boxes, drawn over the nodes */
  readonly sectionLayer = svg('g', 'sections');
  /** the toolbar's checkboxes: wake edges, wait-for edges (with their boxes) */
  readonly toggles: readonly HTMLLabelElement[];
  /** the legend's lines for the wake and wait-for edges */
  readonly legend: readonly HTMLSpanElement[] = [
    el('span', 'legend-wake', "wake: the waker's last blocking point → the point it made runnable"),
    el('span', 'legend-waitfor', `wait-for: a lock's waiting point → the critical section (acquire → release) that held it, width: wait (top ${SECTIONS_SHOWN} per lock)`),
  ];
  private readonly wakes = new Map<string, WakeEl>();
  private readonly sections = new Map<string, SectionEl>();
  /** the layout's id of each critical section ever drawn (below zero: never a point's), so it keeps its place */
  private readonly sectionIds = new Map<string, number>();
  /** the contended locks, by the id of the point that waits on them */
  private locks = new Map<number, ViewLock>();
  /** counts updates, to find the wakes and sections an update no longer lists */
  private generation = 0;

  /**
   * `graph`: the SVG whose classes the checkboxes set; `layout`: the graph's, where the sections
   * are placed too; `pointName`: the name of a drawn point, for the details.
   */
  constructor(
    graph: SVGSVGElement,
    private readonly layout: StableLayout,
    private readonly pointName: (id: number) => string,
  ) {
    const wakes = toggle('show-wakes', ' wake edges');
    const waitFor = toggle('show-waitfor', ' wait-for edges');
    wakes.input.addEventListener('change', () => graph.classList.toggle('no-wakes', !wakes.input.checked));
    waitFor.input.addEventListener('change', () => graph.classList.toggle('no-waitfor', !waitFor.input.checked));
    this.toggles = [wakes.label, waitFor.label];
  }

  /** The arrow heads of the wake and wait-for edges: copies of the run edges' `arrow`. */
  markers(arrow: SVGMarkerElement): SVGMarkerElement[] {
    return (['wake', 'waitfor'] as const).map((kind) => {
      const m = arrow.cloneNode(true) as SVGMarkerElement;
      m.id = `${kind}-arrow`;
      m.firstElementChild!.setAttribute('class', `${kind}-arrow-head`);
      return m;
    });
  }

  /** Draws the wakes and critical sections of `view` between the points `drawn` (by id), after they are placed. */
  update(view: ViewData, drawn: ReadonlyMap<number, unknown>): void {
    const gen = ++this.generation;
    this.updateWakes(view, drawn, gen);
    this.locks = new Map(view.locks.map((l) => [l.id, l]));
    this.updateSections(view, drawn, gen);
  }

  /** The wake edges between drawn points: one per pair, its wakes grouped (a wake from no point is not drawn). */
  private updateWakes(view: ViewData, drawn: ReadonlyMap<number, unknown>, gen: number): void {
    const pairs = new Map<string, ViewWake[]>();
    for (const w of view.wakes) {
      if (w.fromNode === null || !drawn.has(w.fromNode) || !drawn.has(w.to)) continue;
      const k = wakeKey(w.fromNode, w.to);
      const p = pairs.get(k);
      if (p) p.push(w);
      else pairs.set(k, [w]);
    }
    for (const [k, wakes] of pairs) {
      const first = wakes[0]!;
      const we = this.wakes.get(k) ?? this.addWake(k, first.fromNode!, first.to);
      if (!we) continue;
      we.wakes = wakes;
      we.seen = gen;
      we.count = wakes.reduce((n, w) => n + w.count, 0);
    }
    for (const [k, we] of this.wakes) {
      if (we.seen !== gen) {
        we.g.remove();
        this.wakes.delete(k);
      }
    }
  }

  private addWake(key: string, from: number, to: number): WakeEl | undefined {
    const a = this.layout.get(from);
    const b = this.layout.get(to);
    if (!a || !b) return undefined;
    const g = svg('g', 'wake');
    g.dataset['wakeId'] = key;
    const curve = wakeCurve(a, b, from === to);
    const path = svg('path');
    path.setAttribute('d', pathData(curve));
    path.setAttribute('marker-end', 'url(#wake-arrow)');
    g.append(path);
    this.wakeLayer.append(g);
    const we: WakeEl = { g, from, to, wakes: [], count: 0, dim: false, seen: 0 };
    this.wakes.set(key, we);
    return we;
  }

  /**
   * The critical sections of the drawn locks' holders with the most wait (SECTIONS_SHOWN per point)
   * and their wait-for edges; a new one placed by the layout as a node one layer right of its point.
   */
  private updateSections(view: ViewData, drawn: ReadonlyMap<number, unknown>, gen: number): void {
    const shown: [ViewLock, ViewLockHolder, string][] = [];
    for (const lock of view.locks) {
      if (!drawn.has(lock.id) || lock.holders.length === 0) continue;
      const top = lock.holders.length <= SECTIONS_SHOWN ? lock.holders : [...lock.holders].sort((a, b) => b.waitNs - a.waitNs).slice(0, SECTIONS_SHOWN);
      for (const h of top) shown.push([lock, h, sectionKey(lock.id, h)]);
    }
    if (shown.length === 0 && this.sections.size === 0) return;
    const fresh: number[] = [];
    const links: { from: number; to: number }[] = [];
    for (const [lock, , key] of shown) {
      if (this.sectionIds.has(key)) continue;
      const id = -1 - this.sectionIds.size;
      this.sectionIds.set(key, id);
      fresh.push(id);
      links.push({ from: lock.id, to: id });
    }
    if (fresh.length > 0) this.layout.add(fresh, links);
    const [lo, hi] = extent(shown, ([, h]) => h.waitNs);
    const width = scaleLog().domain([lo, Math.max(lo * 2, hi)]).range([1.5, 6]).clamp(true);
    for (const [lock, h, key] of shown) {
      const se = this.sections.get(key) ?? this.addSection(key, lock.id, lock.kind, h);
      if (!se) continue;
      se.seen = gen;
      se.kind = lock.kind;
      se.holder = h;
      const label = sectionLabel(h);
      if (se.label.textContent !== label) se.label.textContent = label;
      const held = sectionHeld(h);
      if (se.held.textContent !== held) se.held.textContent = held;
      const w = h.waitNs > 0 ? Math.round(width(h.waitNs) * 2) / 2 : 1.5;
      setAttr(se.line, 'stroke-width', String(w));
      // dots: zero-length dashes with round caps, spaced by the width
      setAttr(se.line, 'stroke-dasharray', `0 ${Math.max(4, w * 2.5)}`);
    }
    for (const [k, se] of this.sections) {
      if (se.seen !== gen) {
        se.box.remove();
        se.edge.remove();
        this.sections.delete(k);
      }
    }
  }

  private addSection(key: string, lock: number, kind: LockKind, holder: ViewLockHolder): SectionEl | undefined {
    const a = this.layout.get(lock);
    const b = this.layout.get(this.sectionIds.get(key)!);
    if (!a || !b) return undefined;
    const box = svg('g', 'section');
    box.dataset['sectionId'] = key;
    box.dataset['lock'] = String(lock);
    const rect = svg('rect', undefined, { x: b.x - SECTION_W / 2, y: b.y - SECTION_H / 2, width: SECTION_W, height: SECTION_H, rx: SECTION_H / 2 });
    const label = svg('text', 'section-label', { x: b.x, y: b.y - 3 });
    const held = svg('text', 'section-held', { x: b.x, y: b.y + 11 });
    box.append(rect, label, held);
    this.sectionLayer.append(box);
    const edge = svg('g', 'waitfor');
    edge.dataset['waitforId'] = key;
    const d = pathData(waitForCurve(a, b));
    const hit = svg('path', 'hit');
    hit.setAttribute('d', d);
    const line = svg('path', 'line');
    line.setAttribute('d', d);
    line.setAttribute('marker-end', 'url(#waitfor-arrow)');
    edge.append(hit, line);
    this.waitForLayer.append(edge);
    const se: SectionEl = { key, lock, box, label, held, edge, line, kind, holder, dim: false, seen: 0 };
    this.sections.set(key, se);
    return se;
  }

  /**
   * Dims what the filter `f` ('' for none) leaves out: a wake between two points not in `match`
   * (the points it matched), a section that neither it nor its lock's point matched.
   */
  applyFilter(f: string, match: ReadonlySet<number>): void {
    for (const we of this.wakes.values()) {
      const dim = f !== '' && !match.has(we.from) && !match.has(we.to);
      if (dim === we.dim) continue;
      we.dim = dim;
      we.g.classList.toggle('dim', dim);
    }
    for (const se of this.sections.values()) {
      const h = se.holder;
      const hit = f !== '' && `${placeText(h)} ${placeText(h.release)} ${se.kind}`.toLowerCase().includes(f);
      se.box.classList.toggle('match', hit);
      const dim = f !== '' && !hit && !match.has(se.lock);
      if (dim === se.dim) continue;
      se.dim = dim;
      se.box.classList.toggle('dim', dim);
      se.edge.classList.toggle('dim', dim);
    }
  }

  /** The section, wait-for edge or wake edge the element `t` (under the pointer) belongs to. */
  target(t: Element | null): ContentionItem | undefined {
    const sg = t?.closest('[data-section-id]');
    if (sg instanceof SVGGElement) {
      const section = this.sections.get(sg.dataset['sectionId'] ?? '');
      return section ? { kind: 'section', el: section } : undefined;
    }
    const fg = t?.closest('[data-waitfor-id]');
    if (fg instanceof SVGGElement) {
      const section = this.sections.get(fg.dataset['waitforId'] ?? '');
      return section ? { kind: 'waitfor', el: section } : undefined;
    }
    const wg = t?.closest('[data-wake-id]');
    if (wg instanceof SVGGElement) {
      const wake = this.wakes.get(wg.dataset['wakeId'] ?? '');
      return wake ? { kind: 'wake', el: wake } : undefined;
    }
    return undefined;
  }

  /** Where a click on `item` opens: a wake's busiest waker line, a critical section's (or its wait-for edge's) acquire site. */
  source(item: ContentionItem): { file: string; line: number } | undefined {
    return item.kind === 'wake' ? item.el.wakes[0]?.from : item.el.holder;
  }

  details(item: ContentionItem): HTMLElement[] {
    switch (item.kind) {
      case 'wake':
        return this.wakeDetails(item.el);
      case 'section':
        return this.sectionDetails(item.el);
      case 'waitfor':
        return this.waitForDetails(item.el);
      default: {
        const never: never = item;
        throw new Error(`unknown item ${JSON.stringify(never)}`);
      }
    }
  }

  /** Who held the lock a point waits on, while threads waited there (nothing for a point that waits on no contended lock). */
  holderDetails(id: number): HTMLElement[] {
    const lock = this.locks.get(id);
    if (!lock) return [];
    if (lock.holders.length === 0) return [el('div', 'tt-sub', 'held by: no hand-over recorded')];
    const list = el('ul', 'tt-holders');
    for (const h of lock.holders.slice(0, HOLDERS_SHOWN)) {
      list.append(el('li', '', `held by ${placeText(h)} → released at ${placeText(h.release)}, avg ${formatNs(h.holdAvgNs)}, ×${formatCount(h.count)}`));
    }
    const more = lock.holders.length - HOLDERS_SHOWN;
    if (more > 0) list.append(el('li', '', `and ${formatCount(more)} more acquisition site(s)`));
    return [el('div', 'tt-sub', `while threads waited here (${lock.kind}):`), list];
  }

  private wakeDetails(we: WakeEl): HTMLElement[] {
    const list = el('ul', 'tt-wakers');
    for (const w of we.wakes.slice(0, WAKERS_SHOWN)) list.append(el('li', '', `${placeText(w.from)} ×${formatCount(w.count)}`));
    const more = we.wakes.length - WAKERS_SHOWN;
    if (more > 0) list.append(el('li', '', `and ${formatCount(more)} more line(s)`));
    return [
      el('div', 'tt-head', `${this.pointName(we.from)} ⇢ ${this.pointName(we.to)}`),
      el('div', 'tt-stats', `wakes ${formatCount(we.count)}: a thread whose run began at the first point made one blocked at the second runnable`),
      el('div', 'tt-sub', 'by the calls at'),
      list,
      el('div', 'tt-hint', 'click to open the first of them'),
    ];
  }

  /** A critical section: where it was acquired and released, how long it was held, who waited. */
  private sectionDetails(se: SectionEl): HTMLElement[] {
    const h = se.holder;
    return [
      el('div', 'tt-head', `critical section: ${placeText(h)} → released at ${placeText(h.release)}`),
      el('div', 'tt-stats', `${se.kind} held avg ${formatNs(h.holdAvgNs)} · max ${formatNs(h.holdMaxNs)} · ×${formatCount(h.count)} while threads waited`),
      el('div', 'tt-sub', `they waited ${formatNs(h.waitNs)} in all, at ${this.pointName(se.lock)}`),
      el('div', 'tt-hint', hasSource(h) ? 'click to open the acquire site' : 'no source location'),
    ];
  }

  /** A wait-for edge: how long the point's threads waited while this critical section held the lock. */
  private waitForDetails(se: SectionEl): HTMLElement[] {
    const h = se.holder;
    const avg = h.count > 0 ? h.waitNs / h.count : 0;
    return [
      el('div', 'tt-head', `${this.pointName(se.lock)} ⇢ ${placeText(h)}`),
      el('div', 'tt-stats', `waited ${formatNs(avg)} avg at ${this.pointName(se.lock)} while ${placeText(h)} held it (avg ${formatNs(h.holdAvgNs)}, ×${formatCount(h.count)})`),
      el('div', 'tt-sub', `${se.kind} · waited ${formatNs(h.waitNs)} in all · released at ${placeText(h.release)}`),
      el('div', 'tt-hint', hasSource(h) ? 'click to open the acquire site' : 'no source location'),
    ];
  }
}
