// A telemetry session: launch a program with telemetry (we listen, it connects) or attach to a
// runtime that listens (CAPRICCIO_TELEMETRY_LISTEN); decode what arrives into a model; optionally
// record every received byte.
//
// Events: 'frame' (DecodedFrame), 'error' (DecodeError: a frame reported and skipped, or the
// truncated tail), 'connect' (), 'exit' (SessionEnd). `done` resolves with the same SessionEnd.
// stop() ends a launched program: a signal (SIGTERM) first, SIGKILL only if it is still running
// `killAfterMs` later. When a launched program has ended, the session adds an END frame to the
// model and the recording: its status, and whether the session stopped or killed it and why.
// close() releases everything the session created: server, socket file, private directory,
// connection and child (stopped as by stop()).
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameDecoder } from '../protocol/decode.ts';
import { endFrame } from '../protocol/encode.ts';
import type { DecodeError, DecodedFrame, EndFrame } from '../../../shared/protocol.ts';
import { Model, type ModelCaps } from '../model/model.ts';
import { Recorder } from './recorder.ts';

/** How the program ended. */
export type ProgramStatus =
  | { readonly kind: 'code'; readonly code: number }
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals }
  /** attach: the connection ended; the runtime's EXIT frame (if any) is in the model */
  | { readonly kind: 'disconnected' };

export interface SessionEnd {
  readonly status: ProgramStatus;
  /** whether the program connected and sent anything */
  readonly connected: boolean;
  /** whether an EXIT frame arrived */
  readonly exitFrame: boolean;
}

export interface SessionOptions {
  /** record every received byte to this file */
  readonly record?: string;
  readonly caps?: Partial<ModelCaps>;
}

export interface LaunchOptions extends SessionOptions {
  /** CAPRICCIO_INTERVAL_MS for the program */
  readonly intervalMs?: number;
  /** extra environment for the program */
  readonly env?: NodeJS.ProcessEnv;
  /** the program's stdio (default inherit) */
  readonly stdio?: 'inherit' | 'pipe' | 'ignore';
  readonly cwd?: string;
  /** time between stop()'s signal and SIGKILL (default DEFAULT_KILL_AFTER_MS); 0: SIGKILL right after the signal */
  readonly killAfterMs?: number;
}

/** How long a stopped program may take to exit before SIGKILL, unless told otherwise. */
export const DEFAULT_KILL_AFTER_MS = 10_000;
/** The largest kill-after a timer can wait (setTimeout's limit, 2^31 − 1 ms: about 24.8 days). */
export const MAX_KILL_AFTER_MS = 2 ** 31 - 1;

/** Why and how the session asked the program to stop. */
interface StopRequest {
  readonly signal: NodeJS.Signals;
  /** completes "sent when …" */
  readonly reason: string;
}

export interface SessionEvents {
  frame: [DecodedFrame];
  error: [DecodeError];
  connect: [];
  exit: [SessionEnd];
}

export class Session extends EventEmitter<SessionEvents> {
  readonly model: Model;
  child: ChildProcess | undefined;
  readonly done: Promise<SessionEnd>;
  private resolveDone!: (end: SessionEnd) => void;
  private rejectDone!: (err: Error) => void;
  private readonly decoder = new FrameDecoder();
  private readonly recorder: Recorder | undefined;
  private server: Server | undefined;
  private socket: Socket | undefined;
  private dir: string | undefined;
  private connected = false;
  private streamEnded = false;
  private childStatus: ProgramStatus | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private finished = false;
  private graceOver = false;
  private stopRequest: StopRequest | undefined;
  private killSent = false;
  /** bytes received so far (stream offsets) */
  private received = 0;
  /** the frame the stream ended inside, if it did */
  private tail: DecodeError | undefined;
  killAfterMs = DEFAULT_KILL_AFTER_MS;

  constructor(opts: SessionOptions = {}) {
    super();
    this.model = new Model(opts.caps);
    this.recorder = opts.record !== undefined ? new Recorder(opts.record) : undefined;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // An 'error' event without a listener would throw: decode errors are in the model anyway.
    this.on('error', () => undefined);
  }

  /** Path of the recording file, if recording. */
  get recordPath(): string | undefined {
    return this.recorder?.path;
  }

  /** Feeds received bytes: record, decode, model, events. */
  private feed(chunk: Buffer): void {
    this.received += chunk.length;
    this.recorder?.write(chunk);
    for (const e of this.decoder.push(chunk)) {
      if (e.kind === 'frame') {
        this.model.apply(e.frame.frame);
        this.emit('frame', e.frame);
      } else {
        this.model.addError(e.error);
        this.emit('error', e.error);
      }
    }
  }

  protected adopt(socket: Socket): void {
    this.socket = socket;
    this.connected = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    this.emit('connect');
    socket.on('data', (c: Buffer) => this.feed(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.streamEnded = true;
      const tail = this.decoder.end();
      if (tail) {
        this.tail = tail;
        this.model.addError(tail);
        this.emit('error', tail);
      }
      this.maybeFinish();
    });
  }

