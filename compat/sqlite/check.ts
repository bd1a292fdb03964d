// SQLite (the amalgamation, built with capcc like the main): tellers on their own connections to
// one database file. The end state must be the pthread build's, and the one the transfers imply.
import { join } from 'node:path';
import { start } from '../harness.ts';
import { unless, type CompatProgram } from '../program.ts';

const ACCOUNTS = 16;
const OPENING = 1000;

/** The account balances and per-teller lines main.c's transfers must leave (its xorshift, replayed). */
function expected(tellers: number, transfers: number): string[] {
  const balance = new Array<number>(ACCOUNTS).fill(OPENING);
  const lines: string[] = [];
  for (let me = 0; me < tellers; me++) {
    let x = (2463534242 + me * 7919) >>> 0;
    let sum = 0;
    for (let seq = 0; seq < transfers; seq++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      const amount = ((x >>> 16) % 100) + 1;
      balance[x % ACCOUNTS]! -= amount;
      balance[(x >>> 8) % ACCOUNTS]! += amount;
      sum += amount;
    }
    lines.push(`teller ${me} ${transfers} ${sum}`);
  }
  return [...balance.map((v, i) => `account ${i} ${v}`), `total ${ACCOUNTS * OPENING}`, ...lines];
}

function sqliteBank(journal: 'wal' | 'delete', tellers: number, transfers: number): CompatProgram {
  return {
    name: `sqlite-${journal}`,
    binary: 'sqlite-bank',
    library: 'SQLite amalgamation (npm better-sqlite3, deps/sqlite3/sqlite3.c), built with capcc',
    threads: `${tellers} threads, a connection each, ${transfers} write transactions each on one ${journal === 'wal' ? 'WAL' : 'rollback-journal'} database: SQLite's mutexes, fcntl locks, busy-handler sleeps`,
    async observe(b) {
      const args = [join(b.scratch, 'bank.db'), journal, String(tellers), String(transfers)];
      const out = await start(b.label, b.binary, args, { cwd: b.scratch }).finished;
      const lines = out.split('\n');
      const missing = expected(tellers, transfers).filter((l) => !lines.includes(l));
      return {
        output: out,
        problems: [
          ...unless(missing.length === 0, `balances or transfers not what the transfers imply: no line ${JSON.stringify(missing[0])}`),
          ...unless(lines.includes(`journal ${journal}`), `journal mode is not ${journal}`),
          ...unless(lines.includes('integrity ok'), 'PRAGMA integrity_check did not say ok'),
          ...unless(lines.includes('unbalanced reads 0'), 'a read transaction saw money appear or vanish'),
          ...unless(lines.includes('interleaved yes'), "the tellers' commits did not interleave"),
          ...unless(lines.includes('tellers found the database locked: yes'), 'no teller ever found the database locked: nothing was contended'),
        ],
      };
    },
  };
}

export const sqliteWal = sqliteBank('wal', 8, 60);
export const sqliteDelete = sqliteBank('delete', 4, 40);
