#!/usr/bin/env node
// Launcher for the `capriccio` CLI: the bundle is built by `npm run build`.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const cli = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('capriccio: not built yet — run npm run build\n');
  process.exit(2);
}
require(cli);
