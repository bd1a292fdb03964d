// `capriccio cc [gcc args...]`: compile and link with Capriccio through bin/capcc.
import { spawn } from 'node:child_process';
import type { Command, ExitStatus } from './command.ts';
import { capccPath } from './paths.ts';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Runs `file args` with inherited stdio; forwards termination signals to it while it runs. */
export function runInherited(file: string, args: readonly string[]): Promise<ExitStatus> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const s of FORWARDED) process.on(s, forward);
    const done = (): void => {
      for (const s of FORWARDED) process.off(s, forward);
    };
    child.on('error', (err) => {
      done();
      reject(new Error(`cannot run ${file}: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(signal !== null ? { kind: 'signal', signal } : { kind: 'code', code: code ?? 1 });
    });
  });
}

export const ccCommand: Command = {
  summary: 'compile/link C like gcc, with split stacks, gold and libcapriccio (runs bin/capcc)',
  args: '[gcc args...]',
  run: (args) => runInherited(capccPath(), args),
};
