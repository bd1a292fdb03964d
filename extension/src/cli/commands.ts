// The table of `capriccio` subcommands: one module per command, one entry here.
import type { Command } from './command.ts';
import { analyzeCommand } from './analyze.ts';
import { ccCommand } from './cc.ts';
import { diffCommand } from './diff.ts';
import { exportCommand } from './export.ts';
import { reportCommand } from './report.ts';
import { runCommand } from './run.ts';
import { summaryCommand } from './summary.ts';

export const commands = {
  cc: ccCommand,
  run: runCommand,
  summary: summaryCommand,
  diff: diffCommand,
  export: exportCommand,
  report: reportCommand,
  analyze: analyzeCommand,
} as const satisfies Record<string, Command>;

export type CommandName = keyof typeof commands;

export const isCommandName = (name: string): name is CommandName => Object.hasOwn(commands, name);
