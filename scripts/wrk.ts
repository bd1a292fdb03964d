// wrk's figures for bench-http, read from the JSON line its Lua script (wrk-summary.lua) prints
// at the end of a run, not from wrk's text report.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The script to run wrk with (`wrk -s WRK_SCRIPT ...`): it prints the figures wrkFigures reads. */
export const WRK_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'wrk-summary.lua');

/** What wrk-summary.lua prints (times in microseconds). */
interface Printed {
  readonly duration_us: number;
  readonly requests: number;
  readonly p99_us: number;
  readonly non2xx: number;
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly timeout: number;
}

export interface WrkFigures {
  readonly rps: number;
  readonly p99_ms: number;
  readonly requests: number;
  /** answered 2xx or 3xx */
  readonly ok: number;
  readonly non2xx: number;
  /** the socket errors' sum */
  readonly errors: number;
  readonly socket_errors: { readonly connect: number; readonly read: number; readonly write: number; readonly timeout: number };
}

/** wrk's figures (the last line its script printed): req/s, p99 latency, requests, non-2xx/3xx responses and socket errors. */
export function wrkFigures(stdout: string): WrkFigures {
  const line = stdout.trimEnd().split('\n').pop() ?? '';
  let w: Printed;
  try {
    w = JSON.parse(line) as Printed;
  } catch {
    throw new Error(`wrk's script printed no figures; its output ended with:\n${stdout.slice(-2000)}`);
  }
  const socket_errors = { connect: w.connect, read: w.read, write: w.write, timeout: w.timeout };
  return {
    rps: w.duration_us > 0 ? Math.round((w.requests / (w.duration_us / 1e6)) * 100) / 100 : 0,
    p99_ms: Math.round(w.p99_us / 10) / 100,
    requests: w.requests,
    ok: w.requests - w.non2xx,
    non2xx: w.non2xx,
    errors: w.connect + w.read + w.write + w.timeout,
    socket_errors,
  };
}
