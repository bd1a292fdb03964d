// Building the program to profile with capriccio cc: the user's build command (CC set to capcc),
// or the active C file on its own. Output goes to the Capriccio output channel; a failure names
// what failed and where to look.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import { capccPath } from '../cli/paths.ts';
import type { Settings } from './settings.ts';

export interface Target {
  /** the program to run */
  readonly program: string;
  readonly args: readonly string[];
  readonly cwd: string;
}

/** What to build and run; from a launch configuration or the settings. */
export interface BuildRequest {
  readonly folder: string;
  readonly buildCommand: string;
  /** empty: the active C file built on its own */
  readonly program: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** the C file to build when there is no program */
  readonly activeFile: string | undefined;
}

export class BuildError extends Error {}

function run(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, out: vscode.OutputChannel, token?: vscode.CancellationToken): Promise<number> {
  out.appendLine(`$ ${[cmd, ...args].join(' ')}   (in ${cwd})`);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const cancel = token?.onCancellationRequested(() => child.kill('SIGTERM'));
    child.stdout.on('data', (d: Buffer) => out.append(d.toString()));
    child.stderr.on('data', (d: Buffer) => out.append(d.toString()));
    child.on('error', (err) => {
      cancel?.dispose();
      reject(new BuildError(`cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      cancel?.dispose();
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

export async function build(req: BuildRequest, s: Settings, out: vscode.OutputChannel, token?: vscode.CancellationToken): Promise<Target> {
  const capcc = capccPath();
  const env: NodeJS.ProcessEnv = { ...process.env, CC: capcc, ...(s.compiler ? { CAPRICCIO_GCC: s.compiler } : {}) };
  const cwd = req.cwd ? (isAbsolute(req.cwd) ? req.cwd : join(req.folder, req.cwd)) : req.folder;
  if (req.buildCommand) {
    const status = await run('/bin/sh', ['-c', req.buildCommand], req.folder, env, out, token);
    if (status !== 0) throw new BuildError(`the build command '${req.buildCommand}' failed (exit status ${status}); its output is in the Capriccio output channel`);
  }
  if (req.program) {
    const program = isAbsolute(req.program) ? req.program : join(req.folder, req.program);
    if (!existsSync(program)) throw new BuildError(`the program ${program} does not exist${req.buildCommand ? ` after '${req.buildCommand}'` : ''} (capriccio.program)`);
    return { program, args: req.args, cwd };
  }
  const file = req.activeFile;
  if (!file || !file.endsWith('.c')) {
    throw new BuildError('nothing to profile: open a C file, or set capriccio.program (and capriccio.buildCommand), or add a "capriccio" launch configuration');
  }
  const dir = join(req.folder, s.recordDirectory, 'build');
  await mkdir(dir, { recursive: true });
  const program = join(dir, basename(file, '.c'));
  const status = await run(capcc, ['-O2', '-g', '-pthread', file, '-o', program], req.folder, env, out, token);
  if (status !== 0) throw new BuildError(`capriccio cc could not build ${basename(file)} (exit status ${status}); its output is in the Capriccio output channel`);
  return { program, args: req.args, cwd };
}
