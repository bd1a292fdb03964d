// Compare: this recording against an earlier one (view.compare), to see whether a change helped.
// The blocking points ranked by how much their wait changed, each figure before → after, the
// change coloured better or worse with its ratio; then the edges and the spawn sites the same way.
// Hidden, with its entry in the nav, when there is nothing to compare with.
import { el, row, sourceLink, table } from './dom.ts';
import { fileLine, formatBytes, formatCount, formatNs } from './format.ts';
import type { DiffEdge, DiffPoint, DiffRow, DiffSite, EdgeFigures, PointFigures, SiteFigures, ViewData } from '../../shared/view.ts';

/** How a figure moved from the earlier recording to this one. */
type Move =
  | { readonly kind: 'new' } // not in the earlier recording
  | { readonly kind: 'gone' } // not in this one
  | { readonly kind: 'same' }
  /** after / before (Infinity from 0) */
  | { readonly kind: 'better' | 'worse'; readonly ratio: number };

/** For waits, runs and stack bytes less is better; for counts it is neither (more work may be the point). */
function move(before: number | null, after: number | null, lowerIsBetter: boolean): Move {
  if (before === null) return { kind: 'new' };
  if (after === null) return { kind: 'gone' };
  if (after === before) return { kind: 'same' };
  return { kind: (after < before) === lowerIsBetter ? 'better' : 'worse', ratio: before > 0 ? after / before : Infinity };
}

/** "×0.005", "×1.3", "×200", "×∞": two digits are enough to see the size of a change. */
const ratioText = (r: number): string => (!Number.isFinite(r) ? '×∞' : r >= 100 ? `×${Math.round(r)}` : `×${Number(r.toPrecision(2))}`);
const signed = (n: number, fmt: (n: number) => string): string => (n >= 0 ? `+${fmt(n)}` : `−${fmt(-n)}`);

/** The change of a row's ranking figure: "−999 ms ×0.005", coloured by its class. */
function changeText(m: Move, delta: string): string {
  switch (m.kind) {
    case 'new':
      return `new (${delta})`;
    case 'gone':
      return `gone (${delta})`;
    case 'same':
      return 'same';
    case 'better':
    case 'worse':
      return `${delta} ${ratioText(m.ratio)}`;
    default: {
      const never: never = m;
      return String(never);
    }
  }
}

interface Column<F> {
  readonly title: string;
  readonly value: (f: F) => number;
  readonly format: (n: number) => string;
  /** less is better: its move is coloured */
  readonly judged: boolean;
}

/** One table of the view: its rows' name, the figures shown before → after, and the one they are ranked by. */
interface Table<F, R extends DiffRow<F>> {
  /** what its rows are (data-chart "compare-points") */
  readonly id: 'points' | 'edges' | 'sites';
  /** one row's kind: "blocking point" */
  readonly one: string;
  readonly name: (r: R) => string | Node;
  readonly columns: readonly Column<F>[];
  readonly ranked: Column<F>;
}

const side = <F>(f: F | null, c: Column<F>): number | null => (f ? c.value(f) : null);

/** "before → after" of one figure, with its move as a class (trend-better, trend-worse, …). */
function pairCell<F>(r: DiffRow<F>, c: Column<F>): HTMLElement {
  const [b, a] = [side(r.before, c), side(r.after, c)];
  const cell = el('span', c.judged ? `pair trend-${move(b, a, true).kind}` : 'pair');
  cell.dataset['column'] = c.title;
  cell.append(el('span', 'before', b === null ? '—' : c.format(b)), ' → ', el('span', 'after', a === null ? '—' : c.format(a)));
  return cell;
}

