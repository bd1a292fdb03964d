// `capriccio run [--record FILE] [--duration SECONDS] [--kill-after SECONDS] [--interval MS] [--scheduler fifo|resource-aware] -- PROGRAM [ARGS...]`:
// runs a program with telemetry, shows it live, optionally records it; exits with the program's
// status (128 + signal number when a signal ended it). When --duration ends, or `capriccio run`
// gets SIGINT, SIGTERM or SIGHUP, the program gets SIGTERM (or that signal), and SIGKILL only if
// it is still running --kill-after seconds later: a server may need time to shut down cleanly.
import { constants } from 'node:os';
import { endSummary } from '../analysis/end.ts';
import { summarize } from '../analysis/summary.ts';
import { appendSymbols, symbolsFor } from '../recording/load.ts';
import { DEFAULT_KILL_AFTER_MS, MAX_KILL_AFTER_MS, launch, type ProgramStatus, type Session } from '../session/session.ts';
import { UsageError, numberOption, parseArgs, stringOption } from './args.ts';
import { exitCode, type Command, type ExitStatus } from './command.ts';
import { LiveView } from './live.ts';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** The runtime's scheduling policies (CAPRICCIO_SCHEDULER). */
export const SCHEDULERS: readonly string[] = ['fifo', 'resource-aware'];
/** The longest --duration or --kill-after a timer can wait, in seconds. */
const MAX_SECONDS = Math.floor(MAX_KILL_AFTER_MS / 1000);

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
  summary: `run a program built with capriccio cc, showing its telemetry live (--record FILE to keep it; at the end of --duration or on Ctrl-C: SIGTERM, then SIGKILL --kill-after seconds later, default ${DEFAULT_KILL_AFTER_MS / 1000}, 0: at once)`,
  args: '[--record FILE] [--duration SECONDS] [--kill-after SECONDS] [--interval MS] [--scheduler fifo|resource-aware] -- PROGRAM [ARGS...]',
  async run(args): Promise<ExitStatus> {
    const p = parseArgs(
      args,
      { record: { value: true }, duration: { value: true }, 'kill-after': { value: true }, interval: { value: true }, scheduler: { value: true } },
      true,
    );
    if (p.positionals.length > 0) throw new UsageError(`unexpected '${p.positionals[0]}' before -- (run [options] -- PROGRAM [ARGS...])`);
    if (p.rest === undefined || p.rest.length === 0) throw new UsageError('missing -- PROGRAM [ARGS...]');
    const [program, ...programArgs] = p.rest as [string, ...string[]];
    const record = stringOption(p, 'record');
    const duration = numberOption(p, 'duration', { max: MAX_SECONDS });
    const killAfter = numberOption(p, 'kill-after', { zero: true, max: MAX_SECONDS });
    const interval = numberOption(p, 'interval', { integer: true });
    const scheduler = stringOption(p, 'scheduler');
    if (scheduler !== undefined && !SCHEDULERS.includes(scheduler)) throw new UsageError(`unknown scheduler '${scheduler}' (known: ${SCHEDULERS.join(', ')})`);

    // Forwarding starts before the program does: a signal that came before the session existed
    // would otherwise end this process by default and leave the program running without it.
    let session: Session | undefined;
    let early: NodeJS.Signals | undefined;
    const forward = (signal: NodeJS.Signals): void => {
      if (session) session.stop(`capriccio run received ${signal}`, signal);
      else early ??= signal;
    };
    for (const s of FORWARDED) process.on(s, forward);
    try {
      session = await launch(program, programArgs, {
        ...(record !== undefined ? { record } : {}),
        ...(interval !== undefined ? { intervalMs: interval } : {}),
        ...(scheduler !== undefined ? { env: { CAPRICCIO_SCHEDULER: scheduler } } : {}),
        stdio: 'inherit',
        ...(killAfter !== undefined ? { killAfterMs: Math.round(killAfter * 1000) } : {}),
      });
    } catch (err) {
      for (const s of FORWARDED) process.off(s, forward);
      throw new Error(`cannot run ${program}: ${(err as Error).message}`, { cause: err });
    }
    if (early) forward(early);
    const live = new LiveView(session.model, process.stdout.isTTY ? 'tty' : 'lines', process.stdout.isTTY ? process.stdout : process.stderr);
    live.start();
    const timer = duration !== undefined ? setTimeout(() => session.stop(`--duration ${duration} ended`), duration * 1000) : undefined;
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
    const programEnd = model.end ? endSummary(model.end) : undefined;
    if (!end.connected) {
      process.stderr.write(`capriccio: ${program} sent no telemetry (was it linked with capriccio cc?)\n`);
    } else {
      const { table } = await symbolsFor(model);
      const s = summarize(model, table);
      process.stderr.write(
        `capriccio: ${model.snapshots} snapshots, ${s.nodes.length} blocking points, ${s.edges.length} edges, ${model.errors.length} decode errors` +
          (end.exitFrame ? '' : programEnd?.stop?.killed ? ' (no EXIT frame: the profiler killed the program)' : ' (no EXIT frame: the program ended abnormally)') +
          '\n',
      );
      for (const g of s.suggestions) process.stderr.write(`capriccio: suggestion [${g.kind}] ${g.message}\n`);
    }
    if (programEnd) process.stderr.write(`capriccio: ${program} ${programEnd.text}\n`);
    if (record !== undefined) {
      const n = await appendSymbols(record);
      process.stderr.write(`capriccio: recorded ${record}${n > 0 ? ` (${n} symbols)` : ''}\n`);
    }
    return exitCode(statusCode(end.status));
  },
};
