// `capriccio export --format perfetto FILE -o OUT.json`: a recording as a trace Perfetto UI opens;
// `--format pprof FILE -o OUT.pb.gz`: its blocking, run and stack profile for `go tool pprof`.
import { writeFile } from 'node:fs/promises';
import { summarize } from '../analysis/summary.ts';
import { perfettoTrace } from '../export/perfetto.ts';
import { pprofProfile } from '../export/pprof.ts';
import { loadRecording } from '../recording/load.ts';
import { UsageError, parseArgs, stringOption } from './args.ts';
import { exitCode, type Command } from './command.ts';

const FORMATS = ['perfetto', 'pprof'] as const;
type Format = (typeof FORMATS)[number];
const isFormat = (s: string): s is Format => (FORMATS as readonly string[]).includes(s);

export const exportCommand: Command = {
  summary: 'export a recording as Chrome trace-event JSON for Perfetto UI, or as a gzipped pprof profile (waits, runs, stack high-water)',
  args: '--format perfetto|pprof FILE -o OUT',
  async run(args) {
    const p = parseArgs(args, { format: { value: true }, output: { value: true, short: 'o' } });
    const format = stringOption(p, 'format');
    if (format === undefined) throw new UsageError(`missing --format (${FORMATS.join(', ')})`);
    if (!isFormat(format)) throw new UsageError(`unknown format '${format}' (known: ${FORMATS.join(', ')})`);
    const out = stringOption(p, 'output');
    if (out === undefined) throw new UsageError(`missing -o ${format === 'pprof' ? 'OUT.pb.gz' : 'OUT.json'}`);
    if (p.positionals.length !== 1) {
      throw new UsageError(p.positionals.length === 0 ? 'missing recording FILE' : `one recording FILE expected, got ${p.positionals.length}`);
    }
    const file = p.positionals[0]!;
    const loaded = await loadRecording(file);
    if (loaded.recording.truncated) {
      process.stderr.write(`capriccio: ${file}: ${loaded.recording.truncated.reason}; exporting everything before it\n`);
    }
    const write = async (data: string | Uint8Array): Promise<void> => {
      try {
        await writeFile(out, data);
      } catch (err) {
        throw new Error(`${out}: ${(err as Error).message}`, { cause: err });
      }
    };
    switch (format) {
      case 'perfetto': {
        const trace = perfettoTrace(loaded.recording.frames, loaded.model, loaded.table);
        await write(JSON.stringify(trace));
        process.stderr.write(`capriccio: wrote ${out} (${trace.traceEvents.length} events); open it in https://ui.perfetto.dev\n`);
        return exitCode(loaded.recording.truncated ? 1 : 0); // written, but from a cut recording
      }
      case 'pprof': {
        const s = summarize(loaded.model, loaded.table);
        await write(pprofProfile(s));
        process.stderr.write(`capriccio: wrote ${out} (${s.nodes.length} blocking points, ${s.edges.length} edges, ${s.stacks.sites.length} spawn sites); go tool pprof -top ${out}\n`);
        return exitCode(loaded.recording.truncated ? 1 : 0);
      }
      default: {
        const never: never = format;
        throw new UsageError(`unknown format ${String(never)}`);
      }
    }
  },
};
