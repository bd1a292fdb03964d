// The telemetry protocol (docs/PROTOCOL.md, version 4) as TypeScript types: one definition of
// every frame and record the runtime sends and the tools write. In shared/ because both sides
// use it (the decoder in extension/src/protocol/, the webview's ViewData): so no Node types here
// (bytes are Uint8Array), and it imports nothing.
//
// Representation of values (the shape of protocol/fixtures/*.json, written by
// runtime/tests/gen_fixtures.c):
// - Field names are the protocol's, in camelCase (`wait_total_ns` → `waitTotalNs`);
//   `reserved` fields are not checked and left out.
// - Addresses (frames, sites, call sites, pcs, module bias/start/end) are lowercase hex strings
//   without padding: "0x55d0c0a01234" (0 is "0x0"). See `Address`.
// - Other u64 values (counts, ns, bytes, thread ids) are JS numbers: they stay below
//   Number.MAX_SAFE_INTEGER (2^53 ns is 104 days); a larger value makes its frame invalid.
// - `startRealtimeNs` (ns since the epoch, above 2^53) is a number too: the nearest double, as
//   JSON.parse reads the fixtures (within 256 ns; the field is a wall-clock anchor only).
// - EXIT `how` is its name: 'exited' (0) or 'signaled' (1).
// - The snapshot header's resource figures are grouped in `resources` (its `threads` field, the
//   live thread count, would otherwise clash with the `threads` section).
// - END `stop` is its name: 'none' (0), 'asked' (1) or 'killed' (2); its `how` as EXIT's.
// - `own` in SYMBOLS is a boolean; `syscall` in stalls is the u32 as sent (SYSCALL_UNKNOWN
//   = 0xffffffff when unknown).
// - SYNC's `from_node` is a node id, or null for NO_NODE (0xffffffff: the waker had not blocked).

/** A run-time address: lowercase hex with a 0x prefix, no padding ("0x401136"). */
export type Address = string;

/** The version the runtime writes now (2: WORKERS frames; 3: STACKS frames; 4: SYNC frames); a reader also takes older ones. */
export const PROTOCOL_VERSION = 4;
/** Versions this reader decodes: 1 is the same stream without WORKERS frames, 2 without STACKS frames, 3 without SYNC frames. */
export const READABLE_VERSIONS: readonly number[] = [1, 2, 3, 4];
/** The first version whose runtime measures its stack memory (STACKS frames). */
export const STACKS_VERSION = 3;
/** The first version whose runtime records lock hand-overs and wakes (SYNC frames). */
export const SYNC_VERSION = 4;
/** The 8 bytes that start a recording file: "CAPREC", 0, 1. */
export const RECORDING_MAGIC: Uint8Array = new Uint8Array([0x43, 0x41, 0x50, 0x52, 0x45, 0x43, 0x00, 0x01]);
/** Bounds of a frame's size field (bytes after it). */
export const MIN_FRAME_SIZE = 4;
export const MAX_FRAME_SIZE = 16 * 1024 * 1024;
/** At most this many frames in a node definition or a sample. */
export const MAX_FRAMES = 16;
export const SYSCALL_UNKNOWN = 0xffffffff;
/** SYNC `from_node` on the wire when the waker had no blocking point (decoded as null). */
export const NO_NODE = 0xffffffff;

export const FRAME_TYPE = {
  hello: 1,
  snapshot: 2,
  exit: 3,
  workers: 4,
  stacks: 5,
  sync: 6,
  symbols: 16,
  end: 17,
  inlined: 18,
} as const;
export type FrameTypeName = keyof typeof FRAME_TYPE;
export type FrameTypeCode = (typeof FRAME_TYPE)[FrameTypeName];

/** What a blocking point (or a waiting thread) waits on. */
export const KIND = {
  sleep: 1,
  join: 2,
  mutex: 3,
  condvar: 4,
  semaphore: 5,
  rwlock: 6,
  wait_queue: 7,
  channel: 8,
  io: 9,
  poll: 10,
  disk: 11,
  once: 12,
  yield: 13,
  external: 14,
} as const;
export type KindName = keyof typeof KIND;
export type KindCode = (typeof KIND)[KindName];

