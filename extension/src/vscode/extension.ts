// The VS Code extension's entry point: wires the profile controller to its views (panel, inline
// hints, diagnostics with quick fixes, tree, status bar), the commands and the launch type.
// Everything created is a disposable owned by the extension context.
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { loadCParser } from '../source/cparser.ts';
import { registerCommands } from './commands.ts';
import { Controller } from './controller.ts';
import { Diagnostics } from './diagnostics.ts';
import { liveDisposables } from './disposable.ts';
import { Hints } from './hints.ts';
import { registerLaunch } from './launch.ts';
import { Panel } from './panel.ts';
import { StatusItem } from './status.ts';
import { Tree } from './tree.ts';
import type { ViewData } from '../../../shared/view.ts';

/** What activate() returns: the extension-host tests look at the controller and count disposables. */
export interface CapriccioApi {
  readonly controller: Controller;
  /** How many disposables the extension's objects hold now: a lifetime that leaks makes it grow. */
  readonly liveDisposables: () => number;
  /** The view the panel last sent its webview (undefined: none yet). */
  readonly panelView: () => ViewData | undefined;
}

/** A .vsix is a zip: the scripts may arrive without their executable bits. */
function makeExecutable(root: string): void {
  for (const f of ['bin/capcc', 'bin/capriccio.js']) {
    const p = join(root, f);
    try {
      if ((statSync(p).mode & 0o111) === 0) chmodSync(p, 0o755);
    } catch {
      // missing: capcc's absence is reported when a build needs it
    }
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<CapriccioApi> {
  makeExecutable(context.extensionUri.fsPath);
  await loadCParser(); // suggestions and quick fixes read the loops of C sources
  const out = vscode.window.createOutputChannel('Capriccio');
  const controller = new Controller(out);
  const panel = new Panel(context.extensionUri, controller, out);
  context.subscriptions.push(
    out,
    controller,
    panel,
    new Hints(controller),
    new Diagnostics(controller),
    new Tree(controller),
    new StatusItem(controller),
    registerLaunch(),
    ...registerCommands(controller, panel, out),
  );
  return { controller, liveDisposables, panelView: () => panel.posted };
}

export function deactivate(): void {
  // The context's disposables stop a running profile.
}
