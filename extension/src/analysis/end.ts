// How a launched program ended (the END frame, docs/PROTOCOL.md), in words: what `capriccio run`,
// `capriccio summary`, the report and the VS Code panel say about it. The point is to tell a
// program the profiler had to kill apart from one that crashed or stopped cleanly.
import { constants } from 'node:os';
import type { EndFrame, ExitHow } from '../../../shared/protocol.ts';

/** The END frame as `capriccio summary --json` prints it (key `end`). */
export interface EndSummary {
  readonly how: ExitHow;
  /** exit code or signal number */
  readonly status: number;
  /** the name of the signal that ended it (how: signaled) */
  readonly signal: string | null;
  /** what the profiler did to end it; null when it ended on its own */
  readonly stop: {
    /** when the profiler sent `signal`: completes "sent when …" */
    readonly reason: string;
    /** the signal sent first (SIGTERM, or the one `capriccio run` received) */
    readonly signal: string;
    /** time allowed between `signal` and SIGKILL */
    readonly killAfterMs: number;
    /** it had not ended by then: the profiler killed it with SIGKILL */
    readonly killed: boolean;
  } | null;
  /** bytes of a frame it was sending when it ended, left out of the recording */
  readonly unfinishedBytes: number;
  /** short: "exit status 7", "killed by SIGKILL" */
  readonly statusText: string;
  /** the whole story in one sentence, e.g. "killed by the profiler with SIGKILL: it did not exit within 10 s of SIGTERM, sent when --duration 5 ended" */
  readonly text: string;
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** "SIGTERM" for 15; "signal N" for a number without a name. */
export const signalName = (n: number): string => SIGNAL_NAMES.get(n) ?? `signal ${n}`;

/** 10000 → "10 s", 1500 → "1.5 s". */
const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(3))} s`;

export function endSummary(e: EndFrame): EndSummary {
  const ended = e.how === 'signaled' ? signalName(e.status) : null;
  const statusText = ended !== null ? `killed by ${ended}` : `exit status ${e.status}`;
  const sent = signalName(e.signal);
  let text: string;
  switch (e.stop) {
    case 'none':
      text = ended !== null ? `killed by ${ended}` : `exited with status ${e.status}`;
      break;
    case 'asked':
      text =
        ended === sent
          ? `killed by ${sent}, sent when ${e.reason}`
          : `${ended !== null ? `killed by ${ended}` : `exited with status ${e.status}`} after ${sent}, sent when ${e.reason}`;
      break;
    case 'killed':
      text =
        e.killAfterMs === 0
          ? `killed by the profiler with SIGKILL right after ${sent}, sent when ${e.reason} (no time allowed to exit)`
          : `killed by the profiler with SIGKILL: it did not exit within ${seconds(e.killAfterMs)} of ${sent}, sent when ${e.reason}`;
      break;
    default: {
      const never: never = e.stop;
      throw new Error(`unknown stop ${JSON.stringify(never)}`);
    }
  }
  if (e.unfinishedBytes > 0) text += `; it ended while sending a frame (${e.unfinishedBytes} bytes, left out of the recording)`;
  return {
    how: e.how,
    status: e.status,
    signal: ended,
    stop: e.stop === 'none' ? null : { reason: e.reason, signal: sent, killAfterMs: e.killAfterMs, killed: e.stop === 'killed' },
    unfinishedBytes: e.unfinishedBytes,
    statusText,
    text,
  };
}
