// `capriccio report FILE -o OUT.html [--compare BEFORE]`: a recording as one self-contained HTML
// file (the webview's views, offline) — how a profile is shared; with --compare, its Compare view
// shows what changed since the earlier recording BEFORE.
import { writeFile } from 'node:fs/promises';
import { loadRecording } from '../recording/load.ts';
import { summarize } from '../analysis/summary.ts';
import { loadEarlier, viewCompare } from '../report/compare.ts';
import { buildViewData } from '../report/viewdata.ts';
import { loadBundle, reportHtml } from '../report/html.ts';
import { UsageError, parseArgs, stringOption } from './args.ts';
import { exitCode, type Command } from './command.ts';

export const reportCommand: Command = {
  summary: 'write a recording as one self-contained HTML report (graph, stacks, resources, suggestions; --compare: what changed since an earlier recording)',
  args: 'FILE -o OUT.html [--compare BEFORE]',
  async run(args) {
    const p = parseArgs(args, { output: { value: true, short: 'o' }, compare: { value: true } });
    const out = stringOption(p, 'output');
    if (out === undefined) throw new UsageError('missing -o OUT.html');
    if (p.positionals.length !== 1) {
      throw new UsageError(p.positionals.length === 0 ? 'missing recording FILE' : `one recording FILE expected, got ${p.positionals.length}`);
    }
    const file = p.positionals[0]!;
    const bundle = loadBundle();
    const compare = stringOption(p, 'compare');
    const earlier =
      compare === undefined
        ? undefined
        : await loadEarlier(compare).catch((err: unknown) => {
            throw new Error(`--compare ${(err as Error).message}`, { cause: err });
          });
    if (earlier?.truncated) process.stderr.write(`capriccio: ${earlier.source}: ${earlier.truncated}; comparing everything before it\n`);
    const loaded = await loadRecording(file);
    const { recording } = loaded;
    const truncated = recording.truncated ? `${recording.truncated.reason} at byte ${recording.truncated.offset}` : undefined;
    if (truncated) process.stderr.write(`capriccio: ${file}: ${truncated}; reporting everything before it\n`);
    const summary = summarize(loaded.model, loaded.table);
    const shown = buildViewData(loaded.model, loaded.table, { source: file, ...(truncated ? { truncated } : {}) }, summary);
    const view = earlier ? { ...shown, compare: viewCompare(earlier.source, earlier.summary, summary) } : shown;
    try {
      await writeFile(out, reportHtml(view, bundle));
    } catch (err) {
      throw new Error(`${out}: ${(err as Error).message}`, { cause: err });
    }
    process.stderr.write(`capriccio: wrote ${out} (${view.nodes.length} blocking points, ${view.edges.length} edges, ${view.suggestions.length} suggestions)\n`);
    return exitCode(truncated || earlier?.truncated ? 1 : 0); // written, but from a cut recording
  },
};
