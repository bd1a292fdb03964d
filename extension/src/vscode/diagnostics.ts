// Suggestions as diagnostics in the Problems panel (on the line they name), with quick fixes:
// yield → a yield point as the first statement of the loop's body; annotate-blocking / annotate-stack → an entry in the
// workspace's capriccio.annotations.json; chunk-size → the first chunk at the spawn call.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Suggestion } from '../analysis/suggest.ts';
import {
  annotate,
  AnnotationsFileError,
  calledFunctions,
  chunkFix,
  DEFAULT_ANNOTATED_STACK,
  suggestedAnnotations,
  yieldFix,
  type Annotation,
  type TextEdit,
} from '../fixes/fixes.ts';
import type { Controller } from './controller.ts';
import { Disposable } from './disposable.ts';
import { resolveSource } from './sources.ts';

export const ANNOTATIONS_FILE = 'capriccio.annotations.json';

const severity = (s: Suggestion): vscode.DiagnosticSeverity =>
  s.kind === 'yield' || s.kind === 'annotate-blocking' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Information;

export class Diagnostics extends Disposable implements vscode.CodeActionProvider {
  static readonly metadata: vscode.CodeActionProviderMetadata = { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] };
  private readonly collection = this._register(vscode.languages.createDiagnosticCollection('capriccio'));
  /** the suggestion behind each diagnostic */
  private readonly behind = new WeakMap<vscode.Diagnostic, Suggestion>();

  constructor(private readonly controller: Controller) {
    super();
    this._register(controller.onDidChange(() => this.refresh()));
    this._register(vscode.languages.registerCodeActionsProvider({ language: 'c' }, this, Diagnostics.metadata));
  }

  private refresh(): void {
    const all = [...(this.controller.view?.summary.suggestions ?? []), ...this.controller.staticSuggestions];
    const byFile = new Map<string, vscode.Diagnostic[]>();
    const seen = new Set<string>();
    for (const s of all) {
      const path = s.file !== undefined ? resolveSource(s.file) : undefined;
      if (!path || s.line === undefined || s.line <= 0) continue; // listed in the tree and the panel
      const key = `${s.kind}\0${path}\0${s.line}\0${s.function ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const line = s.line - 1;
      const column = s.kind === 'yield' && s.column !== undefined ? s.column - 1 : 0; // from the loop's keyword
      const d = new vscode.Diagnostic(new vscode.Range(line, column, line, Number.MAX_SAFE_INTEGER), s.message, severity(s));
      d.source = 'capriccio';
      d.code = s.kind;
      this.behind.set(d, s);
      const list = byFile.get(path) ?? [];
      list.push(d);
      byFile.set(path, list);
    }
    this.collection.clear();
    for (const [path, list] of byFile) this.collection.set(vscode.Uri.file(path), list);
  }

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, ctx: vscode.CodeActionContext): vscode.CodeAction[] {
    const out: vscode.CodeAction[] = [];
    for (const d of ctx.diagnostics) {
      const s = d.source === 'capriccio' ? this.behind.get(d) : undefined;
      if (s) out.push(...this.fixes(doc, d, s));
    }
    return out;
  }

  private fixes(doc: vscode.TextDocument, d: vscode.Diagnostic, s: Suggestion): vscode.CodeAction[] {
    const line = d.range.start.line + 1;
    switch (s.kind) {
      case 'yield': {
        const fix = yieldFix(doc.getText(), line, s.column);
        return fix ? [this.sourceAction(doc, d, fix.title, fix.edits)] : [];
      }
      case 'chunk-size': {
        const fix = chunkFix(doc.getText(), line, s.evidence.suggestedBytes, s.function);
        return fix ? [this.sourceAction(doc, d, fix.title, fix.edits)] : [];
      }
      case 'annotate-blocking': {
        const a = suggestedAnnotations(s);
        return a.length > 0 ? [this.annotationAction(doc, d, a, `Annotate ${a[0]!.name} as blocking in ${ANNOTATIONS_FILE}`)] : [];
      }
      case 'annotate-stack': {
        // From the runtime with the callees read from the program's code: all of them, with their stack.
        const a = suggestedAnnotations(s);
        if (a.length > 0) {
          const names = a.map((x) => x.name).join(', ');
          return [this.annotationAction(doc, d, a, `Annotate ${names} with a ${a[0]!.annotation.stackBytes}-byte stack in ${ANNOTATIONS_FILE}`)];
        }
        // From the static analysis `function` is the external callee; from the runtime without the
        // program's code it is the caller, and the callee is one of the functions called on that line.
        const called = calledFunctions(doc.lineAt(line - 1).text);
        const names = s.function && called.includes(s.function) ? [s.function] : called.filter((n) => n !== s.function);
        return names.map((n) => this.annotationAction(doc, d, [{ name: n, annotation: { stackBytes: DEFAULT_ANNOTATED_STACK } }], `Annotate ${n} with a ${DEFAULT_ANNOTATED_STACK}-byte stack in ${ANNOTATIONS_FILE}`));
      }
      default: {
        const never: never = s;
        throw new Error(`unknown suggestion ${JSON.stringify(never)}`);
      }
    }
  }

  private sourceAction(doc: vscode.TextDocument, d: vscode.Diagnostic, title: string, edits: readonly TextEdit[]): vscode.CodeAction {
    const a = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
    a.diagnostics = [d];
    a.isPreferred = true;
    a.edit = new vscode.WorkspaceEdit();
    for (const e of edits) a.edit.replace(doc.uri, new vscode.Range(e.line, e.character, e.endLine, e.endCharacter), e.newText);
    return a;
  }

  /** The fix edits the annotations file of the document's workspace folder (created if missing). */
  private annotationAction(doc: vscode.TextDocument, d: vscode.Diagnostic, entries: readonly NamedAnnotation[], title: string): vscode.CodeAction {
    const a = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
    a.diagnostics = [d];
    a.command = { command: 'capriccio.annotate', title, arguments: [doc.uri, ...entries.flatMap((e) => [e.name, e.annotation])] };
    return a;
  }
}

/** An annotation and the function it is for. */
export interface NamedAnnotation {
  readonly name: string;
  readonly annotation: Annotation;
}

/** capriccio.annotate(uri, name, annotation[, name, annotation…]): merges the annotations into the folder's file and opens it. */
export async function applyAnnotation(uri: vscode.Uri, entries: readonly NamedAnnotation[]): Promise<void> {
  const folder = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath ?? join(uri.fsPath, '..');
  const file = vscode.Uri.file(join(folder, ANNOTATIONS_FILE));
  const exists = existsSync(file.fsPath);
  const doc = exists ? await vscode.workspace.openTextDocument(file) : undefined;
  let text: string;
  try {
    text = entries.reduce<string | undefined>((t, e) => annotate(t, e.name, e.annotation), doc?.getText()) ?? '';
  } catch (err) {
    if (err instanceof AnnotationsFileError) {
      void vscode.window.showErrorMessage(`Capriccio: ${file.fsPath}: ${err.message}`);
      return;
    }
    throw err;
  }
  const edit = new vscode.WorkspaceEdit();
  if (doc) edit.replace(file, new vscode.Range(0, 0, doc.lineCount, 0), text);
  else {
    edit.createFile(file, { ignoreIfExists: true });
    edit.insert(file, new vscode.Position(0, 0), text);
  }
  await vscode.workspace.applyEdit(edit);
  const opened = await vscode.workspace.openTextDocument(file);
  await opened.save();
  await vscode.window.showTextDocument(opened, { preview: true, preserveFocus: true });
  void vscode.window.showInformationMessage(`Capriccio: ${entries.map((e) => e.name).join(', ')} annotated in ${ANNOTATIONS_FILE}; rebuild with capriccio cc to apply it.`);
}
