// libzstd's multithreaded compressor: the output must be byte for byte the pthread build's, and
// Debian's zstd command must decompress it to the input.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { start } from '../harness.ts';
import { unless, type CompatProgram } from '../program.ts';

const WORKERS = 4;
const LEVEL = 9;

/** 12 MiB of text-like input (compressible, so the jobs do real work), the same every run. */
function input(): Buffer {
  const words = 'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three'.split(' ');
  const parts: string[] = [];
  let x = 12345;
  for (let n = 0; n < 12 << 20; ) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const w = words[(x >>> 8) % words.length]! + ((x & 0xff) < 16 ? '.\n' : ' ');
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, 12 << 20);
}

export const zstd: CompatProgram = {
  name: 'zstd',
  binary: 'zstd-mt',
  library: 'libzstd (Debian libzstd-dev)',
  threads: `CPU-bound: ${WORKERS} workers of its own thread pool compress 512 KiB jobs; the caller waits on its bounded queue`,
  async observe(b) {
    const data = input();
    const inFile = join(b.scratch, 'input.txt');
    const outFile = join(b.scratch, 'output.zst');
    writeFileSync(inFile, data);
    await start(b.label, b.binary, [String(WORKERS), String(LEVEL)], { cwd: b.scratch, stdin: inFile, stdoutFile: outFile }).finished;
    const z = readFileSync(outFile);
    const d = spawnSync('zstd', ['-dc', outFile], { maxBuffer: 64 << 20 });
    return {
      output: `${data.length} bytes compressed to ${z.length}, sha256 ${createHash('sha256').update(z).digest('hex')}\n`,
      problems: [
        ...unless(d.status === 0, `zstd -dc failed on its output (${d.error?.message ?? d.stderr.toString().trim()})`),
        ...unless(d.status !== 0 || Buffer.compare(d.stdout, data) === 0, 'its output does not decompress to the input'),
      ],
    };
  },
};
