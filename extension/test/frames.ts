// Test-only frame builder mirroring docs/PROTOCOL.md: writes HELLO, SNAPSHOT, STACKS, SYNC and EXIT
// frames (what the runtime sends) from the decoded form, plus helpers to corrupt them.
import type {
  ExitFrame,
  HelloFrame,
  SnapshotFrame,
  StacksFrame,
  SyncFrame,
  Resources,
  NodeDef,
  NodeStat,
  EdgeStat,
  SpawnSite,
  HotSplit,
  Sample,
  Stall,
  ThreadRow,
} from '../../shared/protocol.ts';

/** Little-endian byte writer. */
export class W {
  private parts: Buffer[] = [];
  private put(n: number, f: (b: Buffer) => void): this {
    const b = Buffer.alloc(n);
    f(b);
    this.parts.push(b);
    return this;
  }
  u8 = (v: number): this => this.put(1, (b) => b.writeUInt8(v, 0));
  u16 = (v: number): this => this.put(2, (b) => b.writeUInt16LE(v, 0));
  u32 = (v: number): this => this.put(4, (b) => b.writeUInt32LE(v >>> 0, 0));
  i32 = (v: number): this => this.put(4, (b) => b.writeInt32LE(v, 0));
  u64 = (v: number | bigint | string): this => this.put(8, (b) => b.writeBigUInt64LE(BigInt(v), 0));
  i64 = (v: number): this => this.put(8, (b) => b.writeBigInt64LE(BigInt(v), 0));
  bytes = (v: Buffer): this => {
    this.parts.push(v);
    return this;
  };
  str = (s: string): this => {
    const b = Buffer.from(s, 'utf8');
    return this.u16(b.length).bytes(b);
  };
  done = (): Buffer => Buffer.concat(this.parts);
}

export const MAGIC = Buffer.from('CAPREC\0\x01', 'latin1');

export function rawFrame(type: number, payload: Buffer, sizeOverride?: number): Buffer {
  return new W()
    .u32(sizeOverride ?? payload.length + 4)
    .u8(type)
    .u8(0)
    .u16(0)
    .bytes(payload)
    .done();
}

export function helloPayload(h: HelloFrame): Buffer {
  const w = new W()
    .u16(h.version)
    .u16(0)
    .u32(h.pid)
    .u64(h.startRealtimeNs)
    .u32(h.intervalMs)
    .u32(h.quantumUs)
    .u32(h.stallMs)
    .u32(h.firstChunkBytes)
    .str(h.executable)
    .str(h.stackMode)
    .str(h.diskBackend)
    .str(h.scheduler)
    .u16(h.modules.length);
  for (const m of h.modules) w.u64(m.bias).u64(m.start).u64(m.end).str(m.path);
  w.u16(h.args.length);
  for (const a of h.args) w.str(a);
  return w.done();
}

export function snapshotPayload(s: SnapshotFrame): Buffer {
  const r: Resources = s.resources;
  const w = new W()
    .u32(s.seq)
    .u32(s.dropped)
    .u64(s.tNs)
    .u32(r.threads)
    .u32(r.runnable)
    .u32(r.blockedIo)
    .u32(r.blockedDisk)
    .u32(r.blockedSync)
    .u32(r.sleeping)
    .u64(r.switches)
    .u64(r.blockingOps)
    .u64(r.rssBytes)
    .u32(r.openFds)
    .u32(r.fdLimit)
    .u64(r.stackAllocatedBytes)
    .u32(r.droppedTotal)
    .u32(r.nodesDropped);
  const section = <T>(xs: readonly T[], f: (x: T) => void): void => {
    w.u32(xs.length);
    xs.forEach(f);
  };
  section(s.nodeDefs, (d: NodeDef) => {
    w.u32(d.id).u8(d.kind).u8(d.frames.length).u16(0);
    d.frames.forEach((a) => w.u64(a));
  });
  section(s.nodeStats, (n: NodeStat) => w.u32(n.id).u32(0).u64(n.count).u64(n.waitTotalNs).u64(n.waitMaxNs).i64(n.fdDelta));
  section(s.edgeStats, (e: EdgeStat) => w.u32(e.from).u32(e.to).u64(e.count).u64(e.totalNs).u64(e.ewmaNs).u64(e.maxNs));
  section(s.spawnSites, (p: SpawnSite) =>
    w
      .u64(p.site)
      .u32(p.threadsLive)
      .u32(p.threadsTotal)
      .u32(p.firstChunkBytes)
      .u32(p.splitFrameMax)
      .u64(p.chunksLinked)
      .u64(p.allocatedBytes)
      .u64(p.usedBytesMax)
      .u64(p.usedBytesTotal)
      .u64(p.untouchedBytes),
  );
  section(s.hotSplits, (h: HotSplit) => w.u64(h.callsite).u64(h.count).u32(h.frameBytes).u32(h.mapped));
  section(s.samples, (p: Sample) => {
    w.u32(p.id).u8(p.frames.length).u8(0).u16(0).u64(p.count).u64(p.runMaxNs);
    p.frames.forEach((a) => w.u64(a));
  });
  section(s.stalls, (t: Stall) =>
    w.u32(t.id).u32(t.syscall).u64(t.count).u64(t.totalNs).u64(t.maxNs).u64(t.pc).u64(t.callsite).u64(t.target),
  );
  section(s.threads, (t: ThreadRow) =>
    w.u64(t.id).u64(t.spawnSite).u64(t.allocatedBytes).u64(t.usedBytes).u32(t.chunksLinked).u8(t.state).u8(t.kind).u16(0).str(t.name),
  );
  return w.done();
}

