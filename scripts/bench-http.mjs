// bench:http — knot (samples/knot) on Capriccio against nginx and the same
// knot source on plain pthreads, all serving the same file, driven by the same client (wrk) at
// 100, 1,000 and 10,000 concurrent keep-alive connections on loopback; then knot with telemetry
// streaming to a consumer against without; then an overload (20,000 clients, one request per
// connection, knot sending every file with sendfile under a 256-descriptor limit) with the FIFO
// and the resource-aware scheduler. Then the peers of issue 14: samples/pool (a thread-pool server)
// on Capriccio against its pthread build at 100 and 1,000 connections; samples/pipeline (CPU-bound
// threads joined by bounded queues), its wall time on Capriccio against its pthread build; and
// samples/goknot (knot's behaviour in Go, GOMAXPROCS = the core count) at the same connection counts
// as knot. nginx runs as many worker processes as Capriccio has workers (`workers` in the JSON).
// Peers are up at once and take turns in short runs, and each ratio is the median of the ratios
// within a round (`inRounds`; the pipeline's builds alike, `pipeline`), so a drift of the machine
// falls on both sides of a ratio alike.
// Progress goes to stderr; the last line of stdout is one JSON object with the raw figures and the
// ratios. A benchmark, not a test: nothing here passes or fails — except a pipeline whose two builds
// disagree on their output, which is a bug, not a figure.
//
//   npm run --silent bench:http [-- --duration SECONDS] [--runs N] [--only knot,nginx,pthread,telemetry,overload,pool,pipeline,go]
//
// Run with tsx (the npm script does): the options are parsed by the CLI's own parser.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, numberOption, parseArgs, stringOption } from '../extension/src/cli/args.ts';
import { WRK_SCRIPT, wrkFigures } from './wrk.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PARTS = ['knot', 'nginx', 'pthread', 'telemetry', 'overload', 'pool', 'pipeline', 'go'];
const USAGE = `npm run --silent bench:http [-- --duration SECONDS] [--runs N] [--only ${PARTS.join(',')}]`;

/** The options; a mistake (an unknown option, a missing or bad value) ends the run with the usage, exit 2. */
function options() {
  try {
    const p = parseArgs(process.argv.slice(2), { duration: { value: true }, runs: { value: true }, only: { value: true } });
    if (p.positionals.length > 0) throw new UsageError(`unexpected '${p.positionals[0]}'`);
    const only = (stringOption(p, 'only') ?? PARTS.join(',')).split(',');
    const unknown = only.find((n) => !PARTS.includes(n));
    if (unknown !== undefined) throw new UsageError(`unknown part '${unknown}' in --only (known: ${PARTS.join(', ')})`);
    return { duration: numberOption(p, 'duration') ?? 5, runs: numberOption(p, 'runs', { integer: true }) ?? 3, only, workers: workers() };
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`bench-http: ${err.message}\nusage: ${USAGE}`);
    process.exit(2);
  }
}
/**
 * Capriccio's worker kernel threads: CAPRICCIO_WORKERS when set (the servers inherit it), else the
 * CPUs this process may use (its affinity mask), which is also the count the runtime's M:N scheduler
 * takes by default. nginx gets as many worker processes, so each side may use the same cores.
 */
