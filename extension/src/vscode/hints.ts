// Beside each blocking point in the source: the live average wait and count (an after-line
// decoration, off with capriccio.inlineHints), and on hover the edges into and out of it with
// their times.
import * as vscode from 'vscode';
import type { EdgeSummary, NodeSummary, Summary } from '../analysis/summary.ts';
import { fmtNs } from '../analysis/units.ts';
import type { Controller } from './controller.ts';
import { Disposable } from './disposable.ts';
import { settings } from './settings.ts';
import { resolveSource } from './sources.ts';

/** Blocking points by file path and 1-based line. */
type Index = Map<string, Map<number, NodeSummary[]>>;

function index(s: Summary | undefined): Index {
  const out: Index = new Map<string, Map<number, NodeSummary[]>>();
  for (const n of s?.nodes ?? []) {
    const path = resolveSource(n.file);
    if (!path || n.line <= 0) continue;
    let lines = out.get(path);
    if (!lines) out.set(path, (lines = new Map<number, NodeSummary[]>()));
    const here = lines.get(n.line);
    if (here) here.push(n);
    else lines.set(n.line, [n]);
  }
  return out;
}

const count = (n: number): string => n.toLocaleString('en-US');

/** "read ×1,234 · wait avg 3.1 ms" for the blocking points of one line; points that share the line say what tells them apart ("condvar ← stage2 (pipe.c:40) ×12 · …"). */
export function hintText(nodes: readonly NodeSummary[]): string {
  return nodes.map((n) => `${n.kind}${n.via ? ` ${n.via}` : ''} ×${count(n.count)} · wait avg ${fmtNs(n.waitAvgNs)}`).join('  |  ');
}

export class Hints extends Disposable {
  private readonly decoration = this._register(
    vscode.window.createTextEditorDecorationType({
      after: { margin: '0 0 0 2em', color: new vscode.ThemeColor('editorCodeLens.foreground'), fontStyle: 'italic' },
      rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
    }),
  );
  private byFile: Index = index(undefined);

  constructor(private readonly controller: Controller) {
    super();
    this._register(controller.onDidChange(() => this.refresh()));
    this._register(vscode.window.onDidChangeVisibleTextEditors(() => this.decorate()));
    this._register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('capriccio.inlineHints')) this.decorate();
      }),
    );
    this._register(vscode.languages.registerHoverProvider({ language: 'c' }, { provideHover: (doc, pos) => this.hover(doc, pos) }));
  }

  private refresh(): void {
    this.byFile = index(this.controller.view?.summary);
    this.decorate();
  }

  private decorate(): void {
    const on = settings().inlineHints;
    for (const editor of vscode.window.visibleTextEditors) {
      const lines = on ? this.byFile.get(editor.document.uri.fsPath) : undefined;
      const opts: vscode.DecorationOptions[] = [];
      for (const [line, nodes] of lines ?? []) {
        if (line > editor.document.lineCount) continue;
        const end = editor.document.lineAt(line - 1).range.end;
        opts.push({ range: new vscode.Range(end, end), renderOptions: { after: { contentText: `— ${hintText(nodes)}` } } });
      }
      editor.setDecorations(this.decoration, opts);
    }
  }

  private hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    if (!settings().inlineHints) return undefined;
    const nodes = this.byFile.get(doc.uri.fsPath)?.get(pos.line + 1);
    const s = this.controller.view?.summary;
    if (!nodes || !s) return undefined;
    const byId = new Map(s.nodes.map((n) => [n.id, n]));
    const name = (id: number): string => {
      const n = byId.get(id);
      return n ? `\`${n.function}\` ${n.kind} (${n.file.split('/').pop()}:${n.line})${n.via ? ` ${n.via}` : ''}` : `#${id}`;
    };
    const row = (e: EdgeSummary, other: number): string => `| ${name(other)} | ${count(e.count)} | ${fmtNs(e.avgNs)} | ${fmtNs(e.maxNs)} |`;
    const md = new vscode.MarkdownString();
    for (const n of nodes) {
      md.appendMarkdown(`**Capriccio** — blocking point \`${n.function}\`${n.via ? ` ${n.via}` : ''} (${n.kind}): ${count(n.count)} waits, avg ${fmtNs(n.waitAvgNs)}, max ${fmtNs(n.waitMaxNs)}\n\n`);
      const into = s.edges.filter((e) => e.to === n.id);
      const from = s.edges.filter((e) => e.from === n.id);
      if (into.length > 0) md.appendMarkdown(`Runs into here:\n\n| from | count | avg | max |\n|---|--:|--:|--:|\n${into.slice(0, 8).map((e) => row(e, e.from)).join('\n')}\n\n`);
      if (from.length > 0) md.appendMarkdown(`Runs from here:\n\n| to | count | avg | max |\n|---|--:|--:|--:|\n${from.slice(0, 8).map((e) => row(e, e.to)).join('\n')}\n\n`);
    }
    return new vscode.Hover(md, doc.lineAt(pos.line).range);
  }
}