function section<F, R extends DiffRow<F>>(t: Table<F, R>, rows: readonly R[], hidden: number): Node[] {
  const what = `${t.one}s`;
  const out: Node[] = [el('h3', '', `${what[0]!.toUpperCase()}${what.slice(1)}, by change in ${t.ranked.title}`)];
  if (rows.length === 0) return [...out, el('p', 'empty', `No ${what} in either recording.`)];
  const grid = table([t.one, ...t.columns.map((c) => c.title), `change in ${t.ranked.title}`]);
  grid.t.dataset['chart'] = `compare-${t.id}`;
  for (const r of rows) {
    const m = move(side(r.before, t.ranked), side(r.after, t.ranked), t.ranked.judged);
    const tr = row([t.name(r), ...t.columns.map((c) => pairCell(r, c)), el('span', `change trend-${m.kind}`, changeText(m, signed(r.change, t.ranked.format)))]);
    tr.dataset['key'] = r.key;
    grid.body.append(tr);
  }
  out.push(grid.t);
  if (hidden > 0) out.push(el('p', 'empty', `${formatCount(hidden)} more ${what} changed less (capriccio diff lists them all).`));
  return out;
}

const placed = (file: string, line: number, text: string): string | Node => (file !== '' && file !== '??' && line > 0 ? sourceLink(file, line, text) : text);

const count = <F>(title: string, value: (f: F) => number): Column<F> => ({ title, value, format: formatCount, judged: false });
const time = <F>(title: string, value: (f: F) => number): Column<F> => ({ title, value, format: formatNs, judged: true });
const highWater: Column<SiteFigures> = { title: 'stack high-water', value: (f) => f.stackHighWaterBytes, format: formatBytes, judged: true };

function pointName(r: DiffPoint): Node {
  const name = el('span', 'compare-name');
  name.append(el('span', 'badge', r.kind), ' ', placed(r.file, r.line, r.label));
  return name;
}

const POINTS: Table<PointFigures, DiffPoint> = {
  id: 'points',
  one: 'blocking point',
  name: pointName,
  columns: [count('waits', (f) => f.count), time('avg wait', (f) => f.waitAvgNs), time('max wait', (f) => f.waitMaxNs)],
  ranked: time('total wait', (f) => f.waitTotalNs),
};
const EDGES: Table<EdgeFigures, DiffEdge> = {
  id: 'edges',
  one: 'edge',
  name: (r) => el('span', 'compare-name', `${r.from} → ${r.to}`),
  columns: [count('runs', (f) => f.count), time('avg run', (f) => f.runAvgNs), time('max run', (f) => f.runMaxNs)],
  ranked: time('total run', (f) => f.runTotalNs),
};
const SITES: Table<SiteFigures, DiffSite> = {
  id: 'sites',
  one: 'spawn site',
  name: (r) => placed(r.file, r.line, `${r.key} ${fileLine(r.file, r.line)}`.trim()),
  columns: [count('threads', (f) => f.threads), highWater],
  ranked: highWater,
};

export class CompareView {
  readonly element = el('section', 'view compare-view');
  /** its entry in the nav, shown with it */
  readonly link = el('a', '', 'Compare');
  private readonly title = el('h2', '', 'Compare');
  private readonly body = el('div');
  private key = '';

  constructor() {
    this.element.id = 'compare';
    this.element.append(this.title, this.body);
    this.link.href = '#compare';
    this.element.hidden = this.link.hidden = true;
  }

  /** Shows or hides it (cheap, every render: a hidden view is never seen to come into sight, so it could not wait for that). */
  toggle(view: ViewData): void {
    this.element.hidden = this.link.hidden = view.compare === undefined;
  }

  update(view: ViewData): void {
    this.toggle(view);
    const c = view.compare;
    const key = c ? JSON.stringify([view.source, c]) : '';
    if (key === this.key) return; // live updates: redraw only when it changed
    this.key = key;
    this.title.textContent = c ? `Compare with ${c.name}` : 'Compare';
    this.body.replaceChildren(
      ...(c
        ? [
            el('p', 'compare-sources', `before: ${c.source} · after: ${view.source}`),
            ...section(POINTS, c.points, c.hidden.points),
            ...section(EDGES, c.edges, c.hidden.edges),
            ...section(SITES, c.sites, c.hidden.sites),
          ]
        : []),
    );
  }
}
