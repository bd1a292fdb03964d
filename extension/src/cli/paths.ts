// Locating files of the Capriccio installation, from source (tsx) or from the bundle (dist/cli.js).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the nearest directory above this module that holds bin/capcc. */
export function capriccioRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'bin', 'capcc'))) return dir;
    if (dirname(dir) === dir) {
      throw new Error(`cannot find the Capriccio installation (bin/capcc) above ${from}`);
    }
  }
}

export const capccPath = (): string => join(capriccioRoot(), 'bin', 'capcc');
export const runtimeLibPath = (): string => join(capriccioRoot(), 'runtime', 'build', 'libcapriccio.a');
