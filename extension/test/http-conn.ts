// A sample server under test and a raw HTTP/1.1 client for it, shared by the tests of the samples
// that speak HTTP (knot.test.ts, pool.test.ts): the server is started on a free port (`-p 0`) and
// found by the "listening on PORT" line it prints; the client reads whole responses off a
// keep-alive socket, so pipelining, split requests and closes can be checked byte for byte.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';

// ---- A running server ---------------------------------------------------------------------------

export interface Server {
  proc: ChildProcess;
  port: number;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startServer(exe: string, args: readonly string[]): Promise<Server> {
  const proc = spawn(exe, ['-p', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    proc.on('exit', (code, signal) => res({ code, signal })),
  );
  const port = await new Promise<number>((res, rej) => {
    const check = (): void => {
      const m = /listening on (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    };
    proc.stdout.on('data', check);
    void exited.then(({ code, signal }) => rej(new Error(`${exe} exited (${code ?? signal}) before listening: ${err}`)));
  });
  return { proc, port, stdout: () => out, exited };
}

// ---- Clients ----------------------------------------------------------------------------------

export interface Resp {
  status: number;
  headers: Map<string, string>; // lower-case names
  body: Buffer;
}

/** One response at the start of buf, or null if it is not all there yet. */
export function parseResponse(buf: Buffer, head: boolean): { resp: Resp; rest: Buffer } | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  // (split always yields at least one string; the default only satisfies the type)
  const [statusLine = '', ...headerLines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
  assert.ok(m, `bad status line: ${JSON.stringify(statusLine)}`);
  const headers = new Map<string, string>();
  for (const l of headerLines) {
    const i = l.indexOf(':');
    assert.ok(i > 0, `bad header line: ${JSON.stringify(l)}`);
    headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
  }
  const status = Number(m[1]);
  const len = head || status === 304 ? 0 : Number(headers.get('content-length'));
  assert.ok(Number.isInteger(len), 'response without Content-Length');
  if (buf.length < end + 4 + len) return null;
  return { resp: { status, headers, body: buf.subarray(end + 4, end + 4 + len) }, rest: buf.subarray(end + 4 + len) };
}

/** A raw keep-alive connection: send bytes, read whole responses. */
export class Conn {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  closed = false;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.waiter?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    sock.on('error', () => {});
  }
  static open(port: number): Promise<Conn> {
    return new Promise((res, rej) => {
      const s = net.connect(port, '127.0.0.1', () => res(new Conn(s)));
      s.setNoDelay(true);
      s.once('error', rej);
    });
  }
  write(data: string | Buffer): Promise<void> {
    return new Promise((res, rej) => this.sock.write(data, (e) => (e ? rej(e) : res())));
  }
  private wait(): Promise<void> {
    return new Promise((res) => (this.waiter = res));
  }
  /** The next response (HEAD: no body expected). */
  async response(head = false): Promise<Resp> {
    for (;;) {
      const r = parseResponse(this.buf, head);
      if (r) {
        this.buf = r.rest;
        return r.resp;
      }
      assert.ok(!this.closed, `connection closed mid-response (${this.buf.length} bytes pending)`);
      await this.wait();
    }
  }
  /** Resolves once the server has closed the connection, with whatever bytes were left. */
  async closedByPeer(): Promise<Buffer> {
    while (!this.closed) await this.wait();
    return this.buf;
  }
  /** True if the server sent nothing and kept the connection open for `ms`. */
  async quietFor(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.buf.length === 0 && !this.closed;
  }
  destroy(): void {
    this.sock.destroy();
  }
}