const KIND_NAMES = new Map<number, KindName>(
  (Object.entries(KIND) as [KindName, KindCode][]).map(([name, code]) => [code, name]),
);
export const isKindCode = (n: number): n is KindCode => KIND_NAMES.has(n);
/** "sleep" for 1 ...; "none" for 0 (a thread that waits on nothing); "kind N" otherwise. */
export const kindName = (n: number): string => KIND_NAMES.get(n) ?? (n === 0 ? 'none' : `kind ${n}`);

/** Thread states of the threads section. */
export const THREAD_STATE = { runnable: 1, running: 2, blocked: 3 } as const;
export type ThreadStateCode = (typeof THREAD_STATE)[keyof typeof THREAD_STATE];

/** EXIT `how` on the wire, and its decoded name. */
export const EXIT_HOW = { exited: 0, signaled: 1 } as const;
export type ExitHow = keyof typeof EXIT_HOW;

export interface Module {
  /** file address = run-time address − bias */
  readonly bias: Address;
  readonly start: Address;
  /** one past the highest address of its loaded segments */
  readonly end: Address;
  readonly path: string;
}

export interface HelloFrame {
  readonly type: 'hello';
  readonly version: number;
  readonly pid: number;
  /** ns since the epoch: above 2^53, so the nearest double (within 256 ns) */
  readonly startRealtimeNs: number;
  readonly intervalMs: number;
  readonly quantumUs: number;
  readonly stallMs: number;
  readonly firstChunkBytes: number;
  readonly executable: string;
  readonly stackMode: string;
  readonly diskBackend: string;
  readonly scheduler: string;
  /** executable first */
  readonly modules: readonly Module[];
  readonly args: readonly string[];
}

/**
 * The snapshot header's figures after seq/dropped/tNs, in wire order, with their width: the one
 * list the decoder reads, `Resources` is typed from and the view's history keeps (`history`: a
 * series over time in ViewData; the others are shown as totals or not at all).
 */
export const RESOURCE_FIELDS = [
  { name: 'threads', width: 'u32', history: true },
  { name: 'runnable', width: 'u32', history: true },
  { name: 'blockedIo', width: 'u32', history: true },
  { name: 'blockedDisk', width: 'u32', history: true },
  { name: 'blockedSync', width: 'u32', history: true },
  { name: 'sleeping', width: 'u32', history: true },
  { name: 'switches', width: 'u64', history: false },
  { name: 'blockingOps', width: 'u64', history: false },
  { name: 'rssBytes', width: 'u64', history: true },
  { name: 'openFds', width: 'u32', history: true },
  { name: 'fdLimit', width: 'u32', history: true },
  { name: 'stackAllocatedBytes', width: 'u64', history: true },
  { name: 'droppedTotal', width: 'u32', history: true },
  { name: 'nodesDropped', width: 'u32', history: false },
] as const;
type ResourceField = (typeof RESOURCE_FIELDS)[number];
export type ResourceName = ResourceField['name'];

/** The snapshot header's figures after seq/dropped/tNs. */
export type Resources = { readonly [K in ResourceName]: number };

/** The resource figures kept over time in a view. */
export type HistoryName = Extract<ResourceField, { readonly history: true }>['name'];
export const HISTORY_FIELDS: readonly HistoryName[] = RESOURCE_FIELDS.flatMap((f) => (f.history ? [f.name] : []));

export interface NodeDef {
  readonly id: number;
  readonly kind: KindCode;
  /** return addresses, innermost first */
  readonly frames: readonly Address[];
}

export interface NodeStat {
  readonly id: number;
  readonly count: number;
  readonly waitTotalNs: number;
  readonly waitMaxNs: number;
  readonly fdDelta: number;
}

export interface EdgeStat {
  readonly from: number;
  readonly to: number;
  readonly count: number;
  readonly totalNs: number;
  readonly ewmaNs: number;
  readonly maxNs: number;
}

export interface SpawnSite {
  readonly site: Address;
  readonly threadsLive: number;
  readonly threadsTotal: number;
  readonly firstChunkBytes: number;
  /** Largest frame a split of these threads asked for (a call into code without split stacks asks for ~1 MiB). */
  readonly splitFrameMax: number;
  readonly chunksLinked: number;
  readonly allocatedBytes: number;
  readonly usedBytesMax: number;
  readonly usedBytesTotal: number;
  /**
   * Address space of finished threads' stacks that they never touched (allocated minus
   * high-water): never resident, so it cost no memory. (`waste_bytes` before version 3.)
   */
  readonly untouchedBytes: number;
}