function workers() {
  const env = process.env['CAPRICCIO_WORKERS'];
  if (env === undefined || env === '') return availableParallelism();
  if (!/^[1-9][0-9]*$/.test(env)) throw new UsageError(`CAPRICCIO_WORKERS must be a positive whole number, not '${env}'`);
  return Number(env);
}
const OPTIONS = options();
const DURATION = OPTIONS.duration;
/** Runs per figure: the median (by req/s) is kept, the others' req/s listed, so one noisy run on a shared 2-core machine does not decide a ratio. */
const RUNS = OPTIONS.runs;
const CONNS = [100, 1000, 10000];
const FILE = '1k.html';
const CORES = (readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm) ?? []).length;
/** The pool server's connection counts (at 10,000 its default queue, the most connections it keeps open, would be the limit measured). */
const POOL_CONNS = [100, 1000];
/** The pipeline's input: generated text, compressed by 4 threads (about 1.6 s of one core here). */
const PIPELINE = { mib: 64, threads: 4 };
const OVERLOAD = { clients: 20000, fdLimit: 256, file: '10k.html', seconds: Math.max(DURATION, 15), timeout: 10 };
const BACKLOG = 65535;
const log = (...a) => console.error('bench-http:', ...a);

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status ?? r.signal}):\n${(r.stderr || r.stdout || '').slice(-2000)}`);
  return r.stdout;
}

// ---- setup -----------------------------------------------------------------------------------

/** Installs a Debian package the bench alone needs (not npm test), unless `path` is there; true when it did. */
function installPackage(pkg, path) {
  if (existsSync(path)) return false;
  if (process.getuid?.() !== 0) throw new Error(`${pkg} is missing: apt-get install -y --no-install-recommends ${pkg} (as root)`);
  log(`installing ${pkg} (Debian package)`);
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', pkg], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return true;
}

function setup(only) {
  run('bash', [join(root, 'scripts/setup-deps.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (installPackage('nginx', '/usr/sbin/nginx')) {
    spawnSync('systemctl', ['disable', '--now', 'nginx'], { stdio: 'ignore' }); // the distribution's own instance, if any
    stopPackageNginx();
  }
  run('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  const make = (dir, ...targets) => run('make', ['-s', '-C', join(root, 'samples', dir), ...targets], { stdio: ['ignore', 'ignore', 'inherit'] });
  make('knot', 'all', 'pthread', 'www');
  if (only.includes('pool')) make('pool', 'all', 'pthread');
  if (only.includes('pipeline')) make('pipeline', 'all', 'pthread');
  if (only.includes('go')) {
    installPackage('golang-go', '/usr/bin/go'); // Debian's Go (1.19 on Debian 12)
    make('goknot');
  }
}

/**
 * Without systemd the package's install starts nginx from its init script: that instance (and
 * only it) is ended, by the PID it wrote to the default configuration's pid file.
 */
function stopPackageNginx() {
  const pidFile = '/run/nginx.pid';
  let pid;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return; // not started
  }
  let comm = '';
  try {
    comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    // gone: comm stays '' and the check below returns
  }
  if (!Number.isInteger(pid) || pid <= 1 || comm !== 'nginx') return; // stale: that PID is not nginx now
  log(`stopping the nginx the package started (PID ${pid})`);
  process.kill(pid, 'SIGQUIT'); // its master ends its workers
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) spawnSync('sleep', ['0.1']);
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/**
 * The kernel's listen queues: at the default 4,096 connections, 10,000 clients connecting at once
 * lose SYNs and wait out retransmission timers, which measures TCP, not the servers. Raised for
 * the run where allowed (root in this network namespace), and put back afterwards.
 */
const SYSCTLS = { 'net/core/somaxconn': String(BACKLOG), 'net/ipv4/tcp_max_syn_backlog': String(BACKLOG) };
function raiseQueues() {
  const saved = {};
  for (const [k, v] of Object.entries(SYSCTLS)) {
    const f = `/proc/sys/${k}`;
    try {
      saved[f] = readFileSync(f, 'utf8').trim();
      writeFileSync(f, v);
    } catch {
      log(`cannot raise ${k.replace(/\//g, '.')} (kept ${saved[f] ?? 'unknown'}): runs with 10,000 clients lose SYNs`);
    }
  }
  return () => {
    for (const [f, v] of Object.entries(saved)) {
      try {
        writeFileSync(f, v);
      } catch {
        // a limit that cannot be put back is left as the run set it; the bench has ended
      }
    }
  };
}

// ---- servers ---------------------------------------------------------------------------------

const WWW = join(root, 'samples/knot/build/www');

/** Shell: the descriptor limit `n`, or the hard limit when that is lower (no CAP_SYS_RESOURCE here). */
const ulimit = (n) => `{ ulimit -n ${n} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; }`;

/** Servers running now: an interrupted run ends them too (each is its own process group). */
const running = new Set();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    log(`${sig}: stopping ${running.size} server(s)`);
    Promise.all([...running].map((s) => s.stop())).finally(() => process.kill(process.pid, sig));
  });
}

/** A server started with a descriptor limit (a shell's ulimit, then exec); its own process group, ended by its PID. */
function startServer(name, argv, { fdLimit = 65536, env = {} } = {}) {
  const child = spawn('sh', ['-c', `${ulimit(fdLimit)} && exec "$@"`, 'sh', ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out = (out + d).slice(-20000)));
  const server = {
    name,
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // its group has already ended
      }
      const t = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // its group ended after SIGTERM
        }
      }, 5000);
      await done;
      clearTimeout(t);
    },
    exited: () => child.exitCode !== null,
  };
  running.add(server);
  child.once('exit', () => running.delete(server));
  return server;
}

