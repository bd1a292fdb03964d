// `capriccio summary FILE [--json]`: the aggregated result of a recording.
import { summarize, textReport } from '../analysis/summary.ts';
import { loadRecording } from '../recording/load.ts';
import { UsageError, parseArgs } from './args.ts';
import { exitCode, type Command } from './command.ts';

export const summaryCommand: Command = {
  summary: 'summarize a recording: blocking points, edges, stacks, suggestions (--json: one JSON object)',
  args: 'FILE [--json]',
  async run(args) {
    const p = parseArgs(args, { json: { value: false } });
    if (p.positionals.length !== 1) {
      throw new UsageError(p.positionals.length === 0 ? 'missing recording FILE' : `one recording FILE expected, got ${p.positionals.length}`);
    }
    const file = p.positionals[0]!;
    const loaded = await loadRecording(file);
    const { recording } = loaded;
    if (recording.truncated) {
      process.stderr.write(`capriccio: ${file}: ${recording.truncated.reason} at byte ${recording.truncated.offset}; showing everything before it\n`);
    }
    if (recording.errors.length > 0) {
      process.stderr.write(`capriccio: warning: ${file}: ${recording.errors.length} bad frame(s) skipped (first at byte ${recording.errors[0]!.offset}: ${recording.errors[0]!.reason})\n`);
    }
    const summary = summarize(loaded.model, loaded.table);
    if (p.options.has('json')) {
      process.stdout.write(JSON.stringify({ ...summary, end: summary.end ?? null, truncated: recording.truncated ?? null, symbols: loaded.symbolSource }) + '\n');
    } else {
      process.stdout.write(textReport(summary));
    }
    // A cut recording is still summarized, but the exit status says it was cut.
    return exitCode(recording.truncated ? 1 : 0);
  },
};