export const stacksPayload = (m: StacksFrame): Buffer =>
  new W().u32(m.seq).u32(m.mappings).u64(m.tNs).u64(m.reservedBytes).u64(m.residentBytes).u64(m.wasteBytes).done();

export const syncPayload = (f: SyncFrame): Buffer => {
  const w = new W().u32(f.seq).u32(f.holds.length);
  for (const h of f.holds) w.u32(h.node).u32(0).u64(h.acquire).u64(h.release).u64(h.count).u64(h.holdTotalNs).u64(h.holdMaxNs).u64(h.waitTotalNs);
  w.u32(f.wakes.length);
  for (const k of f.wakes) w.u32(k.node).u32(k.fromNode ?? 0xffffffff).u64(k.waker).u64(k.count);
  return w.done();
};

export const exitPayload = (e: ExitFrame): Buffer => new W().u8(e.how === 'exited' ? 0 : 1).u8(0).u16(0).i32(e.status).u64(e.tNs).done();

export const helloFrame = (h: HelloFrame): Buffer => rawFrame(1, helloPayload(h));
export const snapshotFrame = (s: SnapshotFrame): Buffer => rawFrame(2, snapshotPayload(s));
export const exitFrame = (e: ExitFrame): Buffer => rawFrame(3, exitPayload(e));
export const stacksFrame = (m: StacksFrame): Buffer => rawFrame(5, stacksPayload(m));
export const syncFrame = (f: SyncFrame): Buffer => rawFrame(6, syncPayload(f));

// ---- sample data ----

export const EXE_BASE = 0x555555554000n;
export const hex = (v: bigint): string => `0x${v.toString(16)}`;
/** A run-time address in the executable at file address `fileAddr`. */
export const exeAddr = (fileAddr: number): string => hex(EXE_BASE + BigInt(fileAddr));

export function hello(over: Partial<HelloFrame> = {}): HelloFrame {
  return {
    type: 'hello',
    version: 1,
    pid: 4242,
    startRealtimeNs: 1764300000123456768, // 1764300000123456789 as a double
    intervalMs: 100,
    quantumUs: 10000,
    stallMs: 20,
    firstChunkBytes: 3840,
    executable: '/tmp/prog',
    stackMode: 'split',
    diskBackend: 'io_uring',
    scheduler: 'fifo',
    modules: [
      { bias: hex(EXE_BASE), start: hex(EXE_BASE), end: hex(EXE_BASE + 0x10000n), path: '/tmp/prog' },
      { bias: '0x7ffff7c00000', start: '0x7ffff7c00000', end: '0x7ffff7e00000', path: '/lib/x86_64-linux-gnu/libc.so.6' },
    ],
    args: ['/tmp/prog', '--port', '8080'],
    ...over,
  };
}

export const RESOURCES: Resources = {
  threads: 3,
  runnable: 1,
  blockedIo: 1,
  blockedDisk: 0,
  blockedSync: 0,
  sleeping: 1,
  switches: 1000,
  blockingOps: 900,
  rssBytes: 4_000_000,
  openFds: 5,
  fdLimit: 1024,
  stackAllocatedBytes: 11520,
  droppedTotal: 0,
  nodesDropped: 0,
};

