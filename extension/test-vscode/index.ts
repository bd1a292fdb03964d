// The extension-host test runner (@vscode/test-electron's contract: `run()` resolves when every
// test passed). Runs the suites bundled next to it (dist/test-vscode/*.test.js) with mocha.
// Used by extension-host.spec.ts, inside code-server here or a desktop VS Code where installed.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 120_000 });
  const filter = process.env['CAPRICCIO_VSCODE_GREP'];
  if (filter) mocha.grep(filter);
  for (const f of readdirSync(__dirname).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(join(__dirname, f));
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension-host test(s) failed`)) : resolve()));
  });
}
