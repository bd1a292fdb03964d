// Running one build of a compat program: in a process group of its own (killed whole, by its
// id), watched so that a hang is reported as a hang, with the system call it is stuck in, rather
// than as a time-out of whatever waited for it. Nothing here measures speed.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import type { Writable } from 'node:stream';

/** A run that did not do what the program should: the message says what happened. */
export class ProgramFailure extends Error {}

/** No sign of life this long while something waits for the program: it hangs. */
const STALL_MS = 20_000;
/** Alive but not finished after this long (busy somewhere, or woken by a timer): a hang too. */
const LIMIT_MS = 180_000;
const WATCH_MS = 1_000;

export interface Options {
  cwd: string;
  /** A file to read standard input from, or 'pipe' to write it (closed by finish() at the latest). */
  stdin?: string;
  /** A file to write standard output to; by default it is kept in memory. */
  stdoutFile?: string;
}

export interface Running {
  readonly label: string;
  /** What the driver is waiting for it to do, named in a hang report ("answering 300 requests"). */
  phase: string;
  readonly pid: number;
  readonly stdin: Writable | null;
  /** Standard output so far (empty when it goes to a file). */
  stdout(): string;
  stderr(): string;
  /** Its first line of standard output (kept in memory), once written; rejects if it ends first. */
  readonly firstLine: Promise<string>;
  /** Resolves with standard output once the program exited with status 0; otherwise rejects. */
  readonly finished: Promise<string>;
}

/** Starts `binary` (its build named in `label`, e.g. "zstd (capcc build)"). */
export function start(label: string, binary: string, args: readonly string[], o: Options): Running {
  const fds: number[] = [];
  const open = (path: string, flags: string): number => {
    const fd = openSync(path, flags);
    fds.push(fd);
    return fd;
  };
  const stdinSpec = o.stdin === 'pipe' ? 'pipe' : o.stdin ? open(o.stdin, 'r') : 'ignore';
  const stdoutSpec = o.stdoutFile ? open(o.stdoutFile, 'w') : 'pipe';
  const child = spawn(binary, args, { cwd: o.cwd, detached: true, stdio: [stdinSpec, stdoutSpec, 'pipe'] });
  fds.forEach((fd) => closeSync(fd));
  let out = '';
  let err = '';
  let gotLine: (line: string) => void = () => {};
  const firstLine = new Promise<string>((res) => (gotLine = res));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    if (out.includes('\n')) gotLine(out.slice(0, out.indexOf('\n')));
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin?.on('error', () => {}); // a program that dies early closes its end: its exit says why

  const pid = child.pid;
  if (pid === undefined) throw new ProgramFailure(`${label}: could not start ${binary}`);
  const killGroup = (): void => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  };

  let hang: string | undefined;
  const began = Date.now();
  let lastSign = '';
  let lastChange = began;
  const watch = setInterval(() => {
    const sign = signOfLife(pid);
    const now = Date.now();
    if (sign !== lastSign) [lastSign, lastChange] = [sign, now];
    const stalled = now - lastChange >= STALL_MS && sign !== '';
    if (!stalled && now - began < LIMIT_MS) return;
    hang = stalled
      ? `hangs ${running.phase}: no progress for ${STALL_MS / 1000} s (${whereStuck(pid)})`
      : `hangs ${running.phase}: not finished after ${LIMIT_MS / 1000} s (${whereStuck(pid)})`;
    killGroup();
  }, WATCH_MS);

  const finished = new Promise<string>((resolve, reject) => {
    child.on('close', (code, signal) => {
      clearInterval(watch);
      killGroup(); // whatever it left behind
      const tail = lastLines(err, 8);
      if (hang !== undefined) reject(new ProgramFailure(`${label} ${hang}${tail ? `; its stderr:\n${tail}` : ''}`));
      else if (signal !== null || code !== 0)
        reject(
          new ProgramFailure(
            `${label} ${signal !== null ? `was killed by ${signal}` : `exited with status ${code}`}${tail ? `; its stderr:\n${tail}` : ''}`,
          ),
        );
      else resolve(out);
    });
  });
  finished.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection meanwhile
  const lineOrEnd = Promise.race([
    firstLine,
    finished.then(() => {
      throw new ProgramFailure(`${label} ended without writing a line`);
    }),
  ]);
  lineOrEnd.catch(() => {});
  const running: Running = {
    label,
    phase: 'while running',
    pid,
    stdin: child.stdin,
    stdout: () => out,
    stderr: () => err,
    firstLine: lineOrEnd,
    finished,
  };
  return running;
}

