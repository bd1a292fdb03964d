// `capriccio analyze [--json] [--entry NAME]... PATH...`: static stack analysis of the .ci call
// graphs that `capriccio cc` writes — deepest path per thread entry, recursion cycles, external
// functions to annotate, first-chunk sizes and checkpoints.
import { CiParseError } from '../analysis/stack/ci.ts';
import { UnknownEntryError, analyzeStacks } from '../analysis/stack/graph.ts';
import { NoCallGraphError, findCallGraphs, loadProgram } from '../analysis/stack/load.ts';
import { analysisJson, analysisText } from '../analysis/stack/report.ts';
import { UsageError, parseArgs, stringsOption } from './args.ts';
import { exitCode, type Command } from './command.ts';

export const analyzeCommand: Command = {
  summary: 'static stack analysis of .ci call graphs: deepest paths, recursion, annotation candidates, first chunks, checkpoints',
  args: '[--json] [--entry NAME]... PATH...',
  async run(args) {
    const p = parseArgs(args, { json: { value: false }, entry: { value: true, multiple: true } });
    const entries = stringsOption(p, 'entry');
    if (entries.includes('')) throw new UsageError('option --entry needs a function name');
    if (p.positionals.length === 0) throw new UsageError('missing PATH (.ci files, or directories to search for them)');
    const fail = (message: string) => {
      process.stderr.write(`capriccio analyze: ${message}\n`);
      return exitCode(1);
    };
    try {
      const files = await findCallGraphs(p.positionals);
      const program = await loadProgram(files);
      const analysis = analyzeStacks(program, { entries });
      if (p.options.has('json')) process.stdout.write(JSON.stringify(analysisJson(analysis, files)) + '\n');
      else process.stdout.write(analysisText(analysis, files));
      return exitCode(0);
    } catch (err) {
      if (err instanceof NoCallGraphError || err instanceof CiParseError || err instanceof UnknownEntryError) return fail(err.message);
      const e = err as NodeJS.ErrnoException;
      if (typeof e.code === 'string' && 'path' in e) return fail(`${String(e.path)}: ${e.code === 'EISDIR' ? 'is a directory' : e.message}`);
      throw err;
    }
  },
};
