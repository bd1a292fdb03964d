// Helpers for the extension-host tests: the extension's API, temporary workspaces made from the
// samples, and waiting for a condition.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { CapriccioApi } from '../src/vscode/extension.ts';

export const EXTENSION_ID = 'capriccio.capriccio';

export async function api(): Promise<CapriccioApi> {
  const ext = vscode.extensions.getExtension<CapriccioApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed`);
  return ext.isActive ? ext.exports : await ext.activate();
}

export const repoRoot = (): string => vscode.extensions.getExtension(EXTENSION_ID)!.extensionUri.fsPath;

/** A copy of samples/NAME's sources (and the samples' common.mk beside it): its directory. */
export function sampleCopy(name: string): string {
  const root = mkdtempSync(join(tmpdir(), `capriccio-vscode-${name}-`));
  cpSync(join(repoRoot(), 'samples', 'common.mk'), join(root, 'common.mk'));
  cpSync(join(repoRoot(), 'samples', name), join(root, name), { recursive: true, filter: (src) => !src.includes('/build') });
  return join(root, name);
}

/** A copy of extension/test-vscode/fixtures/NAME (programs made for these tests): its directory. */
export function fixtureCopy(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `capriccio-vscode-${name}-`));
  cpSync(join(repoRoot(), 'extension', 'test-vscode', 'fixtures', name), dir, { recursive: true });
  return dir;
}

/** A copy of samples/NAME (sampleCopy, or fixtureCopy when `fixture`) with its FILE open in an editor. */
export async function openSample(name: string, file: string, fixture = false): Promise<{ dir: string; doc: vscode.TextDocument }> {
  const dir = fixture ? fixtureCopy(name) : sampleCopy(name);
  const doc = await vscode.workspace.openTextDocument(join(dir, file));
  await vscode.window.showTextDocument(doc);
  return { dir, doc };
}

/** Runs "Capriccio: Profile Program" with `options` and waits until the program (`what`) has ended. */
export async function profileToEnd(what: string, options: Record<string, unknown>): Promise<void> {
  const { controller } = await api();
  await vscode.commands.executeCommand('capriccio.profile', options);
  await until(`${what} to end`, () => controller.status.kind === 'ended');
}

export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