/** Closes its standard input (if a pipe) and waits for it to exit with status 0. */
export async function finish(r: Running): Promise<string> {
  if (r.stdin) r.phase = 'after its standard input closed (it should stop)';
  r.stdin?.end();
  return r.finished;
}

/**
 * Runs `work` against a running program; if the program fails first (hangs, crashes, exits),
 * that failure is what is reported, not the error `work` runs into because of it.
 */
export async function whileRunning<T>(r: Running, work: () => Promise<T>): Promise<T> {
  const died = r.finished.then(() => {
    throw new ProgramFailure(`${r.label} exited (status 0) before it was done with; its stdout:\n${lastLines(r.stdout(), 8)}`);
  });
  died.catch(() => {});
  try {
    return await Promise.race([work(), died]);
  } catch (e) {
    if (e instanceof ProgramFailure) throw e;
    // A request that failed because the program is being killed (a hang) or crashed: wait for
    // the program's own account of it, which is the one worth reporting.
    const account = await Promise.race([died.then(() => undefined, (f: unknown) => f), delay(STALL_MS + 3 * WATCH_MS)]);
    throw account ?? e;
  }
}

const delay = (ms: number): Promise<undefined> => new Promise((res) => setTimeout(() => res(undefined), ms).unref());

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}

/**
 * What changes while a process makes progress: per thread, its CPU time and its context switches
 * (a thread that sleeps and wakes, even for a timer, counts). A runnable thread counts as
 * progress too: on a loaded machine it may only be waiting for a CPU. '' once it is gone.
 */
function signOfLife(pid: number): string {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map((tid) => {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
        const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
        const switches = /voluntary_ctxt_switches:\s*(\d+)[\s\S]*nonvoluntary_ctxt_switches:\s*(\d+)/.exec(status);
        if (f[0] === 'R') return `${tid}:runnable at ${Date.now()}`;
        return `${tid}:${f[11]}+${f[12]}:${switches?.[1]}/${switches?.[2]}`; // utime+stime
      })
      .join(',');
  } catch {
    return '';
  }
}

const SYSCALLS: Record<number, string> = {
  0: 'read', 1: 'write', 7: 'poll', 23: 'select', 34: 'pause', 35: 'nanosleep', 43: 'accept', 45: 'recvfrom',
  47: 'recvmsg', 61: 'wait4', 72: 'fcntl', 73: 'flock', 128: 'rt_sigtimedwait', 130: 'rt_sigsuspend', 202: 'futex',
  230: 'clock_nanosleep', 232: 'epoll_wait', 247: 'waitid', 270: 'pselect6', 271: 'ppoll', 281: 'epoll_pwait',
  288: 'accept4', 299: 'recvmmsg', 426: 'io_uring_enter', 441: 'epoll_pwait2',
};

/** Where each of its threads waits in the kernel: "thread 1234 in epoll_wait (do_epoll_wait)". */
function whereStuck(pid: number): string {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map((tid) => {
        const read = (f: string): string => {
          try {
            return readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim();
          } catch {
            return '?';
          }
        };
        const nr = Number(read('syscall').split(' ')[0]);
        const call = read('syscall') === 'running' ? 'running' : Number.isInteger(nr) ? (SYSCALLS[nr] ?? `system call ${nr}`) : '?';
        return `thread ${tid}${tid === String(pid) ? ' (the initial one)' : ''} in ${call} (kernel: ${read('wchan') || 'none'})`;
      })
      .join('; ');
  } catch {
    return 'it is gone';
  }
}
