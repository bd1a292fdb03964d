// The wait flame: wait time by call chain, as an icicle (all waits at the top, each call chain
// below, outermost frame first, and last the blocking point itself, named by what it waits on).
// A frame's width is the wait time of the blocking points under it. Redrawn on every live update
// while in sight: the tree is built in one pass over the frames, and only frames at least half a
// pixel wide are drawn, joined to their elements by call path so a frame keeps its element.
import { select } from 'd3-selection';
import { el, setAttr, svg } from './dom.ts';
import { fileLine, formatCount, formatNs, hasSource } from './format.ts';
import type { ViewData, ViewNode } from '../../shared/view.ts';

/** A frame of the flame: the root (all waits), a call frame, or a blocking point (a leaf). */
export interface FlameFrame {
  /** the call path from the root: a stable identity across updates */
  readonly path: string;
  /** the function, the kind waited on for a leaf, "all waits" for the root */
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly own: boolean;
  /** what a leaf waits on (sleep, io, mutex, ...) */
  readonly kind?: string;
  readonly depth: number;
  /** wait time (ns) and waits ended of the blocking points under it */
  value: number;
  count: number;
  readonly children: FlameFrame[];
}

const ROOT_NAME = 'all waits';

/**
 * The flame's tree from the blocking points' chains: frames with the same function, file and line
 * at the same place merge. One pass over the frames (a lookup per frame); children in name order,
 * so that a frame keeps its place as the figures change. Points without wait time are left out.
 */
export function flameTree(nodes: readonly ViewNode[]): FlameFrame {
  const root: FlameFrame = { path: '', name: ROOT_NAME, file: '', line: 0, own: false, depth: 0, value: 0, count: 0, children: [] };
  // Children by their frame's key, per parent: a lookup costs the key, not the path.
  const kids = new Map<FlameFrame, Map<string, FlameFrame>>();
  const child = (parent: FlameFrame, key: string, make: (path: string) => FlameFrame): FlameFrame => {
    let byKey = kids.get(parent);
    if (!byKey) kids.set(parent, (byKey = new Map<string, FlameFrame>()));
    let c = byKey.get(key);
    if (!c) {
      c = make(`${parent.path}\n${key}`);
      byKey.set(key, c);
      parent.children.push(c);
    }
    return c;
  };
  for (const n of nodes) {
    if (!(n.waitTotalNs > 0)) continue;
    let at = root;
    const add = (f: FlameFrame): void => {
      f.value += n.waitTotalNs;
      f.count += n.count;
    };
    add(root);
    for (let i = n.chain.length - 1; i >= 0; i--) {
      const fr = n.chain[i]!;
      const depth = at.depth + 1;
      at = child(at, `${fr.function}\t${fr.file}\t${fr.line}`, (path) => ({ path, name: fr.function, file: fr.file, line: fr.line, own: fr.own, depth, value: 0, count: 0, children: [] }));
      add(at);
    }
    // The blocking point itself, where its innermost frame is (the point's place without a chain).
    const inner = n.chain[0];
    const file = inner ? inner.file : n.file;
    const line = inner ? inner.line : n.line;
    const depth = at.depth + 1;
    const leaf = child(at, `\0${n.kind}\t${file}\t${line}`, (path) => ({
      path,
      name: n.kind,
      file,
      line,
      own: inner ? inner.own : false,
      kind: n.kind,
      depth,
      value: 0,
      count: 0,
      children: [],
    }));
    add(leaf);
  }
  const order = (f: FlameFrame): void => {
    f.children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const c of f.children) order(c);
  };
  order(root);
  return root;
}

/** A frame placed on the page. */
interface Placed {
  readonly f: FlameFrame;
  readonly x: number;
  readonly w: number;
}

const ROW_H = 18;
/** narrower frames (px) are not drawn: nothing would show */
const MIN_W = 0.5;
/** the width of a character of the labels (11px monospace), to truncate names to their frame */
const CHAR_W = 6.7;

/** The name as much as fits in `w` pixels ('' if hardly any does). */
function fit(name: string, w: number): string {
  const n = Math.floor((w - 6) / CHAR_W);
  if (n < 3) return '';
  return name.length <= n ? name : `${name.slice(0, n - 1)}…`;
}

function describe(f: FlameFrame, total: number): string {
  const where = fileLine(f.file, f.line);
  const what = f.kind !== undefined ? `${f.kind} wait` : f.name;
  const share = total > 0 ? Math.round((100 * f.value) / total) : 0;
  return `${what}${where ? ` (${where})` : ''} — ${formatNs(f.value)} waited, ${share}% of all, ${formatCount(f.count)} waits`;
}

