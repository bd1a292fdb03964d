// The "capriccio" launch configuration type: F5 builds, runs and profiles like Profile Program.
// It is not a debugger; resolving the configuration starts the profile and cancels the debug
// session (returning undefined does so without an error).
import * as vscode from 'vscode';
import type { ProfileArgs } from './commands.ts';

interface CapriccioLaunch extends vscode.DebugConfiguration {
  readonly program?: string;
  readonly args?: readonly string[];
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  readonly buildCommand?: string;
  readonly killAfterSeconds?: number;
}

export function registerLaunch(): vscode.Disposable {
  return vscode.debug.registerDebugConfigurationProvider('capriccio', {
    async resolveDebugConfiguration(folder, config: CapriccioLaunch): Promise<undefined> {
      const args: ProfileArgs = {
        ...(folder ? { folder: folder.uri.fsPath } : {}),
        ...(config.program !== undefined ? { program: config.program } : {}),
        ...(config.args !== undefined ? { args: config.args } : {}),
        ...(config.cwd !== undefined ? { cwd: config.cwd } : {}),
        ...(config.env !== undefined ? { env: config.env } : {}),
        ...(config.buildCommand !== undefined ? { buildCommand: config.buildCommand } : {}),
        ...(config.killAfterSeconds !== undefined ? { killAfterSeconds: config.killAfterSeconds } : {}),
      };
      await vscode.commands.executeCommand('capriccio.profile', args);
      return undefined;
    },
  });
}
