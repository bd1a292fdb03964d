// `capriccio diff BEFORE AFTER [--json]`: two recordings' blocking points, edges and spawn sites,
// matched by what they are, with their figures before and after, ranked by change.
import { diffSummaries, diffText } from '../analysis/diff.ts';
import { summarize } from '../analysis/summary.ts';
import { loadRecording } from '../recording/load.ts';
import { UsageError, parseArgs } from './args.ts';
import { exitCode, type Command } from './command.ts';

export const diffCommand: Command = {
  summary: 'compare two recordings (before and after a change): blocking points, edges and stacks, ranked by change (--json: one JSON object)',
  args: 'BEFORE AFTER [--json]',
  async run(args) {
    const p = parseArgs(args, { json: { value: false } });
    if (p.positionals.length !== 2) throw new UsageError(`two recordings expected, BEFORE and AFTER, got ${p.positionals.length}`);
    let cut = false;
    const [before, after] = await Promise.all(
      p.positionals.map(async (file) => {
        const loaded = await loadRecording(file);
        if (loaded.recording.truncated) {
          cut = true;
          process.stderr.write(`capriccio: ${file}: ${loaded.recording.truncated.reason}; comparing everything before it\n`);
        }
        return summarize(loaded.model, loaded.table);
      }),
    );
    const d = diffSummaries(before!, after!);
    process.stdout.write(p.options.has('json') ? JSON.stringify(d) + '\n' : diffText(d));
    return exitCode(cut ? 1 : 0);
  },
};
