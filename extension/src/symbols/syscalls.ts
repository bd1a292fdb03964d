// The names of x86-64 system calls, for the numbers the stall watchdog records. Not written by
// hand: building the runtime writes runtime/build/syscalls.tsv from the kernel headers the
// compiler sees (<asm/unistd.h>: `#define __NR_futex 202`), one "NUMBER<TAB>NAME" line each.
// The numbers are the kernel's ABI (a number once given keeps its call), so a table from any
// recent kernel names the calls of a recording made on another machine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { capriccioRoot } from '../cli/paths.ts';

export type SyscallTable = ReadonlyMap<number, string>;

/** Parses syscalls.tsv; a line that is not "NUMBER<TAB>NAME" is an error naming it. */
export function parseSyscallTable(text: string, source = 'syscalls.tsv'): SyscallTable {
  const table = new Map<number, string>();
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const m = /^(\d+)\t([a-z0-9_]+)$/.exec(line);
    if (!m) throw new Error(`${source}:${i + 1}: expected "NUMBER<TAB>NAME", got ${JSON.stringify(line)}`);
    table.set(Number(m[1]), m[2]!);
  });
  return table;
}

/** runtime/build/syscalls.tsv of this installation. */
export const syscallTablePath = (): string => join(capriccioRoot(), 'runtime', 'build', 'syscalls.tsv');

/** Where the table is read from when not this installation's; tests point elsewhere. */
export const syscallSource: { path?: string } = {};

const loaded = new Map<string, SyscallTable>();

/**
 * This installation's table, read once; empty when the runtime is not built here (names are then
 * left out, numbers kept).
 */
export function syscallTable(): SyscallTable {
  const path = syscallSource.path ?? syscallTablePath();
  let table = loaded.get(path);
  if (!table) {
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      text = undefined;
    }
    table = text === undefined ? new Map() : parseSyscallTable(text, path);
    loaded.set(path, table);
  }
  return table;
}

/** "futex" for 202; undefined for a number the table does not hold. */
export const syscallName = (nr: number, table: SyscallTable = syscallTable()): string | undefined => table.get(nr);