export function snapshot(over: Partial<SnapshotFrame> = {}): SnapshotFrame {
  return {
    type: 'snapshot',
    seq: 1,
    dropped: 0,
    tNs: 100_000_000,
    resources: RESOURCES,
    nodeDefs: [],
    nodeStats: [],
    edgeStats: [],
    spawnSites: [],
    hotSplits: [],
    samples: [],
    stalls: [],
    threads: [],
    ...over,
  };
}

/** A snapshot with at least one record in every section. */
export function fullSnapshot(): SnapshotFrame {
  return snapshot({
    nodeDefs: [
      { id: 1, kind: 1, frames: [exeAddr(0x1234), exeAddr(0x1300)] },
      { id: 2, kind: 9, frames: [exeAddr(0x1400)] },
    ],
    nodeStats: [
      { id: 1, count: 20, waitTotalNs: 300_000_000, waitMaxNs: 16_000_000, fdDelta: 0 },
      { id: 2, count: 5, waitTotalNs: 5_000_000, waitMaxNs: 2_000_000, fdDelta: -2 },
    ],
    edgeStats: [{ from: 1, to: 1, count: 19, totalNs: 57_000_000, ewmaNs: 3_000_000, maxNs: 3_500_000 }],
    spawnSites: [
      {
        site: exeAddr(0x1500),
        threadsLive: 2,
        threadsTotal: 10,
        firstChunkBytes: 3840,
        splitFrameMax: 9500,
        chunksLinked: 12,
        allocatedBytes: 7680,
        usedBytesMax: 9000,
        usedBytesTotal: 40000,
        untouchedBytes: 20000,
      },
    ],
    // what gold has a function that calls code without split stacks ask for: 1 MiB more than its frame
    hotSplits: [{ callsite: exeAddr(0x1600), count: 50, frameBytes: 1_059_864, mapped: 0 }],
    samples: [{ id: 7, count: 3, runMaxNs: 42_000_000, frames: [exeAddr(0x1700), exeAddr(0x1800)] }],
    stalls: [
      {
        id: 9,
        syscall: 0xffffffff,
        count: 2,
        totalNs: 60_000_000,
        maxNs: 35_000_000,
        pc: '0x7ffff7c12345',
        callsite: exeAddr(0x1900),
        target: '0x7ffff7c10000',
      },
    ],
    threads: [
      { id: 1, spawnSite: '0x0', allocatedBytes: 3840, usedBytes: 1000, chunksLinked: 0, state: 2, kind: 0, name: 'main' },
      { id: 2, spawnSite: exeAddr(0x1500), allocatedBytes: 7680, usedBytes: 1000, chunksLinked: 1, state: 3, kind: 1, name: 'wörker' },
    ],
  });
}

/** A stack memory measurement following snapshot `seq` (protocol version 3). */
export const stacks = (over: Partial<StacksFrame> = {}): StacksFrame => ({
  type: 'stacks',
  seq: 1,
  tNs: 90_000_000,
  mappings: 4,
  reservedBytes: 4_210_688,
  residentBytes: 147_456,
  wasteBytes: 16_384,
  ...over,
});

export const exit = (over: Partial<ExitFrame> = {}): ExitFrame => ({ type: 'exit', how: 'exited', status: 3, tNs: 2_000_000_000, ...over });

/** Contention and wakes following snapshot `seq` (protocol version 4): node 3 waits on a mutex held by two sites, node 4 is woken. */
export const sync = (over: Partial<SyncFrame> = {}): SyncFrame => ({
  type: 'sync',
  seq: 1,
  holds: [
    { node: 3, acquire: exeAddr(0x2001), release: exeAddr(0x2101), count: 40, holdTotalNs: 200_000_000, holdMaxNs: 5_200_000, waitTotalNs: 150_000_000 },
    { node: 3, acquire: exeAddr(0x2201), release: exeAddr(0x2301), count: 2, holdTotalNs: 2_000, holdMaxNs: 1_500, waitTotalNs: 3_000 },
  ],
  wakes: [
    { node: 4, fromNode: 1, waker: exeAddr(0x2401), count: 30 },
    { node: 4, fromNode: null, waker: exeAddr(0x2401), count: 1 },
  ],
  ...over,
});
