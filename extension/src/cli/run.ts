// `capriccio run [--record FILE] [--duration SECONDS] [--interval MS] [--scheduler fifo|resource-aware] -- PROGRAM [ARGS...]`:
// runs a program with telemetry, shows it live, optionally records it; exits with the program's
// status (128 + signal number when a signal ended it).
import { constants } from 'node:os';
import { summarize } from '../analysis/summary.ts';
import { appendSymbols, symbolsFor } from '../recording/load.ts';
import { launch, type ProgramStatus } from '../session/session.ts';
import { UsageError, numberOption, parseArgs, stringOption } from './args.ts';
import { exitCode, type Command, type ExitStatus } from './command.ts';
import { LiveView } from './live.ts';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** The runtime's scheduling policies (CAPRICCIO_SCHEDULER). */
export const SCHEDULERS: readonly string[] = ['fifo', 'resource-aware'];
/** SIGTERM → SIGKILL delay when --duration ends the program. */
const KILL_GRACE_MS = 2000;

export function statusCode(status: ProgramStatus): number {
  switch (status.kind) {
    case 'code':
      return status.code;
    case 'signal':
      return 128 + (constants.signals[status.signal] ?? 0);
    case 'disconnected':
      return 0;
    default: {
      const never: never = status;
      throw new Error(`unknown status ${JSON.stringify(never)}`);
    }
  }
}

export const runCommand: Command = {
  summary: 'run a program built with capriccio cc, showing its telemetry live (--record FILE to keep it)',
  args: '[--record FILE] [--duration SECONDS] [--interval MS] [--scheduler fifo|resource-aware] -- PROGRAM [ARGS...]',
  async run(args): Promise<ExitStatus> {
    const p = parseArgs(args, { record: { value: true }, duration: { value: true }, interval: { value: true }, scheduler: { value: true } }, true);
    if (p.positionals.length > 0) throw new UsageError(`unexpected '${p.positionals[0]}' before -- (run [options] -- PROGRAM [ARGS...])`);
    if (p.rest === undefined || p.rest.length === 0) throw new UsageError('missing -- PROGRAM [ARGS...]');
    const [program, ...programArgs] = p.rest as [string, ...string[]];
    const record = stringOption(p, 'record');
    const duration = numberOption(p, 'duration');
    const interval = numberOption(p, 'interval', true);
    const scheduler = stringOption(p, 'scheduler');
    if (scheduler !== undefined && !SCHEDULERS.includes(scheduler)) throw new UsageError(`unknown scheduler '${scheduler}' (known: ${SCHEDULERS.join(', ')})`);

    let session;
    try {
      session = await launch(program, programArgs, {
        ...(record !== undefined ? { record } : {}),
        ...(interval !== undefined ? { intervalMs: interval } : {}),
        ...(scheduler !== undefined ? { env: { CAPRICCIO_SCHEDULER: scheduler } } : {}),
        stdio: 'inherit',
        killGraceMs: KILL_GRACE_MS,
      });
    } catch (err) {
      throw new Error(`cannot run ${program}: ${(err as Error).message}`);
    }
    const forward = (signal: NodeJS.Signals): void => {
      session.child?.kill(signal);
    };
    for (const s of FORWARDED) process.on(s, forward);
    const live = new LiveView(session.model, process.stdout.isTTY ? 'tty' : 'lines', process.stdout.isTTY ? process.stdout : process.stderr);
    live.start();
    const timer = duration !== undefined ? setTimeout(() => session.stop(), duration * 1000) : undefined;
    let end;
    try {
      end = await session.done;
    } catch (err) {
      live.stop();
      if (timer) clearTimeout(timer);
      for (const s of FORWARDED) process.off(s, forward);
      await session.close();
      process.stderr.write(`capriccio: ${(err as Error).message}\n`);
      return exitCode(127);
    }
    live.stop();
    if (timer) clearTimeout(timer);
    for (const s of FORWARDED) process.off(s, forward);
    await session.close();

    const model = session.model;
    if (!end.connected) {
      process.stderr.write(`capriccio: ${program} sent no telemetry (was it linked with capriccio cc?)\n`);
    } else {
      const { table } = await symbolsFor(model);
      const s = summarize(model, table);
      process.stderr.write(
        `capriccio: ${model.snapshots} snapshots, ${s.nodes.length} blocking points, ${s.edges.length} edges, ${model.errors.length} decode errors` +
          (end.exitFrame ? '' : ' (no EXIT frame: the program ended abnormally)') +
          '\n',
      );
      for (const g of s.suggestions) process.stderr.write(`capriccio: suggestion [${g.kind}] ${g.message}\n`);
    }
    if (record !== undefined) {
      const n = await appendSymbols(record);
      process.stderr.write(`capriccio: recorded ${record}${n > 0 ? ` (${n} symbols)` : ''}\n`);
    }
    return exitCode(statusCode(end.status));
  },
};
