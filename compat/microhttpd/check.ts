// GNU libmicrohttpd serving pages to a few hundred requests from Node's HTTP client, over
// keep-alive connections and one connection per request, many at a time, with a few large pages
// read by slow readers. Every response must be
// the page its URL asks for, and the same as the pthread build's; the server must stop cleanly
// (its threads joined) and count what it answered.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { start, finish, whileRunning, ProgramFailure, type Running } from '../harness.ts';
import { unless, type CompatProgram } from '../program.ts';

const REQUESTS = 300;

/** A large page: 14 MB, more than the socket buffers of a loopback connection hold. */
const LARGE = '/page/400000';
/** The request list: mostly small pages, every 17th a 404, every 100th a large page. */
const urls = Array.from({ length: REQUESTS }, (_, i) =>
  i % 17 === 5 ? `/nothing/${i}` : i % 100 === 3 ? LARGE : `/page/${(i * 37) % 500}`,
);

/** What main.c answers for `url`. */
function expectedBody(url: string): { status: number; body: string } {
  const m = /^\/page\/(\d+)$/.exec(url);
  if (!m) return { status: 404, body: 'not found\n' };
  const n = Number(m[1]);
  let body = `page of ${n} lines\n`;
  for (let i = 1; i <= n; i++) body += `line ${i} of ${n}: ${(Math.imul(i, 2654435761) >>> 0).toString(16).padStart(8, '0')}\n`;
  return { status: 200, body };
}

interface Reply {
  status: number;
  type: string;
  body: Buffer;
}

/**
 * GET `url`. A slow reader (`until` given) reads nothing of the body before `until` settles: the
 * server's sends fill the socket buffers and must wait part way through the page.
 */
function get(port: number, url: string, agent: http.Agent | false, until?: Promise<unknown>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: url, agent }, (res) => {
        const chunks: Buffer[] = [];
        if (until) {
          res.pause();
          void until.finally(() => res.resume());
        }
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', (e) => reject(new Error(`GET ${url}: ${e.message}`)));
  });
}

/** All of `urls`, many at a time: small ones over keep-alive and one-shot connections, large ones each on its own, read slowly. */
async function getAll(port: number): Promise<Reply[]> {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const oneShot = new http.Agent({ keepAlive: false, maxSockets: 8 });
  try {
    const replies: Promise<Reply>[] = [];
    urls.forEach((u, i) => {
      if (u !== LARGE) replies[i] = get(port, u, i % 3 === 2 ? oneShot : keepAlive);
    });
    const small = Promise.allSettled(replies.filter((r) => r !== undefined));
    urls.forEach((u, i) => {
      if (u === LARGE) replies[i] = get(port, u, false, small);
    });
    return await Promise.all(replies);
  } finally {
    keepAlive.destroy();
    oneShot.destroy();
  }
}

function mhdServer(mode: 'per-connection' | 'pool', threads: string): CompatProgram {
  return {
    name: `microhttpd-${mode}`,
    binary: 'mhd-server',
    library: 'GNU libmicrohttpd (Debian libmicrohttpd-dev)',
    threads,
    async observe(b) {
      const server = start(b.label, b.binary, [mode], { cwd: b.scratch, stdin: 'pipe' });
      const replies = await whileRunning(server, async () => {
        server.phase = 'before it listens';
        const port = await portOf(server);
        server.phase = `answering ${REQUESTS} requests`;
        return getAll(port);
      });
      const out = await finish(server);
      const problems: string[] = [];
      const lines = replies.map((r, i) => {
        const want = expectedBody(urls[i]!);
        if (problems.length < 3 && (r.status !== want.status || r.body.toString() !== want.body))
          problems.push(`GET ${urls[i]} answered ${r.status} with ${r.body.length} bytes, not ${want.status} with the ${want.body.length} bytes it asks for`);
        return `GET ${urls[i]} ${r.status} ${r.type} ${r.body.length} bytes sha256 ${createHash('sha256').update(r.body).digest('hex').slice(0, 16)}`;
      });
      const answered = out.split('\n').find((l) => l.startsWith('answered ')) ?? '(no "answered" line)';
      problems.push(...unless(answered === `answered ${REQUESTS} requests`, `it said "${answered}" after ${REQUESTS} requests`));
      return { output: [...lines, answered].join('\n') + '\n', problems };
    },
  };
}

/** The port from its first line, "port N". */
async function portOf(server: Running): Promise<number> {
  const line = await server.firstLine;
  const m = /^port (\d+)$/.exec(line);
  if (!m) throw new ProgramFailure(`${server.label} did not start with "port N" but ${JSON.stringify(line)}`);
  return Number(m[1]);
}

export const mhdPerConnection = mhdServer(
  'per-connection',
  'a thread per connection, each polling its socket; the daemon thread accepts; the main thread reads its stdin',
);
export const mhdPool = mhdServer('pool', 'a pool of 4 threads sharing the listening socket, each running its own epoll loop');