export interface HotSplit {
  readonly callsite: Address;
  readonly count: number;
  readonly frameBytes: number;
  /** of `count`, the splits that mapped a chunk (a system call): no chunk kept or pooled fitted; 0 and unknown before version 3 */
  readonly mapped: number;
}

export interface Sample {
  readonly id: number;
  readonly count: number;
  readonly runMaxNs: number;
  /** frames[0] is the interrupted pc; the others are return addresses */
  readonly frames: readonly Address[];
}

export interface Stall {
  readonly id: number;
  /** system call number, SYSCALL_UNKNOWN when unknown */
  readonly syscall: number;
  readonly count: number;
  readonly totalNs: number;
  readonly maxNs: number;
  readonly pc: Address;
  /** "0x0" if none found */
  readonly callsite: Address;
  /** "0x0" if unknown */
  readonly target: Address;
}

export interface ThreadRow {
  readonly id: number;
  readonly spawnSite: Address;
  readonly allocatedBytes: number;
  /** its stack high-water so far */
  readonly usedBytes: number;
  readonly chunksLinked: number;
  readonly state: ThreadStateCode;
  /** as for nodes; 0 none */
  readonly kind: number;
  readonly name: string;
}

export interface SnapshotFrame {
  readonly type: 'snapshot';
  readonly seq: number;
  readonly dropped: number;
  readonly tNs: number;
  readonly resources: Resources;
  readonly nodeDefs: readonly NodeDef[];
  readonly nodeStats: readonly NodeStat[];
  readonly edgeStats: readonly EdgeStat[];
  readonly spawnSites: readonly SpawnSite[];
  readonly hotSplits: readonly HotSplit[];
  readonly samples: readonly Sample[];
  readonly stalls: readonly Stall[];
  readonly threads: readonly ThreadRow[];
}

/** One worker's figures, cumulative since it began (WORKERS). */
export interface WorkerRow {
  readonly id: number;
  /** its run-queue length now */
  readonly runnable: number;
  /** user threads it owns now */
  readonly threads: number;
  /** time not parked: running threads or the scheduler (busy + parked = its lifetime) */
  readonly busyNs: number;
  /** time waiting in the kernel with nothing to run */
  readonly parkedNs: number;
  readonly switches: number;
  /** threads it took from another worker's run queue */
  readonly steals: number;
  /** threads that came to run on it from another worker */
  readonly migrations: number;
}

/** Per-worker figures, sent after the snapshot `seq` (version 2). */
export interface WorkersFrame {
  readonly type: 'workers';
  readonly seq: number;
  readonly workers: readonly WorkerRow[];
}

/**
 * The stack memory as the kernel holds it (version 3), sent after the snapshot `seq`: measured by
 * the runtime's telemetry thread with mincore(2) over every stack mapping, about once a second.
 */
export interface StacksFrame {
  readonly type: 'stacks';
  readonly seq: number;
  /** monotonic ns since the program started, when the measurement was taken */
  readonly tNs: number;
  /** stack mappings measured */
  readonly mappings: number;
  /**
   * address space of every stack mapping: the slabs first chunks are carved from, the chunks
   * linked for split calls (of live threads, of the workers' pools and of freed threads) and
   * fixed-mode stacks
   */
  readonly reservedBytes: number;
  /** of that, the bytes in memory (mincore) */
  readonly residentBytes: number;
  /**
   * resident bytes no live thread holds: first chunks free in their slabs, and the resident
   * pages of chunks in the workers' pools (memory kept for reuse)
   */
  readonly wasteBytes: number;
}

/**
 * A wait at a lock that ended when its holder handed the lock over (SYNC, version 4), cumulative
 * per waiting point, holder's acquisition site and holder's release site.
 */
export interface Hold {
  /** the waiting blocking point (a node id) */
  readonly node: number;
  /** return address of the holder's lock call: where it acquired what it held */
  readonly acquire: Address;
  /** return address of the holder's unlock or post that handed it to the waiter */
  readonly release: Address;
  /** waits at `node` that ended by such a hand-over */
  readonly count: number;
  /** the holder's holds, from its acquisition to that release */
  readonly holdTotalNs: number;
  readonly holdMaxNs: number;
  /** the waits at `node` that ended so */
  readonly waitTotalNs: number;
}

