// The status bar item: what Capriccio is doing now, with the live figures; a click shows the panel.
import * as vscode from 'vscode';
import type { Controller } from './controller.ts';
import { Disposable } from './disposable.ts';

export class StatusItem extends Disposable {
  private readonly item = this._register(vscode.window.createStatusBarItem('capriccio.status', vscode.StatusBarAlignment.Left, 10));

  constructor(private readonly controller: Controller) {
    super();
    this.item.name = 'Capriccio';
    this.item.command = 'capriccio.showPanel';
    this._register(controller.onDidChange(() => this.update()));
    this.update();
  }

  private update(): void {
    const st = this.controller.status;
    const p = this.controller.view?.view;
    const r = p && p.history.tNs.length > 0 ? p.history.threads[p.history.threads.length - 1] : undefined;
    const figures = p ? ` · ${r ?? 0} threads · ${p.nodes.length} blocking points · ${p.suggestions.length} suggestions` : '';
    switch (st.kind) {
      case 'idle':
        this.item.hide();
        return;
      case 'building':
        this.item.text = '$(loading~spin) Capriccio: building';
        break;
      case 'live':
        this.item.text = `$(pulse) Capriccio: ${st.what}${figures}`;
        break;
      case 'ended':
        this.item.text = `$(debug-stop) Capriccio: ${st.what} ${st.how}${figures}`;
        break;
      case 'recording':
        this.item.text = `$(file) Capriccio: ${st.what}${figures}`;
        break;
      default: {
        const never: never = st;
        throw new Error(`unknown status ${JSON.stringify(never)}`);
      }
    }
    this.item.tooltip = 'Capriccio: show the panel';
    this.item.show();
  }
}
