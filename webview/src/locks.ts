// Contention and wakes: each contended lock's waiting point with who held the lock meanwhile
// (where they acquired it, where they let go, how long they held it), and which lines made
// blocked threads runnable — each place a link to its source. For a recording made before the
// runtime recorded them (protocol version 4), it says so rather than show empty tables.
import { el, row, sourceLink, table } from './dom.ts';
import { formatCount, formatNs, placeText, pointText } from './format.ts';
import type { ViewData, ViewPlace } from '../../shared/view.ts';

/** `text` as a link to the line of `p`, or as text where its source is not known. */
function linked(p: { file: string; line: number }, text: string): string | Node {
  return p.file && p.file !== '??' && p.line > 0 ? sourceLink(p.file, p.line, text) : text;
}

/** A call's place: "f file.c:12", a link to it. */
const placeCell = (p: ViewPlace): string | Node => linked(p, placeText(p));

export class LocksView {
  readonly element: HTMLElement;
  private readonly note: HTMLElement;
  private readonly locks: HTMLElement;
  private readonly wakes: HTMLElement;
  private key = '';

  constructor() {
    this.element = el('section', 'view locks-view');
    this.element.id = 'locks';
    this.element.append(el('h2', '', 'Contention and wakes'));
    this.note = el('p', 'measured');
    this.locks = el('div', 'locks');
    this.locks.dataset['chart'] = 'locks';
    this.wakes = el('div', 'wakes-table');
    this.wakes.dataset['chart'] = 'wakes';
    this.element.append(this.note, this.locks, this.wakes);
  }

  update(view: ViewData): void {
    // The woken points' names, for the wakes table: only those it refers to.
    const woken = new Set(view.wakes.map((w) => w.to));
    const points = new Map(view.nodes.filter((n) => woken.has(n.id)).map((n) => [n.id, n]));
    const key = JSON.stringify([view.syncRecorded, view.syncMeasured, view.locks, view.wakes, view.health.hiddenLocks, view.health.hiddenWakes, [...points.values()].map((n) => [n.id, n.label, n.via, n.file, n.line])]);
    if (key === this.key) return; // live updates: redraw only when they changed
    this.key = key;
    this.note.textContent = view.syncRecorded ? `How: ${view.syncMeasured}.` : `Contended locks and wakes: ${view.syncMeasured}.`;
    this.locks.replaceChildren();
    this.wakes.replaceChildren();
    if (!view.syncRecorded) return;

    this.locks.append(el('h3', '', 'Contended locks: who held them while threads waited'));
    if (view.locks.length === 0) this.locks.append(el('p', 'empty', 'No thread waited on a mutex, rwlock or semaphore.'));
    else {
      const { t, body } = table(['waiting at', 'kind', 'waits', 'wait total', 'held by (acquired at)', 'released at', 'hold avg', 'hold max', 'hand-overs']);
      for (const l of view.locks) {
        const waiting = [linked(l, l.label), l.kind, formatCount(l.waits), formatNs(l.waitNs)];
        const blank = waiting.map(() => '');
        if (l.holders.length === 0) {
          const r = row([...waiting, 'no hand-over recorded', '', '', '', '']);
          r.cells[4]!.className = 'holder-none';
          body.append(r);
        }
        l.holders.forEach((h, i) => {
          body.append(row([...(i === 0 ? waiting : blank), placeCell(h), placeCell(h.release), formatNs(h.holdAvgNs), formatNs(h.holdMaxNs), formatCount(h.count)]));
        });
      }
      this.locks.append(t);
      if (view.health.hiddenLocks > 0) this.locks.append(el('p', 'empty', `Not listed: ${formatCount(view.health.hiddenLocks)} lock(s) with the least wait.`));
    }

    this.wakes.append(el('h3', '', 'Wakes: which calls made blocked threads runnable'));
    if (view.wakes.length === 0) this.wakes.append(el('p', 'empty', 'No thread was made runnable by another thread’s call.'));
    else {
      const { t, body } = table(['waker (call)', 'woke a thread blocked at', 'times']);
      for (const w of view.wakes) {
        const n = points.get(w.to);
        body.append(row([placeCell(w.from), n ? linked(n, pointText(n)) : `#${w.to}`, formatCount(w.count)]));
      }
      this.wakes.append(t);
      if (view.health.hiddenWakes > 0) this.wakes.append(el('p', 'empty', `Not listed: ${formatCount(view.health.hiddenWakes)} wake(s) with the fewest counts.`));
    }
  }
}
