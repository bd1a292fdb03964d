// Small DOM helpers: elements built with text (never HTML from data), SVG elements.

export const SVG_NS = 'http://www.w3.org/2000/svg';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** An SVG element; `attrs` are set in their order (numbers as written by String). */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, cls?: string, attrs?: Readonly<Record<string, string | number>>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  if (cls) e.setAttribute('class', cls);
  if (attrs) for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** Sets an attribute only when its value changed (cheap on large live graphs). */
export function setAttr(e: Element, name: string, value: string): void {
  if (e.getAttribute(name) !== value) e.setAttribute(name, value);
}

/** A link that asks the host to reveal `file:line` (data attributes; the click is delegated). */
export function sourceLink(file: string, line: number, text: string): HTMLAnchorElement {
  const a = el('a', 'source-link', text);
  a.href = '#';
  a.dataset['file'] = file;
  a.dataset['line'] = String(line);
  a.title = `open ${file}:${line}`;
  return a;
}

const BAR_H = 14;

/** A horizontal bar: `used` filled within `total`, both scaled so that `max` spans `width` pixels. */
export function bar(used: number, total: number, max: number, width: number): SVGSVGElement {
  const s = svg('svg', 'bar');
  s.setAttribute('width', String(width));
  s.setAttribute('height', String(BAR_H));
  const w = (v: number): number => (max > 0 ? Math.max(v > 0 ? 1 : 0, (v / max) * width) : 0);
  const all = svg('rect', 'bar-allocated');
  all.setAttribute('width', String(w(total)));
  all.setAttribute('height', String(BAR_H));
  const u = svg('rect', 'bar-used');
  u.setAttribute('width', String(w(Math.min(used, total))));
  u.setAttribute('height', String(BAR_H));
  s.append(all, u);
  return s;
}


export function table(headers: readonly string[]): { t: HTMLTableElement; body: HTMLTableSectionElement } {
  const t = el('table', 'grid');
  const head = el('tr');
  for (const h of headers) head.append(el('th', '', h));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  t.append(thead, body);
  return { t, body };
}

export function row(cells: readonly (string | Node)[]): HTMLTableRowElement {
  const r = el('tr');
  for (const c of cells) {
    const td = el('td');
    td.append(c);
    r.append(td);
  }
  return r;
}
