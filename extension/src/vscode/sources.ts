// Where a file named in a profile (as the debug information spells it: absolute, or relative to
// the directory it was compiled in) is in this workspace.
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';

const cache = new Map<string, string | null>();

/** The file's path on disk, or undefined when it is not found (unknown or external code). */
export function resolveSource(file: string): string | undefined {
  if (file === '' || file === '??') return undefined;
  let hit = cache.get(file);
  if (hit === undefined) {
    const candidates = isAbsolute(file) ? [file] : (vscode.workspace.workspaceFolders ?? []).map((f) => join(f.uri.fsPath, file));
    hit = candidates.find((c) => existsSync(c)) ?? null;
    cache.set(file, hit);
  }
  return hit ?? undefined;
}

/** Forgets what was found (files come and go between builds). */
export const forgetSources = (): void => cache.clear();

/** Opens file:line (1-based) in an editor, or says why it cannot. */
export async function revealSource(file: string, line: number): Promise<void> {
  const path = resolveSource(file);
  if (!path) {
    void vscode.window.showWarningMessage(`Capriccio: ${file} is not in this workspace`);
    return;
  }
  const pos = new vscode.Position(Math.max(0, line - 1), 0);
  await vscode.window.showTextDocument(vscode.Uri.file(path), { selection: new vscode.Range(pos, pos), preserveFocus: false });
}
