// `capriccio report FILE -o OUT.html`: a recording as one self-contained HTML file (the webview's
// views, offline) — how a profile is shared.
import { writeFile } from 'node:fs/promises';
import { loadRecording } from '../recording/load.ts';
import { buildViewData } from '../report/viewdata.ts';
import { loadBundle, reportHtml } from '../report/html.ts';
import { UsageError, parseArgs, stringOption } from './args.ts';
import { exitCode, type Command } from './command.ts';

export const reportCommand: Command = {
  summary: 'write a recording as one self-contained HTML report (graph, stacks, resources, suggestions)',
  args: 'FILE -o OUT.html',
  async run(args) {
    const p = parseArgs(args, { output: { value: true, short: 'o' } });
    const out = stringOption(p, 'output');
    if (out === undefined) throw new UsageError('missing -o OUT.html');
    if (p.positionals.length !== 1) {
      throw new UsageError(p.positionals.length === 0 ? 'missing recording FILE' : `one recording FILE expected, got ${p.positionals.length}`);
    }
    const file = p.positionals[0]!;
    const bundle = loadBundle();
    const loaded = await loadRecording(file);
    const { recording } = loaded;
    const truncated = recording.truncated ? `${recording.truncated.reason} at byte ${recording.truncated.offset}` : undefined;
    if (truncated) process.stderr.write(`capriccio: ${file}: ${truncated}; reporting everything before it\n`);
    const view = buildViewData(loaded.model, loaded.table, { source: file, ...(truncated ? { truncated } : {}) });
    try {
      await writeFile(out, reportHtml(view, bundle));
    } catch (err) {
      throw new Error(`${out}: ${(err as Error).message}`, { cause: err });
    }
    process.stderr.write(`capriccio: wrote ${out} (${view.nodes.length} blocking points, ${view.edges.length} edges, ${view.suggestions.length} suggestions)\n`);
    return exitCode(truncated ? 1 : 0); // written, but from a cut recording
  },
};
