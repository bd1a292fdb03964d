// Labels of blocking points (extension/src/analysis/labels.ts): unique, the named frame plus what
// tells two points apart when they share it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uniqueLabels } from '../src/analysis/labels.ts';
import { nameChain, SymbolTable } from '../src/symbols/symbols.ts';
import type { SymbolEntry } from '../../shared/protocol.ts';

// Return addresses are looked up at − 1: entries are keyed by addr − 1, chains list addr.
const entries: SymbolEntry[] = [];
const at = (addr: number, fn: string, file: string, line: number, own: boolean): string => {
  entries.push({ addr: `0x${(addr - 1).toString(16)}`, own, line, function: fn, file });
  return `0x${addr.toString(16)}`;
};
const WAIT = at(0x1000, 'cap_cond_wait', '/r/runtime/src/sync.c', 90, false);
const POP = at(0x2000, 'queue_pop', '/p/pipe.c', 12, true);
const S1 = at(0x3000, 'stage1', '/p/pipe.c', 40, true);
const S2 = at(0x3100, 'stage2', '/p/pipe.c', 50, true);
const S3 = at(0x3200, 'stage3', '/p/pipe.c', 60, true);
const S3b = at(0x3210, 'stage3', '/p/pipe.c', 61, true);
const RUN = at(0x4000, 'run_stage', '/p/pipe.c', 80, true);
const BASE = at(0x9000, 'cap__thread_main', '/r/runtime/src/sched.c', 358, false);
const POLL = at(0x1100, 'cap__fd_wait_many', '/r/runtime/src/io.c', 257, false);
const LIBWAIT = at(0x7f0000001000, 'libsrv.so.1+0xfff (calls poll@plt)', '??', 0, false);
const ACCEPT = at(0x7f0000002000, 'libsrv.so.1+0x1fff', '??', 0, false);
const KEEP = at(0x7f0000003000, 'libsrv.so.1+0x2fff', '??', 0, false);
const table = SymbolTable.fromEntries(entries);

const label = (points: { id: number; kind: string; frames: string[] }[]): string[] => {
  const l = uniqueLabels(points.map((p) => ({ id: p.id, kind: p.kind, name: nameChain(table, p.frames) })));
  return points.map((p) => l.get(p.id)!.label);
};

test('a helper shared by three stages: each wait is labelled with the stage that calls it', () => {
  assert.deepEqual(
    label([
      { id: 1, kind: 'condvar', frames: [WAIT, POP, S1, RUN, BASE] },
      { id: 2, kind: 'condvar', frames: [WAIT, POP, S2, RUN, BASE] },
      { id: 3, kind: 'condvar', frames: [WAIT, POP, S3, RUN, BASE] },
    ]),
    ['queue_pop (p/pipe.c:12) ← stage1 (p/pipe.c:40)', 'queue_pop (p/pipe.c:12) ← stage2 (p/pipe.c:50)', 'queue_pop (p/pipe.c:12) ← stage3 (p/pipe.c:60)'],
  );
});

test('a point alone keeps its plain label; a caller further out is used when the nearer ones are shared', () => {
  assert.deepEqual(
    label([
      { id: 1, kind: 'condvar', frames: [WAIT, POP, S1, RUN, BASE] },
      { id: 2, kind: 'condvar', frames: [WAIT, POP, RUN, S2, BASE] },
      { id: 3, kind: 'condvar', frames: [WAIT, POP, RUN, S3, BASE] },
      { id: 4, kind: 'condvar', frames: [WAIT, S3b, BASE] },
    ]),
    [
      'queue_pop (p/pipe.c:12) ← stage1 (p/pipe.c:40)',
      'queue_pop (p/pipe.c:12) ← stage2 (p/pipe.c:50)',
      'queue_pop (p/pipe.c:12) ← stage3 (p/pipe.c:60)',
      'stage3 (p/pipe.c:61)',
    ],
  );
});

test("a library's threads that share a poll helper: named for the library frame, told apart by its callers; runtime frames never tell", () => {
  assert.deepEqual(
    label([
      { id: 1, kind: 'poll', frames: [POLL, LIBWAIT, ACCEPT, BASE] },
      { id: 2, kind: 'poll', frames: [POLL, LIBWAIT, KEEP, BASE] },
    ]),
    ['libsrv.so.1+0xfff (calls poll@plt) ← libsrv.so.1+0x1fff', 'libsrv.so.1+0xfff (calls poll@plt) ← libsrv.so.1+0x2fff'],
  );
  // The same chains but for the runtime frames inside: only what they wait on, then the id, is left.
  assert.deepEqual(
    label([
      { id: 1, kind: 'poll', frames: [POLL, S1, BASE] },
      { id: 2, kind: 'io', frames: [WAIT, S1, BASE] },
    ]),
    ['stage1 (p/pipe.c:40) [poll]', 'stage1 (p/pipe.c:40) [io]'],
  );
  assert.deepEqual(
    label([
      { id: 7, kind: 'poll', frames: [POLL, S1, BASE] },
      { id: 8, kind: 'poll', frames: [WAIT, S1, BASE] },
    ]),
    ['stage1 (p/pipe.c:40) #7', 'stage1 (p/pipe.c:40) #8'],
  );
});

test('an own frame called from the library at two places: told apart by the library frame inwards', () => {
  assert.deepEqual(
    label([
      { id: 1, kind: 'poll', frames: [POLL, ACCEPT, S1, BASE] },
      { id: 2, kind: 'poll', frames: [POLL, KEEP, S1, BASE] },
    ]),
    ['stage1 (p/pipe.c:40) → libsrv.so.1+0x1fff', 'stage1 (p/pipe.c:40) → libsrv.so.1+0x2fff'],
  );
});
