// The Capriccio view in the activity bar: the profile's state, its stack memory, its threads, its
// blocking points, its contended locks and its suggestions; items with a source line open it.
import * as vscode from 'vscode';
import type { Summary } from '../analysis/summary.ts';
import { placeOf } from '../analysis/labels.ts';
import { fmtBytes, fmtNs } from '../analysis/units.ts';
import type { Controller } from './controller.ts';
import { Disposable } from './disposable.ts';
import { resolveSource } from './sources.ts';
import { stackMemoryText } from '../../../shared/view.ts';

type Group = 'threads' | 'points' | 'locks' | 'suggestions';
type Item = { readonly kind: 'group'; readonly group: Group } | { readonly kind: 'leaf'; readonly item: vscode.TreeItem };

const MAX_ROWS = 200;

function openAt(file: string, line: number): vscode.Command | undefined {
  const path = resolveSource(file);
  return path && line > 0 ? { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(path), { selection: new vscode.Range(line - 1, 0, line - 1, 0) }] } : undefined;
}

function leaf(label: string, description: string, icon: string, tooltip?: string, command?: vscode.Command): Item {
  const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
  item.description = description;
  item.iconPath = new vscode.ThemeIcon(icon);
  if (tooltip) item.tooltip = tooltip;
  if (command) item.command = command;
  return { kind: 'leaf', item };
}

/** Stack memory, resident of reserved, with how it was measured as the tooltip (or why it was not, in the description). */
function stacksLeaf(st: Summary['stacks']): Item {
  return leaf('Stacks', stackMemoryText(st, fmtBytes), 'layers', st.residentBytes !== null ? `How: ${st.measured}` : undefined);
}

export class Tree extends Disposable implements vscode.TreeDataProvider<Item> {
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChangeTreeData = this.changed.event;
  private readonly groups: Record<Group, Item> = {
    threads: { kind: 'group', group: 'threads' },
    points: { kind: 'group', group: 'points' },
    locks: { kind: 'group', group: 'locks' },
    suggestions: { kind: 'group', group: 'suggestions' },
  };

  constructor(private readonly controller: Controller) {
    super();
    this._register(controller.onDidChange(() => this.changed.fire()));
    this._register(vscode.window.registerTreeDataProvider('capriccio.tree', this));
  }

  getTreeItem(e: Item): vscode.TreeItem {
    if (e.kind === 'leaf') return e.item;
    const v = this.controller.view;
    const n = {
      threads: v?.view.stacks.threads.length ?? 0,
      points: v?.summary.nodes.length ?? 0,
      locks: v?.summary.locks.length ?? 0,
      suggestions: (v?.summary.suggestions.length ?? 0) + this.controller.staticSuggestions.length,
    }[e.group];
    const label = { threads: 'Threads', points: 'Blocking points', locks: 'Contended locks', suggestions: 'Suggestions' }[e.group];
    const item = new vscode.TreeItem(label, n > 0 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    // (a recording before protocol version 4: not "0", but why none)
    item.description = e.group === 'locks' && v && !v.summary.syncRecorded ? v.summary.syncMeasured : String(n);
    item.id = `capriccio.${e.group}`;
    return item;
  }

  getChildren(e?: Item): Item[] {
    const v = this.controller.view;
    if (!e) {
      const st = this.controller.status;
      if (st.kind === 'idle') return [];
      const head = st.kind === 'building' ? leaf('Building…', '', 'loading~spin') : st.kind === 'live' ? leaf(st.what, 'live', 'pulse') : st.kind === 'ended' ? leaf(st.what, st.how, 'debug-stop') : leaf(st.what, 'recording', 'file');
      return [head, ...(v ? [stacksLeaf(v.summary.stacks)] : []), this.groups.threads, this.groups.points, this.groups.locks, this.groups.suggestions];
    }
    if (e.kind === 'leaf' || !v) return [];
    switch (e.group) {
      case 'threads':
        return v.view.stacks.threads.slice(0, MAX_ROWS).map((t) => leaf(`${t.name} #${t.id}`, `${t.state}${t.state === 'blocked' ? ` (${t.kind})` : ''} · stack used ${fmtBytes(t.usedBytes)} of ${fmtBytes(t.allocatedBytes)} reserved`, t.state === 'blocked' ? 'debug-pause' : 'debug-start'));
      case 'points':
        return v.summary.nodes.slice(0, MAX_ROWS).map((n) => leaf(`${n.function} ${n.kind}`, `×${n.count} · avg ${fmtNs(n.waitAvgNs)}`, 'debug-breakpoint-log', `${n.file}:${n.line}\nmax ${fmtNs(n.waitMaxNs)}, total ${fmtNs(n.waitTotalNs)}`, openAt(n.file, n.line)));
      case 'locks':
        return v.summary.locks.slice(0, MAX_ROWS).map((l) => {
          const h = l.holders[0];
          const held = h ? `held by ${placeOf(h)}, avg ${fmtNs(h.holdAvgNs)}` : 'no hand-over recorded';
          const tip = l.holders.map((x) => `held by ${placeOf(x)} → released at ${placeOf(x.release)}, avg ${fmtNs(x.holdAvgNs)}, ×${x.count}`).join('\n');
          return leaf(`${l.label} ${l.kind}`, `×${l.waits} · wait ${fmtNs(l.waitNs)} · ${held}`, 'lock', tip || undefined, openAt(l.file, l.line));
        });
      case 'suggestions':
        return [...v.summary.suggestions, ...this.controller.staticSuggestions].slice(0, MAX_ROWS).map((g) => leaf(g.kind, g.message, 'lightbulb', g.message, g.file && g.line ? openAt(g.file, g.line) : undefined));
      default: {
        const never: never = e.group;
        throw new Error(`unknown group ${String(never)}`);
      }
    }
  }
}
