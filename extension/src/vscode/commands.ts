// The palette commands (category "Capriccio"). Each takes optional arguments so launch
// configurations and tests can drive it without dialogs; without them it asks.
import { writeFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { CiParseError } from '../analysis/stack/ci.ts';
import { analyzeStacks, UnknownEntryError } from '../analysis/stack/graph.ts';
import { findCallGraphs, loadProgram, NoCallGraphError } from '../analysis/stack/load.ts';
import { analysisJson, analysisText, stackSuggestions, type AnalyzeJson } from '../analysis/stack/report.ts';
import { perfettoTrace } from '../export/perfetto.ts';
import { loadRecording } from '../recording/load.ts';
import type { Annotation } from '../fixes/fixes.ts';
import { MAX_KILL_AFTER_MS } from '../session/session.ts';
import { build, BuildError } from './build.ts';
import { COMPARE_COMMAND, COMPARE_TITLE, Comparer, type CompareArgs } from './compare.ts';
import type { Controller } from './controller.ts';
import { applyAnnotation, type NamedAnnotation } from './diagnostics.ts';
import { UserError } from './errors.ts';
import type { Panel } from './panel.ts';
import { settings } from './settings.ts';
import { forgetSources } from './sources.ts';

/** What Profile Program runs; every field falls back on the settings. */
export interface ProfileArgs {
  readonly folder?: string;
  readonly buildCommand?: string;
  readonly program?: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** seconds between SIGTERM and SIGKILL when the program is stopped */
  readonly killAfterSeconds?: number;
}

/** Kill-after seconds (a setting or a launch attribute, which VS Code does not enforce) in ms. */
function killAfterMs(seconds: unknown, where: string): number {
  const ms = typeof seconds === 'number' ? Math.round(seconds * 1000) : NaN;
  if (!(ms >= 0 && ms <= MAX_KILL_AFTER_MS)) {
    throw new UserError(`${where} must be a number of seconds from 0 to ${Math.floor(MAX_KILL_AFTER_MS / 1000)}, not ${JSON.stringify(seconds)}`);
  }
  return ms;
}

function requireTrust(what: string): void {
  if (!vscode.workspace.isTrusted) throw new UserError(`${what} builds or runs code from this workspace, which is not trusted (Workspaces: Manage Workspace Trust)`);
}

function folderFor(given?: string): string {
  if (given) return given;
  const active = vscode.window.activeTextEditor?.document.uri;
  const f = (active && vscode.workspace.getWorkspaceFolder(active)) ?? vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new UserError('open a folder first: Capriccio builds, runs and records inside a workspace folder');
  return f.uri.fsPath;
}

export function registerCommands(controller: Controller, panel: Panel, out: vscode.OutputChannel): vscode.Disposable[] {
  /** Runs a command body; a failure becomes one clear message (and the output channel keeps the rest). */
  const guarded =
    <A extends unknown[], R>(name: string, body: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R | undefined> => {
      try {
        return await body(...args);
      } catch (err) {
        const e = err as Error;
        const expected = err instanceof UserError || err instanceof BuildError || err instanceof NoCallGraphError || err instanceof CiParseError || err instanceof UnknownEntryError;
        out.appendLine(`capriccio: ${name}: ${expected ? e.message : (e.stack ?? e.message)}`);
        void vscode.window.showErrorMessage(`Capriccio: ${e.message}`, 'Show Output').then((pick) => pick && out.show(true));
        return undefined;
      }
    };

  const profile = async (a: ProfileArgs = {}): Promise<void> => {
    requireTrust('Profile Program');
    const folder = folderFor(a.folder);
    const s = settings(vscode.Uri.file(folder));
    const killAfter = a.killAfterSeconds !== undefined ? killAfterMs(a.killAfterSeconds, 'killAfterSeconds') : killAfterMs(s.killAfterSeconds, 'capriccio.killAfterSeconds');
    await vscode.workspace.saveAll(false);
    controller.setStatus({ kind: 'building' });
    forgetSources();
    try {
      const target = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Capriccio: building' }, (_p, token) =>
        build(
          {
            folder,
            buildCommand: a.buildCommand ?? s.buildCommand,
            program: a.program ?? s.program,
            args: a.args ?? s.args,
            cwd: a.cwd ?? s.cwd,
            activeFile: vscode.window.activeTextEditor?.document.languageId === 'c' ? vscode.window.activeTextEditor.document.uri.fsPath : undefined,
          },
          s,
          out,
          token,
        ),
      );
      await controller.launch(folder, target, a.env ?? {}, killAfter);
    } catch (err) {
      controller.setStatus({ kind: 'idle' });
      throw err;
    }
    panel.show();
  };

  const attach = async (socketPath?: string): Promise<void> => {
    requireTrust('Attach');
    const path =
      socketPath ??
      (await vscode.window.showInputBox({
        title: 'Capriccio: Attach to Telemetry Socket',
        prompt: 'The socket of a program started with CAPRICCIO_TELEMETRY_LISTEN=PATH',
        placeHolder: '/tmp/capriccio.sock',
        validateInput: (v) => (v.trim() === '' ? 'a socket path' : undefined),
      }));
    if (!path) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    await controller.attach(folder, path.trim());
    panel.show();
  };

  const openRecording = async (uri?: vscode.Uri): Promise<void> => {
    const file =
      uri ??
      (await vscode.window.showOpenDialog({ title: 'Capriccio: Open Recording', canSelectMany: false, filters: { 'Capriccio recordings': ['cap', 'capr', 'bin'], 'All files': ['*'] } }))?.[0];
    if (!file) return;
    forgetSources();
    await controller.open(file.fsPath);
    panel.show();
    const h = controller.view?.view.health;
    if (h?.truncated) void vscode.window.showWarningMessage(`Capriccio: ${file.fsPath}: ${h.truncated}; showing everything before it`);
  };

  const exportPerfetto = async (output?: string): Promise<string | undefined> => {
    const record = controller.recordPath;
    if (!record) throw new UserError('nothing to export: profile a program or open a recording first');
    const target = output ?? (await vscode.window.showSaveDialog({ title: 'Capriccio: Export to Perfetto', defaultUri: vscode.Uri.file(record.replace(/(\.cap)?$/, '.perfetto.json')), filters: { 'Trace JSON': ['json'] } }))?.fsPath;
    if (!target) return undefined;
    const loaded = await loadRecording(record);
    const trace = perfettoTrace(loaded.recording.frames, loaded.model, loaded.table);
    await writeFile(target, JSON.stringify(trace));
    void vscode.window.showInformationMessage(`Capriccio: wrote ${target} (${trace.traceEvents.length} events); open it in ui.perfetto.dev`);
    return target;
  };

  const analyzeStack = async (paths?: readonly string[]): Promise<AnalyzeJson> => {
    requireTrust('Analyze Stack Usage');
    const where = paths && paths.length > 0 ? [...paths] : [folderFor()];
    const files = await findCallGraphs(where);
    const analysis = analyzeStacks(await loadProgram(files));
    out.appendLine(analysisText(analysis, files));
    out.show(true);
    controller.setStaticSuggestions(stackSuggestions(analysis));
    return analysisJson(analysis, files);
  };

  const comparer = new Comparer(controller, panel);

  return [
    comparer,
    vscode.commands.registerCommand(COMPARE_COMMAND, guarded(COMPARE_TITLE, (a?: CompareArgs) => comparer.run(a))),
    vscode.commands.registerCommand('capriccio.profile', guarded('Profile Program', profile)),
    vscode.commands.registerCommand('capriccio.attach', guarded('Attach', attach)),
    vscode.commands.registerCommand('capriccio.openRecording', guarded('Open Recording', openRecording)),
    vscode.commands.registerCommand('capriccio.stop', guarded('Stop', () => controller.stop())),
    vscode.commands.registerCommand('capriccio.exportPerfetto', guarded('Export to Perfetto', exportPerfetto)),
    vscode.commands.registerCommand('capriccio.analyzeStack', guarded('Analyze Stack Usage', analyzeStack)),
    vscode.commands.registerCommand('capriccio.showPanel', () => panel.show()),
    vscode.commands.registerCommand(
      'capriccio.annotate',
      guarded('Annotate', (uri: vscode.Uri, ...pairs: (string | Annotation)[]) => {
        const entries: NamedAnnotation[] = [];
        for (let i = 0; i + 1 < pairs.length; i += 2) entries.push({ name: pairs[i] as string, annotation: pairs[i + 1] as Annotation });
        return applyAnnotation(uri, entries);
      }),
    ),
  ];
}
