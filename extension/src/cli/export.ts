// `capriccio export --format perfetto FILE -o OUT.json`: a recording as a trace Perfetto UI opens.
import { writeFile } from 'node:fs/promises';
import { perfettoTrace } from '../export/perfetto.ts';
import { loadRecording } from '../recording/load.ts';
import { UsageError, parseArgs, stringOption } from './args.ts';
import { exitCode, type Command } from './command.ts';

const FORMATS = ['perfetto'] as const;
type Format = (typeof FORMATS)[number];
const isFormat = (s: string): s is Format => (FORMATS as readonly string[]).includes(s);

export const exportCommand: Command = {
  summary: 'export a recording as Chrome trace-event JSON for Perfetto UI',
  args: '--format perfetto FILE -o OUT.json',
  async run(args) {
    const p = parseArgs(args, { format: { value: true }, output: { value: true, short: 'o' } });
    const format = stringOption(p, 'format');
    if (format === undefined) throw new UsageError('missing --format (perfetto)');
    if (!isFormat(format)) throw new UsageError(`unknown format '${format}' (known: ${FORMATS.join(', ')})`);
    const out = stringOption(p, 'output');
    if (out === undefined) throw new UsageError('missing -o OUT.json');
    if (p.positionals.length !== 1) {
      throw new UsageError(p.positionals.length === 0 ? 'missing recording FILE' : `one recording FILE expected, got ${p.positionals.length}`);
    }
    const file = p.positionals[0]!;
    const loaded = await loadRecording(file);
    if (loaded.recording.truncated) {
      process.stderr.write(`capriccio: ${file}: ${loaded.recording.truncated.reason}; exporting everything before it\n`);
    }
    switch (format) {
      case 'perfetto': {
        const trace = perfettoTrace(loaded.recording.frames, loaded.model, loaded.table);
        try {
          await writeFile(out, JSON.stringify(trace));
        } catch (err) {
          throw new Error(`${out}: ${(err as Error).message}`, { cause: err });
        }
        process.stderr.write(`capriccio: wrote ${out} (${trace.traceEvents.length} events); open it in https://ui.perfetto.dev\n`);
        return exitCode(loaded.recording.truncated ? 1 : 0); // written, but from a cut recording
      }
      default: {
        const never: never = format;
        throw new UsageError(`unknown format ${String(never)}`);
      }
    }
  },
};
