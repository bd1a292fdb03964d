// The webview's entry point (bundled to dist/webview.js). Finds its host — the VS Code panel
// (acquireVsCodeApi) or the standalone report (the ViewData embedded in the page) — validates
// every message it receives and renders it; data it cannot render is shown as a clear message.
import { App } from './app.ts';
import { DATA_ID, REVEAL_EVENT, ROOT_ID } from '../../shared/domids.ts';
import { parseHostMessage, type HostMessage, type WebviewMessage } from '../../shared/messages.ts';

interface VsCodeApi {
  postMessage(message: WebviewMessage): void;
}
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

/** Where messages to the host go. */
interface Host {
  post(message: WebviewMessage): void;
}

/** The report has no host: 'reveal' becomes a visible notice and a REVEAL_EVENT. */
function reportHost(app: () => App): Host {
  return {
    post(message) {
      switch (message.type) {
        case 'ready':
          return;
        case 'reveal':
          app().showNotice(`open ${message.file}:${message.line}`);
          window.dispatchEvent(new CustomEvent(REVEAL_EVENT, { detail: { file: message.file, line: message.line } }));
          return;
        default: {
          const never: never = message;
          throw new Error(`unknown message ${JSON.stringify(never)}`);
        }
      }
    },
  };
}

function handle(app: App, message: HostMessage): void {
  switch (message.type) {
    case 'init':
    case 'update':
      app.show(message.view);
      return;
    case 'error':
      app.showError(message.message);
      return;
    default: {
      const never: never = message;
      throw new Error(`unknown message ${JSON.stringify(never)}`);
    }
  }
}

function receive(app: App, data: unknown): void {
  const parsed = parseHostMessage(data);
  if (parsed.ok) handle(app, parsed.value);
  else app.showError(parsed.error);
}

function start(): void {
  const root = document.getElementById(ROOT_ID) ?? document.body;
  const vscode = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : undefined;
  // Each closure below runs only after both are defined.
  const host: Host = vscode ? { post: (m) => vscode.postMessage(m) } : reportHost(() => app);
  const app = new App(root, { reveal: (file, line) => host.post({ type: 'reveal', file, line }) });
  window.addEventListener('message', (ev: MessageEvent) => receive(app, ev.data));
  const embedded = document.getElementById(DATA_ID);
  if (!vscode && embedded) {
    let view: unknown;
    try {
      view = JSON.parse(embedded.textContent ?? '');
    } catch (err) {
      app.showError(`the embedded data is not JSON (${(err as Error).message})`);
      return;
    }
    receive(app, { type: 'init', view });
  }
  host.post({ type: 'ready' });
}

start();
