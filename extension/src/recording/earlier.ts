// The recordings made before a given one: what "Compare with Previous Recording" offers. The
// editor records every profile into one folder (capriccio.recordDirectory, `NAME-TIME.cap`), so
// the earlier ones are the files beside it, with its extension, last written before it was. By
// modification time, not by name: a recording is finished (symbols appended) when its profile
// ends, and a name's timestamp says only when it began.
import { readdir, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';

export interface Earlier {
  readonly path: string;
  readonly mtimeMs: number;
}

/** The recordings beside `current` last written before it, newest first. */
export async function earlierRecordings(current: string): Promise<Earlier[]> {
  const file = resolve(current);
  const dir = dirname(file);
  const { mtimeMs: until } = await stat(file);
  const names = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile() && extname(d.name) === extname(file) && join(dir, d.name) !== file);
  // (one removed meanwhile is no longer there to compare with)
  const found = await Promise.all(names.map((d) => stat(join(dir, d.name)).then((s) => ({ path: join(dir, d.name), mtimeMs: s.mtimeMs }), () => undefined)));
  return found.filter((r): r is Earlier => r !== undefined && r.mtimeMs < until).sort((a, b) => b.mtimeMs - a.mtimeMs || (a.path < b.path ? -1 : 1));
}
