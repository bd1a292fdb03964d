// Suggestions: what to change, each with the figures it rests on and a link to its source line.
import { el, sourceLink } from './dom.ts';
import { fileLine } from './format.ts';
import type { ViewData } from '../../shared/view.ts';

const KIND_TITLES: Record<string, string> = {
  yield: 'add a yield point',
  'annotate-blocking': 'annotate as blocking',
  'annotate-stack': 'annotate a stack need',
  'chunk-size': 'first chunk size',
};

export class SuggestionsView {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly empty: HTMLElement;
  private key = '';

  constructor() {
    this.element = el('section', 'view suggestions-view');
    this.element.id = 'suggestions';
    this.element.append(el('h2', '', 'Suggestions'));
    this.empty = el('p', 'empty', 'No suggestion: nothing ran too long without blocking, stalled the scheduler or outgrew its stack.');
    this.list = el('ol', 'suggestions');
    this.element.append(this.empty, this.list);
  }

  update(view: ViewData): void {
    const key = JSON.stringify(view.suggestions);
    if (key === this.key) return; // live updates: redraw only when they changed
    this.key = key;
    this.empty.hidden = view.suggestions.length > 0;
    this.list.replaceChildren(
      ...view.suggestions.map((s) => {
        const li = el('li', 'suggestion');
        li.dataset['kind'] = s.kind;
        const head = el('div', 'suggestion-head');
        head.append(el('span', `badge badge-${s.kind}`, KIND_TITLES[s.kind] ?? s.kind));
        if (s.file !== undefined && s.line !== undefined && s.file !== '??') head.append(sourceLink(s.file, s.line, `${s.function ?? ''} ${fileLine(s.file, s.line)}`.trim()));
        const evidence = el('dl', 'evidence');
        for (const [k, v] of Object.entries(s.evidence)) evidence.append(el('dt', '', k), el('dd', '', String(v)));
        li.append(head, el('p', 'message', s.message), evidence);
        return li;
      }),
    );
  }
}