  protected setChildStatus(status: ProgramStatus): void {
    this.childStatus = status;
    if (this.killTimer) clearTimeout(this.killTimer);
    // The connection normally closes with the process; do not wait long for a socket kept open
    // by a descendant.
    if (this.connected && !this.streamEnded) {
      this.lingerTimer = setTimeout(() => this.socket?.destroy(), 1000);
      this.lingerTimer.unref();
    }
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.finished) return;
    const status: ProgramStatus | undefined = this.child ? this.childStatus : this.streamEnded ? { kind: 'disconnected' } : undefined;
    if (status === undefined) return;
    if (this.connected && !this.streamEnded) return;
    if (!this.connected && this.server && !this.graceOver) {
      // The program exited before its connection was seen: the connection may still be queued.
      this.lingerTimer ??= setTimeout(() => {
        this.graceOver = true;
        this.lingerTimer = undefined;
        this.maybeFinish();
      }, 300);
      return;
    }
    this.finished = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    const end: SessionEnd = { status, connected: this.connected, exitFrame: this.model.exit !== undefined };
    let recorded: Promise<void> = Promise.resolve();
    if (this.child) {
      const programEnd = this.programEnd(status);
      this.model.apply(programEnd);
      if (this.recorder) recorded = this.recorder.close({ append: endFrame(programEnd), ...(this.tail ? { cutAt: this.tail.offset } : {}) });
    } else if (this.recorder) recorded = this.recorder.close();
    recorded.then(
      () => {
        this.emit('exit', end);
        this.resolveDone(end);
      },
      (err: Error) => this.rejectDone(err),
    );
  }

  protected fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    const recorded = this.recorder ? this.recorder.close() : Promise.resolve();
    recorded.finally(() => this.rejectDone(err)).catch(() => undefined);
  }

  /** The END frame of a launched program that ended with `status`. */
  private programEnd(status: ProgramStatus): EndFrame {
    const req = this.stopRequest;
    // SIGKILL sent to a program that was exiting anyway does not make it killed: its status says.
    const killed = this.killSent && status.kind === 'signal' && status.signal === 'SIGKILL';
    return {
      type: 'end',
      how: status.kind === 'signal' ? 'signaled' : 'exited',
      status: status.kind === 'signal' ? (constants.signals[status.signal] ?? 0) : status.kind === 'code' ? status.code : 0,
      stop: req === undefined ? 'none' : killed ? 'killed' : 'asked',
      signal: req ? (constants.signals[req.signal] ?? 0) : 0,
      killAfterMs: req ? this.killAfterMs : 0,
      unfinishedBytes: this.tail ? this.received - this.tail.offset : 0,
      reason: req?.reason ?? '',
    };
  }

  /**
   * Ends a launched program: sends `signal`, and SIGKILL if it is still running killAfterMs later.
   * `reason` completes "sent when …" in what is recorded ("--duration 5 ended"). A later request
   * passes its signal on; the first one's clock keeps running.
   */
  stop(reason: string, signal: NodeJS.Signals = 'SIGTERM'): void {
    const child = this.child;
    if (!child || this.childStatus !== undefined) return;
    child.kill(signal);
    if (this.stopRequest) return;
    this.stopRequest = { signal, reason };
    this.killTimer = setTimeout(() => {
      if (this.childStatus !== undefined) return;
      this.killSent = true;
      child.kill('SIGKILL');
    }, this.killAfterMs);
  }

  /** Releases everything: child (stopped as by stop(reason)), connection, server, socket file, directory. */
  async close(reason = 'the profiling session was closed'): Promise<void> {
    if (this.child && this.childStatus === undefined) {
      this.stop(reason);
      await this.done.catch(() => undefined);
    }
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.socket?.destroy();
    if (this.server) {
      const server = this.server;
      this.server = undefined;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.dir) {
      const dir = this.dir;
      this.dir = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Internal: launch steps. */
  async startLaunch(program: string, args: readonly string[], opts: LaunchOptions): Promise<void> {
    if (opts.killAfterMs !== undefined) {
      if (!(opts.killAfterMs >= 0 && opts.killAfterMs <= MAX_KILL_AFTER_MS)) throw new RangeError(`killAfterMs must be between 0 and ${MAX_KILL_AFTER_MS}, not ${opts.killAfterMs}`);
      this.killAfterMs = opts.killAfterMs;
    }
    this.dir = await mkdtemp(join(tmpdir(), 'capriccio-'));
    await chmod(this.dir, 0o700);
    const socketPath = join(this.dir, 'telemetry.sock');
    const server = createServer((socket) => {
      if (this.socket) {
        socket.destroy(); // one connection per session
        return;
      }
      this.adopt(socket);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(socketPath, 0o600);
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, CAPRICCIO_TELEMETRY: socketPath };
    if (opts.intervalMs !== undefined) env.CAPRICCIO_INTERVAL_MS = String(opts.intervalMs);
    const child = spawn(program, args, { stdio: opts.stdio ?? 'inherit', env, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    this.child = child;
    child.on('error', (err) => this.fail(new Error(`cannot run ${program}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      this.setChildStatus(signal !== null ? { kind: 'signal', signal } : { kind: 'code', code: code ?? 1 });
    });
  }

  /** Internal: attach steps. */
  startAttach(socketPath: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      socket.once('error', (err) => reject(new Error(`cannot attach to ${socketPath}: ${err.message}`)));
      socket.once('connect', () => {
        this.adopt(socket);
        resolve();
      });
    });
  }
}

/** Runs `program args` with CAPRICCIO_TELEMETRY pointing at a private socket of this session. */
export async function launch(program: string, args: readonly string[], opts: LaunchOptions = {}): Promise<Session> {
  const s = new Session(opts);
  try {
    await s.startLaunch(program, args, opts);
  } catch (err) {
    await s.close();
    throw err;
  }
  return s;
}

/** Connects to a runtime listening on `socketPath` (CAPRICCIO_TELEMETRY_LISTEN). */
export async function attach(socketPath: string, opts: SessionOptions = {}): Promise<Session> {
  const s = new Session(opts);
  try {
    await s.startAttach(socketPath);
  } catch (err) {
    await s.close();
    throw err;
  }
  return s;
}