async function waitUp(port, server, path = `/${FILE}`) {
  for (let i = 0; i < 200; i++) {
    if (server.exited()) throw new Error(`${server.name} exited:\n${server.output()}`);
    const r = spawnSync('curl', ['-fs', '-o', '/dev/null', `http://127.0.0.1:${port}${path}`]);
    if (r.status === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${server.name} did not answer on port ${port}:\n${server.output()}`);
}

function nginxConf(dir, port) {
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes ${OPTIONS.workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 30000; use epoll; }
http {
  access_log off;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 65; keepalive_requests 100000000;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  types { text/html html; }
  server { listen 127.0.0.1:${port} backlog=${BACKLOG}; root ${WWW}; location / { } }
}
`;
}

const knotArgs = (bin, port, extra = []) => [join(root, 'samples/knot/build', bin), '-a', '127.0.0.1', '-p', String(port), '-d', WWW, '-b', String(BACKLOG), ...extra];

async function startNamed(name, tmp, port, opts = {}) {
  switch (name) {
    case 'knot':
      return startServer('knot', knotArgs('knot', port, opts.extra), opts);
    case 'pthread':
      return startServer('knot-pthread', knotArgs('knot-pthread', port, opts.extra), opts);
    case 'nginx': {
      const dir = join(tmp, `nginx-${port}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port));
      return startServer('nginx', ['/usr/sbin/nginx', '-p', dir, '-c', join(dir, 'nginx.conf')], opts);
    }
    case 'pool':
    case 'pool-pthread':
      return startServer(name, [join(root, 'samples/pool/build', name), '-a', '127.0.0.1', '-p', String(port), '-d', WWW, '-b', String(BACKLOG)], opts);
    case 'go': // Go's listen backlog is the kernel's somaxconn, which raiseQueues sets to BACKLOG
      return startServer('goknot', [join(root, 'samples/goknot/build/goknot'), '-a', '127.0.0.1', '-p', String(port), '-d', WWW], {
        ...opts,
        env: { ...opts.env, GOMAXPROCS: String(CORES) },
      });
    case 'knot+telemetry':
      return startServer('knot+telemetry', [process.execPath, join(root, 'bin/capriccio.js'), 'run', '--', ...knotArgs('knot', port, opts.extra)], opts);
    default:
      throw new Error(`unknown server ${name}`);
  }
}

// ---- the client ------------------------------------------------------------------------------

/** wrk; more clients than one process may hold descriptors for are split over several wrk at once. */
function wrk(port, conns, seconds, { file = FILE, headers = [], timeout = 4 } = {}) {
  const PER_WRK = 10000;
  const parts = [];
  for (let left = conns; left > 0; left -= PER_WRK) parts.push(Math.min(PER_WRK, left));
  const runs = parts.map((c) => {
    const argv = ['-c', `${ulimit(c + 100)} && exec wrk "$@"`, 'sh', `-t${parts.length > 1 ? 1 : 2}`, `-c${c}`, `-d${seconds}s`, '--timeout', `${timeout}s`, '-s', WRK_SCRIPT];
    for (const h of headers) argv.push('-H', h);
    argv.push(`http://127.0.0.1:${port}/${file}`);
    return new Promise((resolve, reject) => {
      const child = spawn('sh', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => (code === 0 ? resolve(wrkFigures(out)) : reject(new Error(`wrk failed (${code}): ${err}`))));
    });
  });
  return Promise.all(runs).then((ws) =>
    ws.reduce((a, w) => ({
      rps: a.rps + w.rps,
      p99_ms: Math.max(a.p99_ms ?? 0, w.p99_ms ?? 0),
      requests: a.requests + w.requests,
      ok: a.ok + w.ok,
      non2xx: a.non2xx + w.non2xx,
      errors: a.errors + w.errors,
      socket_errors: Object.fromEntries(Object.entries(a.socket_errors).map(([k, v]) => [k, v + w.socket_errors[k]])),
    })),
  );
}

/** One run's figures, as progress on stderr. */
const logRun = (name, conns, w) =>
  log(`${name.padEnd(15)} c=${String(conns).padStart(5)}  ${String(Math.round(w.rps)).padStart(7)} req/s  p99 ${w.p99_ms} ms  ok ${w.ok}  non-2xx ${w.non2xx}  socket errors ${w.errors}`);

async function measure(name, tmp, conns, opts = {}) {
  const port = await freePort();
  const server = await startNamed(name, tmp, port, opts);
  try {
    await waitUp(port, server, `/${opts.file ?? FILE}`);
    const w = await wrk(port, conns, opts.seconds ?? DURATION, opts);
    logRun(name, conns, w);
    return w;
  } finally {
    await server.stop();
  }
}

/** The median of numbers (of an even count, the mean of the middle two). */
const middle = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
};

/** A ratio taken in rounds: the median over rounds, and every round's, to three places. */
const thousandths = (x) => Math.round(x * 1000) / 1000;
const overRounds = (byRound) => ({ ratio: thousandths(middle(byRound)), by_round: byRound.map(thousandths) });

/** The median of a peer's runs (by req/s), with every run's req/s and socket errors. */
function median(runs) {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  return { ...sorted[Math.floor(sorted.length / 2)], runs_rps: runs.map((r) => Math.round(r.rps)), runs_errors: runs.map((r) => r.errors) };
}

/**
 * Rounds per connection count and the seconds of each run in a round. The telemetry pair, a cost
 * of a per cent or two, is measured in many more, shorter rounds: a round's ratio scatters by about
 * ±10% here (two identical servers measured so), so its median over 21 rounds of 2 s was good to
 * about ±2.5%, over 60 rounds of 1 s to about ±1.5%, in about the same time.
 */
const ROUNDS = 3 * RUNS;
const TELEMETRY_ROUNDS = 20 * RUNS;
const SLICE = Math.max(1, Math.floor(DURATION / 2)); /* whole seconds, as wrk takes them */
const TELEMETRY_SLICE = 1;

/**
 * Peers up at once at each connection count, measured in `rounds`: every round runs each peer once
 * for SLICE seconds, in an order that rotates from round to round. `ratios[a][b][conns]` gets the
 * median over rounds of a's req/s over b's in the same round, for each peer a and every peer b after it;
 * `into[peer][conns]` the median of a peer's runs. Why: this machine's throughput drifts by
 * ±10–20% from one run of seconds to the next (seen for one server left running), which a ratio
 * of medians taken minutes apart cannot tell from a difference of a few per cent, while two runs
 * of one round share most of the drift. A peer not being measured only waits (its workers park),
 * so none takes CPU from another.
 */
async function inRounds(names, counts, tmp, into, ratios, rounds = ROUNDS, slice = SLICE) {
  for (const name of names) into[name] ??= {};
  for (const c of counts) {
    const ports = [];
    while (ports.length < names.length) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const servers = [];
    try {
      for (const [k, name] of names.entries()) {
        servers[k] = await startNamed(name, tmp, ports[k]);
        await waitUp(ports[k], servers[k]);
      }
      const runs = names.map(() => []);
      for (let r = 0; r < rounds; r++) {
        for (let j = 0; j < names.length; j++) {
          const k = (j + r) % names.length;
          const w = await wrk(ports[k], c, slice);
          logRun(names[k], c, w);
          runs[k].push(w);
        }
      }
      names.forEach((a, i) => {
        into[a][c] = median(runs[i]);
        names.forEach((b, k) => {
          if (k <= i) return;
          const byRound = runs[i].map((w, r) => w.rps / runs[k][r].rps);
          ((ratios[a] ??= {})[b] ??= {})[c] = overRounds(byRound);
        });
      });
    } finally {
      for (const s of servers) await s?.stop();
    }
  }
}

/** One run of a pipeline build: its printed figures; the same input gives the same checksums. */
function pipelineRun(bin) {
  const out = run(join(root, 'samples/pipeline/build', bin), ['-n', String(PIPELINE.mib), '-t', String(PIPELINE.threads)]);
  const m = /^pipeline: blocks (\d+) in (\d+) out (\d+) crc_in ([0-9a-f]{8}) crc_out ([0-9a-f]{8}) seconds ([0-9.]+)$/m.exec(out);
  if (!m) throw new Error(`${bin} printed no figures: ${out}`);
  const [, blocks, bytesIn, bytesOut, crcIn, crcOut, seconds] = m;
  return { output: { blocks: Number(blocks), bytes_in: Number(bytesIn), bytes_out: Number(bytesOut), crc_in: crcIn, crc_out: crcOut }, seconds: Number(seconds) };
}

/**
 * The pipeline on Capriccio and on pthreads, both once in each of `ROUNDS` rounds, in an order that
 * alternates: median wall times, and the median over rounds of Capriccio's time over pthreads' in the
 * same round (a run is under a second, which this machine's drift changes by ±15%: paired, as the
 * servers are in `inRounds`, two runs of a round share most of it).
 */
function pipeline() {
  const bins = ['pipeline', 'pipeline-pthread'];
  const times = Object.fromEntries(bins.map((bin) => [bin, []]));
  const byRound = [];
  let output;
  for (let r = 0; r < ROUNDS; r++) {
    for (const bin of r % 2 ? [...bins].reverse() : bins) {
      const o = pipelineRun(bin);
      const printed = JSON.stringify(o.output);
      if (output !== undefined && printed !== output) throw new Error(`${bin} compressed to ${printed}, not ${output} as before: the builds disagree`);
      output = printed;
      times[bin].push(o.seconds);
      log(`${bin.padEnd(16)} ${PIPELINE.mib} MiB, ${PIPELINE.threads} compressor threads: ${o.seconds} s`);
    }
    byRound.push(times.pipeline[r] / times['pipeline-pthread'][r]);
  }
  const figures = (runs) => ({ seconds: middle(runs), runs_s: runs });
  return {
    mib: PIPELINE.mib,
    threads: PIPELINE.threads,
    output: JSON.parse(output),
    capriccio: figures(times.pipeline),
    pthread: figures(times['pipeline-pthread']),
    time_vs_pthread: overRounds(byRound),
  };
}

// ---- main ------------------------------------------------------------------------------------

async function main() {
  setup(OPTIONS.only);
  const tmp = mkdtempSync(join(tmpdir(), 'capriccio-bench-http-'));
  const restoreQueues = raiseQueues();
  const only = OPTIONS.only;
  const result = { bench: 'http', file: FILE, duration_s: DURATION, runs: RUNS, rounds: ROUNDS, telemetry_rounds: TELEMETRY_ROUNDS, run_s: SLICE, telemetry_run_s: TELEMETRY_SLICE, client: 'wrk -t2 --timeout 4s', cores: CORES, workers: OPTIONS.workers, servers: {}, ratios: {} };
  try {
    await inRounds(only.filter((n) => ['knot', 'nginx', 'pthread', 'go'].includes(n)), CONNS, tmp, result.servers, result.ratios);
    if (only.includes('go')) result.gomaxprocs = CORES;
    if (only.includes('pool')) await inRounds(['pool', 'pool-pthread'], POOL_CONNS, tmp, result.servers, result.ratios);
    if (only.includes('pipeline')) result.pipeline = pipeline();
    if (only.includes('telemetry')) {
      log('telemetry: knot at 1000 connections, streaming to `capriccio run` against not');
      const t = {};
      await inRounds(['knot+telemetry', 'knot'], [1000], tmp, t, result.ratios, TELEMETRY_ROUNDS, TELEMETRY_SLICE);
      result.telemetry = { off: t.knot[1000], on: t['knot+telemetry'][1000] };
    }
    if (only.includes('overload')) {
    log(`overload: ${OVERLOAD.clients} clients, one request per connection, knot -m sendfile with ${OVERLOAD.fdLimit} descriptors`);
    const overload = (scheduler) =>
      measure('knot', tmp, OVERLOAD.clients, {
        fdLimit: OVERLOAD.fdLimit,
        env: { CAPRICCIO_SCHEDULER: scheduler },
        extra: ['-m', 'sendfile', '-c', '0'],
        file: OVERLOAD.file,
        headers: ['Connection: close'],
        seconds: OVERLOAD.seconds,
        timeout: OVERLOAD.timeout,
      });
    result.overload = { clients: OVERLOAD.clients, fd_limit: OVERLOAD.fdLimit, file: OVERLOAD.file, seconds: OVERLOAD.seconds, client_timeout_s: OVERLOAD.timeout, fifo: await overload('fifo'), resource_aware: await overload('resource-aware') };
    }
  } finally {
    restoreQueues();
    rmSync(tmp, { recursive: true, force: true });
  }
  const ratio = (a, b) => (a && b ? thousandths(a / b) : null);
  const within = (a, b, c) => result.ratios[a]?.[b]?.[c]?.ratio ?? null;
  Object.assign(result, {
    knot_vs_nginx_1000: within('knot', 'nginx', 1000),
    knot_vs_nginx_10000: within('knot', 'nginx', 10000),
    knot_vs_pthread_10000: within('knot', 'pthread', 10000),
    telemetry_on_vs_off: within('knot+telemetry', 'knot', 1000),
    resource_aware_vs_fifo_overload: ratio(result.overload?.resource_aware.ok, result.overload?.fifo.ok),
    pool_vs_pthread_100: within('pool', 'pool-pthread', 100),
    pool_vs_pthread_1000: within('pool', 'pool-pthread', 1000),
    pool_errors: result.servers.pool?.[1000]?.runs_errors.reduce((a, b) => a + b, 0) ?? null,
    pipeline_time_vs_pthread: result.pipeline?.time_vs_pthread.ratio ?? null,
    knot_vs_go_1000: within('knot', 'go', 1000),
    knot_vs_go_10000: within('knot', 'go', 10000),
  });
  console.log(JSON.stringify(result));
}

main().catch((err) => {
  console.error(`bench-http: ${err.message}`);
  process.exit(1);
});
