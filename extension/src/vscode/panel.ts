// The webview panel: the same bundle as the standalone report (dist/webview.js), fed with typed
// host messages. Strict CSP with a fresh nonce per page; scripts and styles only from the
// extension's dist folder; nothing remote. A click on a node comes back as 'reveal'.
import * as vscode from 'vscode';
import { newNonce } from '../report/html.ts';
import { viewSuggestion } from '../report/viewdata.ts';
import { ROOT_ID } from '../../../shared/domids.ts';
import { parseWebviewMessage, type HostMessage } from '../../../shared/messages.ts';
import type { ViewData } from '../../../shared/view.ts';
import type { Controller } from './controller.ts';
import { Disposable, DisposableStore } from './disposable.ts';
import { revealSource } from './sources.ts';

export class Panel extends Disposable {
  static readonly viewType = 'capriccio.panel';
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  /** the view last posted to the webview (the extension-host tests read what the panel was sent) */
  posted: ViewData | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly controller: Controller,
    private readonly out: vscode.OutputChannel,
  ) {
    super();
    this._register(controller.onDidChange(() => this.push('update')));
  }

  /** What the panel draws: the profile's view, with the static analysis's suggestions and the comparison added. */
  private data(): ViewData | undefined {
    const v = this.controller.view?.view;
    const extra = this.controller.staticSuggestions;
    const compare = this.controller.compare;
    if (!v || (extra.length === 0 && !compare)) return v;
    return {
      ...v,
      suggestions: [...v.suggestions, ...extra.map((g) => viewSuggestion(g, `[static] ${g.message}`))],
      ...(compare ? { compare } : {}),
    };
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal(undefined, true);
      return;
    }
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    const panel = vscode.window.createWebviewPanel(Panel.viewType, 'Capriccio', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [dist],
    });
    this.panel = panel;
    this.ready = false;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'capriccio.svg');
    panel.webview.html = this.html(panel.webview, dist);
    // This webview panel's listeners end with it, not with the Panel: registered with the Panel,
    // every close and reopen left two more behind.
    const listeners = new DisposableStore();
    listeners.add(panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)));
    listeners.add(
      panel.onDidDispose(() => {
        this.panel = undefined;
        this.ready = false;
        listeners.dispose();
      }),
    );
  }

  private html(webview: vscode.Webview, dist: vscode.Uri): string {
    const nonce = newNonce();
    const js = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
    const css = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css'));
    const csp = `default-src 'none'; script-src 'nonce-${nonce}'; style-src ${webview.cspSource} 'nonce-${nonce}'; img-src ${webview.cspSource} data:; font-src ${webview.cspSource};`;
    return [
      '<!DOCTYPE html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      `<link rel="stylesheet" nonce="${nonce}" href="${css.toString()}">`,
      '<title>Capriccio</title>',
      '</head>',
      '<body>',
      `<div id="${ROOT_ID}"></div>`,
      `<script nonce="${nonce}" src="${js.toString()}"></script>`,
      '</body>',
      '</html>',
    ].join('\n');
  }

  private async receive(m: unknown): Promise<void> {
    const parsed = parseWebviewMessage(m);
    if (!parsed.ok) {
      this.out.appendLine(`capriccio: ignored a message from the panel: ${parsed.error}`);
      return;
    }
    const msg = parsed.value;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.push('init');
        return;
      case 'reveal':
        await revealSource(msg.file, msg.line);
        return;
      default: {
        const never: never = msg;
        throw new Error(`unknown message ${JSON.stringify(never)}`);
      }
    }
  }

  private push(type: 'init' | 'update'): void {
    if (!this.panel || !this.ready) return;
    const view = this.data();
    const message: HostMessage = view ? { type, view } : { type: 'error', message: 'No profile yet: run Capriccio: Profile Program, or open a recording.' };
    this.posted = view;
    void this.panel.webview.postMessage(message);
  }

  override dispose(): void {
    this.panel?.dispose(); // its onDidDispose disposes its listeners
    super.dispose();
  }
}
