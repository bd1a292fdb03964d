// The CLI's argument parsing (extension/src/cli/args.ts, on node:util's parseArgs): what it
// accepts, and a UsageError naming the option for everything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, parseArgs, stringOption, stringsOption, type OptionSpec } from '../src/cli/args.ts';

const SPEC: Record<string, OptionSpec> = { output: { value: true, short: 'o' }, json: { value: false }, entry: { value: true, multiple: true } };
const parse = (args: string[], stop = false) => parseArgs(args, SPEC, stop);

test('options with and without values, short spellings, positionals and --', () => {
  let p = parse(['a', '--output', 'x', '--json', 'b']);
  assert.equal(stringOption(p, 'output'), 'x');
  assert.equal(p.options.get('json'), true);
  assert.deepEqual(p.positionals, ['a', 'b']);
  assert.equal(p.rest, undefined);

  assert.equal(stringOption(parse(['--output=y']), 'output'), 'y');
  assert.equal(stringOption(parse(['-o', 'z']), 'output'), 'z');
  assert.equal(stringOption(parse(['-o', '-']), 'output'), '-');
  assert.equal(stringOption(parse(['--output', '-1']), 'output'), '-1'); // a value may start with a dash
  assert.deepEqual(parse(['-']).positionals, ['-']);

  // after --: positionals, or untouched in rest
  assert.deepEqual(parse(['a', '--', '--json', '-o']).positionals, ['a', '--json', '-o']);
  p = parse(['--json', '--', 'prog', '--output', 'x', '--'], true);
  assert.deepEqual(p.rest, ['prog', '--output', 'x', '--']);
  assert.deepEqual(p.positionals, []);

  assert.deepEqual(stringsOption(parse(['--entry', 'a', '--entry=b']), 'entry'), ['a', 'b']);
  assert.deepEqual(stringsOption(parse([]), 'entry'), []);
});

test('unknown options, missing values, values given to flags and repeats are usage errors naming the option', () => {
  const bad: [string[], string][] = [
    [['--frob'], 'unknown option --frob'],
    [['--frob=1', 'a'], 'unknown option --frob'],
    [['-x'], 'unknown option -x'],
    [['-xyz'], 'unknown option -xyz'],
    [['a', '--json', '--Output', 'x'], 'unknown option --Output'],
    [['--output'], 'option --output needs a value'],
    [['-o'], 'option -o needs a value'],
    [['--entry'], 'option --entry needs a value'],
    [['--json=1'], 'option --json takes no value'],
    [['--json', '--json'], 'option --json given twice'],
    [['-o', 'a', '--output', 'b'], 'option --output given twice'],
  ];
  for (const [args, message] of bad) {
    assert.throws(() => parse(args), (e: unknown) => e instanceof UsageError && e.message === message, `${args.join(' ')}: expected '${message}'`);
  }
  // the first mistake in the order given is the one reported
  assert.throws(() => parse(['--frob', '--output']), { message: 'unknown option --frob' });
});