/** Threads blocked at `node` made runnable by another thread's call at `waker` (SYNC, version 4), cumulative. */
export interface Wake {
  /** the woken blocking point */
  readonly node: number;
  /** the waker's last blocking point (its current run started there); null: it had not blocked yet */
  readonly fromNode: number | null;
  /**
   * return address of the call that made it runnable (a signal, broadcast, unlock, post, exit);
   * for a thread that returned from its start function, that function's address + 1, so that
   * looking it up as a return address (− 1) names the function
   */
  readonly waker: Address;
  readonly count: number;
}

/** Contention and wakes, sent after the snapshot `seq` (version 4); cumulative: a record replaces the previous one of its key. */
export interface SyncFrame {
  readonly type: 'sync';
  readonly seq: number;
  readonly holds: readonly Hold[];
  readonly wakes: readonly Wake[];
}

export interface ExitFrame {
  readonly type: 'exit';
  readonly how: ExitHow;
  /** exit code or signal number */
  readonly status: number;
  readonly tNs: number;
}

/** END `stop` on the wire, and its decoded name: what the tool that launched the program did to end it. */
export const END_STOP = { none: 0, asked: 1, killed: 2 } as const;
export type EndStop = keyof typeof END_STOP;

/**
 * How a launched program ended, as the tool that launched it saw it (tool-written, after every
 * byte the program sent): its wait status, and whether the tool stopped it and how.
 */
export interface EndFrame {
  readonly type: 'end';
  /** as the tool's waitpid saw it */
  readonly how: ExitHow;
  /** exit code or signal number */
  readonly status: number;
  /**
   * none: it ended on its own; asked: the tool sent it `signal` and it ended within
   * `killAfterMs`; killed: it had not, and the tool ended it with SIGKILL
   */
  readonly stop: EndStop;
  /** the signal the tool sent first (0 when stop is none) */
  readonly signal: number;
  /** the time allowed between `signal` and SIGKILL (0 when stop is none) */
  readonly killAfterMs: number;
  /** bytes of a frame the program had begun and not finished sending, cut from the recording so that this frame can follow */
  readonly unfinishedBytes: number;
  /** why the tool stopped it, completing "sent when …" (e.g. "--duration 5 ended"); empty when stop is none */
  readonly reason: string;
}

export interface SymbolEntry {
  /** the address described (for a return address, the tool wrote the call's address − 1 entry: see symbols.ts) */
  readonly addr: Address;
  readonly own: boolean;
  readonly line: number;
  readonly function: string;
  readonly file: string;
}

export interface SymbolsFrame {
  readonly type: 'symbols';
  readonly symbols: readonly SymbolEntry[];
}

/** A function an address's code was inlined into, and the line of that inlined call. */
export interface InlinedCaller {
  readonly line: number;
  readonly function: string;
  readonly file: string;
}

/**
 * The rest of an address's inline chain: its SYMBOLS entry (same `addr`) is the innermost
 * location, `callers` every location out from it, as `addr2line -i` lists them.
 */
export interface InlinedEntry {
  readonly addr: Address;
  /** innermost first; at least one */
  readonly callers: readonly InlinedCaller[];
}

/** Tool-written beside SYMBOLS, in a frame of its own so that older readers skip it whole. */
export interface InlinedFrame {
  readonly type: 'inlined';
  readonly inlined: readonly InlinedEntry[];
}

export type Frame = HelloFrame | SnapshotFrame | WorkersFrame | StacksFrame | SyncFrame | ExitFrame | SymbolsFrame | EndFrame | InlinedFrame;

/** A frame and where it started in the stream (offset of its size field). */
export interface DecodedFrame {
  readonly offset: number;
  readonly frame: Frame;
}

/** A frame that was reported and skipped, or the truncated tail of a stream. */
export interface DecodeError {
  /** stream offset of the frame's size field */
  readonly offset: number;
  /** the frame's type byte, when it was read */
  readonly type?: number;
  /** the frame's size field, when it was read */
  readonly size?: number;
  readonly reason: string;
}

/** Address helpers: hex strings ⇄ bigint. */
export const toAddress = (v: bigint): Address => `0x${v.toString(16)}`;
export const addressValue = (a: Address): bigint => BigInt(a);
export const NULL_ADDRESS: Address = '0x0';
