// Small DOM helpers: elements built with text (never HTML from data), SVG elements.

export const SVG_NS = 'http://www.w3.org/2000/svg';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, cls?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  if (cls) e.setAttribute('class', cls);
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
