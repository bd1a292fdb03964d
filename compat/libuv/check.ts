// libuv: its epoll loop waits for its own thread pool (uv_queue_work, uv_fs_*) and for a thread
// of ours (uv_async_send). The digest of the pool's results must be the pthread build's.
import { join } from 'node:path';
import { start } from '../harness.ts';
import { unless, type CompatProgram } from '../program.ts';

const ITEMS = 64;

export const libuv: CompatProgram = {
  name: 'libuv',
  binary: 'uv-pool',
  library: 'libuv (Debian libuv1-dev)',
  threads: `an event loop on epoll; ${ITEMS} work items and file I/O on its 4-thread pool; a thread of ours wakes the loop with uv_async_send`,
  async observe(b) {
    const out = await start(b.label, b.binary, [String(ITEMS), join(b.scratch, 'uv-fs.dat')], { cwd: b.scratch }).finished;
    const lines = out.split('\n');
    return {
      output: out,
      problems: [
        ...unless(lines.includes('fs: wrote 65536, read back 65536, same'), 'the file written through the pool did not read back the same'),
        ...unless(lines.some((l) => l.startsWith(`work: ${ITEMS} queued, ${ITEMS} done, digest `)), `not all ${ITEMS} work items came back`),
        ...unless(lines.includes('async: woken at least once'), 'uv_async_send never woke the loop'),
        ...unless(lines.includes('loop: uv_run returned 0, closed'), 'the loop did not end empty'),
      ],
    };
  },
};
