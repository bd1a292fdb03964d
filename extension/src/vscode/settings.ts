// The extension's settings (package.json contributes.configuration), read in one place.
import * as vscode from 'vscode';
import { DEFAULT_KILL_AFTER_MS } from '../session/session.ts';

export interface Settings {
  readonly compiler: string;
  readonly buildCommand: string;
  readonly program: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly telemetryIntervalMs: number;
  readonly scheduler: string;
  readonly stackMode: string;
  readonly firstChunkBytes: number;
  readonly caps: { readonly nodes: number; readonly edges: number };
  readonly inlineHints: boolean;
  readonly recordDirectory: string;
  /** seconds between SIGTERM and SIGKILL when a profiled program is stopped */
  readonly killAfterSeconds: number;
}

export function settings(scope?: vscode.ConfigurationScope): Settings {
  const c = vscode.workspace.getConfiguration('capriccio', scope);
  return {
    compiler: c.get('compiler', ''),
    buildCommand: c.get('buildCommand', ''),
    program: c.get('program', ''),
    args: c.get<string[]>('args', []),
    cwd: c.get('cwd', ''),
    env: c.get<Record<string, string>>('env', {}),
    telemetryIntervalMs: c.get('telemetryIntervalMs', 100),
    scheduler: c.get('scheduler', 'fifo'),
    stackMode: c.get('stackMode', 'split'),
    firstChunkBytes: c.get('firstChunkBytes', 0),
    caps: { nodes: c.get('caps.nodes', 1000), edges: c.get('caps.edges', 3000) },
    inlineHints: c.get('inlineHints', true),
    recordDirectory: c.get('recordDirectory', '.capriccio'),
    killAfterSeconds: c.get('killAfterSeconds', DEFAULT_KILL_AFTER_MS / 1000),
  };
}

/** The runtime's environment for these settings (capriccio.h documents the variables). */
export function runtimeEnv(s: Settings): Record<string, string> {
  return {
    CAPRICCIO_STACK: s.stackMode,
    CAPRICCIO_SCHEDULER: s.scheduler,
    ...(s.firstChunkBytes > 0 ? { CAPRICCIO_CHUNK: String(s.firstChunkBytes) } : {}),
  };
}