/** The frames to draw, root first: those at least MIN_W wide (a narrower frame's children are narrower). */
function place(root: FlameFrame, width: number): Placed[] {
  const out: Placed[] = [];
  const scale = root.value > 0 ? width / root.value : 0;
  const walk = (f: FlameFrame, x: number): void => {
    const w = f.value * scale;
    if (w < MIN_W) return;
    out.push({ f, x, w });
    let cx = x;
    for (const c of f.children) {
      walk(c, cx);
      cx += c.value * scale;
    }
  };
  walk(root, 0);
  return out;
}

export interface FlameHandlers {
  reveal(file: string, line: number): void;
}

export class FlameView {
  readonly element: HTMLElement;
  private readonly plot: SVGSVGElement;
  private readonly empty: HTMLElement;
  private readonly legend: HTMLElement;

  constructor(handlers: FlameHandlers) {
    this.element = el('section', 'view flame-view');
    this.element.id = 'flame';
    this.element.append(el('h2', '', 'Wait flame'));
    this.legend = el('div', 'legend', 'width: wait time · warm: your code · grey: libraries and the runtime · red: the blocking point, by what it waits on · click a frame to open its source');
    this.empty = el('p', 'empty', 'No wait has ended yet: the flame shows where threads wait once they have.');
    this.plot = svg('svg', 'flame-svg');
    this.plot.setAttribute('role', 'group');
    this.plot.setAttribute('aria-label', 'wait time by call chain');
    this.element.append(this.legend, this.empty, this.plot);
    // One listener for every frame: frames come and go with each update.
    const reveal = (target: EventTarget | null): boolean => {
      const g = target instanceof Element ? target.closest('g.flame-frame') : null;
      if (!(g instanceof SVGGElement) || g.dataset['file'] === undefined) return false;
      handlers.reveal(g.dataset['file'], Number(g.dataset['line']));
      return true;
    };
    this.plot.addEventListener('click', (ev) => reveal(ev.target));
    this.plot.addEventListener('keydown', (ev) => {
      if ((ev.key === 'Enter' || ev.key === ' ') && reveal(ev.target)) ev.preventDefault();
    });
  }

  update(view: ViewData, width: number): void {
    const root = flameTree(view.nodes);
    const none = root.value === 0;
    this.empty.hidden = !none;
    this.legend.hidden = none;
    this.plot.toggleAttribute('hidden', none);
    if (none) return;
    const placed = place(root, width);
    let rows = 0;
    for (const p of placed) rows = Math.max(rows, p.f.depth + 1);
    setAttr(this.plot, 'width', String(width));
    setAttr(this.plot, 'height', String(rows * ROW_H));
    const total = root.value;
    select(this.plot)
      .selectAll<SVGGElement, Placed>('g.flame-frame')
      .data(placed, (p) => p.f.path)
      .join((enter) => {
        const g = enter.append('g');
        g.append('rect').attr('height', ROW_H - 1);
        g.append('text').attr('y', ROW_H - 5);
        g.append('title');
        return g;
      })
      .each(function (p) {
        const f = p.f;
        const kind = f.depth === 0 ? 'flame-root' : f.kind !== undefined ? 'flame-leaf' : f.own ? 'flame-own' : 'flame-lib';
        const text = describe(f, total);
        setAttr(this, 'class', `flame-frame ${kind}`);
        setAttr(this, 'transform', `translate(${p.x.toFixed(2)},${f.depth * ROW_H})`);
        setAttr(this, 'tabindex', '0');
        setAttr(this, 'aria-label', text);
        setAttr(this, 'data-function', f.name);
        if (f.kind !== undefined) setAttr(this, 'data-kind', f.kind);
        if (hasSource(f)) {
          setAttr(this, 'role', 'button');
          setAttr(this, 'data-file', f.file);
          setAttr(this, 'data-line', String(f.line));
        } else setAttr(this, 'role', 'img');
        const [rect, label, title] = this.children as unknown as [SVGRectElement, SVGTextElement, SVGTitleElement];
        setAttr(rect, 'width', p.w.toFixed(2));
        const name = fit(f.name, p.w);
        if (label.textContent !== name) label.textContent = name;
        setAttr(label, 'x', '3');
        if (title.textContent !== text) title.textContent = text;
      });
  }
}
