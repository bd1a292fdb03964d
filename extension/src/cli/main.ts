// Entry point of the `capriccio` command-line tool (bundled to dist/cli.js).
import pkg from '../../../package.json';
import { loadCParser } from '../source/cparser.ts';
import { UsageError } from './args.ts';
import { USAGE_ERROR, exitCode, type ExitStatus } from './command.ts';
import { commands, isCommandName } from './commands.ts';

function usage(): string {
  const rows: [string, string][] = Object.entries(commands).map(([name, c]) => [
    `${name} ${c.args}`.trim(),
    c.summary,
  ]);
  rows.push(['help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    'usage: capriccio <command> [args...]',
    '',
    'commands:',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    '',
    'options:',
    '  --help, -h   show this help',
    '  --version    print the version',
    '',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<ExitStatus> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`capriccio: missing command\n\n${usage()}`);
    return exitCode(USAGE_ERROR);
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return exitCode(0);
  }
  if (name === '--version') {
    process.stdout.write(`capriccio ${pkg.version}\n`);
    return exitCode(0);
  }
  if (!isCommandName(name)) {
    process.stderr.write(`capriccio: unknown command '${name}'\n\n${usage()}`);
    return exitCode(USAGE_ERROR);
  }
  const command = commands[name];
  // Summaries group samples by the loops of the C sources. `cc` never summarizes and runs once per
  // compiled file under make, so it does without the parser (about 10 ms to load).
  if (name !== 'cc') await loadCParser();
  try {
    return await command.run(rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`capriccio ${name}: ${err.message}\nusage: capriccio ${name} ${command.args}\n`);
    return exitCode(USAGE_ERROR);
  }
}

main(process.argv.slice(2)).then(
  (status) => {
    if (status.kind === 'code') {
      process.exitCode = status.code;
    } else {
      // End the way the child ended, so callers (make, shells) see the signal.
      process.kill(process.pid, status.signal);
    }
  },
  (err: unknown) => {
    process.stderr.write(`capriccio: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
