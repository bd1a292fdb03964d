// Decoding the telemetry byte stream (docs/PROTOCOL.md) into validated frames.
//
// FrameDecoder is incremental: push() the bytes as they arrive, get back the frames completed
// so far and the errors of frames that were reported and skipped; end() reports a truncated
// tail. readRecording() decodes a recording file (magic "CAPREC\0\x01" then frames).
import { readFile } from 'node:fs/promises';
import {
  END_STOP,
  FRAME_TYPE,
  MAX_FRAMES,
  MAX_FRAME_SIZE,
  MIN_FRAME_SIZE,
  NO_NODE,
  PROTOCOL_VERSION,
  READABLE_VERSIONS,
  RECORDING_MAGIC,
  RESOURCE_FIELDS,
  isKindCode,
  toAddress,
  type Address,
  type DecodeError,
  type DecodedFrame,
  type EdgeStat,
  type EndFrame,
  type EndStop,
  type ExitFrame,
  type Frame,
  type HelloFrame,
  type Hold,
  type HotSplit,
  type InlinedCaller,
  type InlinedEntry,
  type InlinedFrame,
  type Module,
  type NodeDef,
  type NodeStat,
  type ResourceName,
  type Sample,
  type SnapshotFrame,
  type SpawnSite,
  type StacksFrame,
  type Stall,
  type SymbolEntry,
  type SymbolsFrame,
  type SyncFrame,
  type ThreadRow,
  type Wake,
  type WorkerRow,
  type WorkersFrame,
} from '../../../shared/protocol.ts';

export type DecodeEvent =
  | { readonly kind: 'frame'; readonly frame: DecodedFrame }
  | { readonly kind: 'error'; readonly error: DecodeError };

/** Why a payload is rejected; caught per frame. */
class PayloadError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bounds-checked little-endian reader over one frame's payload. */
class PayloadReader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.remaining < n) {
      throw new PayloadError(`payload ends inside ${what} (needs ${n} bytes at payload offset ${this.pos}, ${this.remaining} left)`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64big(what: string): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A u64 that must fit a JS number exactly (counts, ns, bytes). */
  u64(what: string): number {
    const v = this.u64big(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PayloadError(`${what} ${v} is beyond 2^53`);
    return Number(v);
  }
  i64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new PayloadError(`${what} ${v} is beyond ±2^53`);
    }
    return Number(v);
  }
  addr(what: string): Address {
    return toAddress(this.u64big(what));
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
  str(what: string): string {
    const len = this.u16(`${what} length`);
    this.need(len, what);
    const bytes = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    try {
      return utf8.decode(bytes);
    } catch {
      throw new PayloadError(`${what} is not valid UTF-8`);
    }
  }
  /** A count of records of at least minSize bytes each, checked against the bytes left. */
  count(what: string, minSize: number, width: 2 | 4 = 4): number {
    const n = width === 4 ? this.u32(`${what} count`) : this.u16(`${what} count`);
    if (n * minSize > this.remaining) {
      throw new PayloadError(`${what} count ${n} needs at least ${n * minSize} bytes, ${this.remaining} left`);
    }
    return n;
  }
  list<T>(what: string, minSize: number, read: (i: number) => T, width: 2 | 4 = 4): T[] {
    const n = this.count(what, minSize, width);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(read(i));
    return out;
  }
  finish(): void {
    if (this.remaining !== 0) throw new PayloadError(`${this.remaining} bytes left after the payload`);
  }
}

function decodeModule(r: PayloadReader, i: number): Module {
  const w = `module ${i}`;
  const bias = r.addr(`${w} bias`);
  const start = r.addr(`${w} start`);
  const end = r.addr(`${w} end`);
  const path = r.str(`${w} path`);
  if (BigInt(start) > BigInt(end)) throw new PayloadError(`${w} start ${start} is above its end ${end}`);
  return { bias, start, end, path };
}

function decodeHello(r: PayloadReader): HelloFrame {
  const version = r.u16('version');
  if (!READABLE_VERSIONS.includes(version)) {
    throw new PayloadError(`protocol version ${version} (this reader knows ${READABLE_VERSIONS.join(', ')}; the runtime writes ${PROTOCOL_VERSION})`);
  }
  r.skip(2, 'reserved');
  const pid = r.u32('pid');
  const startRealtimeNs = Number(r.u64big('start_realtime_ns'));
  const intervalMs = r.u32('intervalMs');
  const quantumUs = r.u32('quantumUs');
  const stallMs = r.u32('stallMs');
  const firstChunkBytes = r.u32('firstChunkBytes');
  const executable = r.str('executable');
  const stackMode = r.str('stackMode');
  const diskBackend = r.str('diskBackend');
  const scheduler = r.str('scheduler');
  const modules = r.list('modules', 26, (i) => decodeModule(r, i), 2);
  const args = r.list('args', 2, (i) => r.str(`arg ${i}`), 2);
  return {
    type: 'hello',
    version,
    pid,
    startRealtimeNs,
    intervalMs,
    quantumUs,
    stallMs,
    firstChunkBytes,
    executable,
    stackMode,
    diskBackend,
    scheduler,
    modules,
    args,
  };
}

function frames(r: PayloadReader, n: number, what: string): Address[] {
  if (n > MAX_FRAMES) throw new PayloadError(`${what} has ${n} frames (at most ${MAX_FRAMES})`);
  const out: Address[] = [];
  for (let i = 0; i < n; i++) out.push(r.addr(`${what} frame ${i}`));
  return out;
}

function decodeNodeDef(r: PayloadReader, i: number): NodeDef {
  const w = `nodeDefs[${i}]`;
  const id = r.u32(`${w} id`);
  const kind = r.u8(`${w} kind`);
  if (!isKindCode(kind)) throw new PayloadError(`${w} has unknown kind ${kind}`);
  const nframes = r.u8(`${w} nframes`);
  r.skip(2, `${w} reserved`);
  return { id, kind, frames: frames(r, nframes, w) };
}

function decodeNodeStat(r: PayloadReader, i: number): NodeStat {
  const w = `nodeStats[${i}]`;
  const id = r.u32(`${w} id`);
  r.skip(4, `${w} reserved`);
  return {
    id,
    count: r.u64(`${w} count`),
    waitTotalNs: r.u64(`${w} waitTotalNs`),
    waitMaxNs: r.u64(`${w} waitMaxNs`),
    fdDelta: r.i64(`${w} fdDelta`),
  };
}

function decodeEdgeStat(r: PayloadReader, i: number): EdgeStat {
  const w = `edgeStats[${i}]`;
  return {
    from: r.u32(`${w} from`),
    to: r.u32(`${w} to`),
    count: r.u64(`${w} count`),
    totalNs: r.u64(`${w} totalNs`),
    ewmaNs: r.u64(`${w} ewmaNs`),
    maxNs: r.u64(`${w} maxNs`),
  };
}

function decodeSpawnSite(r: PayloadReader, i: number): SpawnSite {
  const w = `spawnSites[${i}]`;
  const site = r.addr(`${w} site`);
  const threadsLive = r.u32(`${w} threadsLive`);
  const threadsTotal = r.u32(`${w} threadsTotal`);
  const firstChunkBytes = r.u32(`${w} firstChunkBytes`);
  const splitFrameMax = r.u32(`${w} splitFrameMax`);
  return {
    site,
    threadsLive,
    threadsTotal,
    firstChunkBytes,
    splitFrameMax,
    chunksLinked: r.u64(`${w} chunksLinked`),
    allocatedBytes: r.u64(`${w} allocatedBytes`),
    usedBytesMax: r.u64(`${w} usedBytesMax`),
    usedBytesTotal: r.u64(`${w} usedBytesTotal`),
    untouchedBytes: r.u64(`${w} untouchedBytes`),
  };
}

function decodeHotSplit(r: PayloadReader, i: number): HotSplit {
  const w = `hotSplits[${i}]`;
  const callsite = r.addr(`${w} callsite`);
  const count = r.u64(`${w} count`);
  const frameBytes = r.u32(`${w} frameBytes`);
  const mapped = r.u32(`${w} mapped`);
  return { callsite, count, frameBytes, mapped };
}

function decodeSample(r: PayloadReader, i: number): Sample {
  const w = `samples[${i}]`;
  const id = r.u32(`${w} id`);
  const nframes = r.u8(`${w} nframes`);
  r.skip(3, `${w} reserved`);
  const count = r.u64(`${w} count`);
  const runMaxNs = r.u64(`${w} runMaxNs`);
  return { id, count, runMaxNs, frames: frames(r, nframes, w) };
}

function decodeStall(r: PayloadReader, i: number): Stall {
  const w = `stalls[${i}]`;
  return {
    id: r.u32(`${w} id`),
    syscall: r.u32(`${w} syscall`),
    count: r.u64(`${w} count`),
    totalNs: r.u64(`${w} totalNs`),
    maxNs: r.u64(`${w} maxNs`),
    pc: r.addr(`${w} pc`),
    callsite: r.addr(`${w} callsite`),
    target: r.addr(`${w} target`),
  };
}

function decodeThreadRow(r: PayloadReader, i: number): ThreadRow {
  const w = `threads[${i}]`;
  const id = r.u64(`${w} id`);
  const spawnSite = r.addr(`${w} spawnSite`);
  const allocatedBytes = r.u64(`${w} allocatedBytes`);
  const usedBytes = r.u64(`${w} usedBytes`);
  const chunksLinked = r.u32(`${w} chunksLinked`);
  const state = r.u8(`${w} state`);
  if (state !== 1 && state !== 2 && state !== 3) throw new PayloadError(`${w} has unknown state ${state}`);
  const kind = r.u8(`${w} kind`);
  if (kind !== 0 && !isKindCode(kind)) throw new PayloadError(`${w} has unknown kind ${kind}`);
  r.skip(2, `${w} reserved`);
  const name = r.str(`${w} name`);
  return { id, spawnSite, allocatedBytes, usedBytes, chunksLinked, state, kind, name };
}

function decodeSnapshot(r: PayloadReader): SnapshotFrame {
  const seq = r.u32('seq');
  const dropped = r.u32('dropped');
  const tNs = r.u64('tNs');
  const resources = {} as Record<ResourceName, number>;
  for (const f of RESOURCE_FIELDS) resources[f.name] = r[f.width](f.name);
  const nodeDefs = r.list('nodeDefs', 8, (i) => decodeNodeDef(r, i));
  const nodeStats = r.list('nodeStats', 40, (i) => decodeNodeStat(r, i));
  const edgeStats = r.list('edgeStats', 40, (i) => decodeEdgeStat(r, i));
  const spawnSites = r.list('spawnSites', 64, (i) => decodeSpawnSite(r, i));
  const hotSplits = r.list('hotSplits', 24, (i) => decodeHotSplit(r, i));
  const samples = r.list('samples', 24, (i) => decodeSample(r, i));
  const stalls = r.list('stalls', 56, (i) => decodeStall(r, i));
  const threads = r.list('threads', 42, (i) => decodeThreadRow(r, i));
  return {
    type: 'snapshot',
    seq,
    dropped,
    tNs,
    resources,
    nodeDefs,
    nodeStats,
    edgeStats,
    spawnSites,
    hotSplits,
    samples,
    stalls,
    threads,
  };
}

function decodeExit(r: PayloadReader): ExitFrame {
  const how = r.u8('how');
  if (how !== 0 && how !== 1) throw new PayloadError(`unknown exit how ${how}`);
  r.skip(3, 'reserved');
  const status = r.i32('status');
  const tNs = r.u64('tNs');
  return { type: 'exit', how: how === 0 ? 'exited' : 'signaled', status, tNs };
}

function decodeWorkers(r: PayloadReader): WorkersFrame {
  const seq = r.u32('seq');
  const workers = r.list('workers', 48, (i): WorkerRow => {
    const w = `workers[${i}]`;
    const id = r.u32(`${w} id`);
    const runnable = r.u32(`${w} runnable`);
    const threads = r.u32(`${w} threads`);
    r.skip(4, 'reserved');
    const busyNs = r.u64(`${w} busyNs`);
    const parkedNs = r.u64(`${w} parkedNs`);
    const switches = r.u64(`${w} switches`);
    const steals = r.u64(`${w} steals`);
    const migrations = r.u64(`${w} migrations`);
    return { id, runnable, threads, busyNs, parkedNs, switches, steals, migrations };
  });
  return { type: 'workers', seq, workers };
}

function decodeStacks(r: PayloadReader): StacksFrame {
  // (read in wire order: an object literal's values are evaluated in the order written)
  return {
    type: 'stacks',
    seq: r.u32('seq'),
    mappings: r.u32('mappings'),
    tNs: r.u64('tNs'),
    reservedBytes: r.u64('reservedBytes'),
    residentBytes: r.u64('residentBytes'),
    wasteBytes: r.u64('wasteBytes'),
  };
}

function decodeHold(r: PayloadReader, i: number): Hold {
  const w = `holds[${i}]`;
  const node = r.u32(`${w} node`);
  r.skip(4, `${w} reserved`);
  return {
    node,
    acquire: r.addr(`${w} acquire`),
    release: r.addr(`${w} release`),
    count: r.u64(`${w} count`),
    holdTotalNs: r.u64(`${w} holdTotalNs`),
    holdMaxNs: r.u64(`${w} holdMaxNs`),
    waitTotalNs: r.u64(`${w} waitTotalNs`),
  };
}

function decodeWake(r: PayloadReader, i: number): Wake {
  const w = `wakes[${i}]`;
  const node = r.u32(`${w} node`);
  const from = r.u32(`${w} fromNode`);
  return { node, fromNode: from === NO_NODE ? null : from, waker: r.addr(`${w} waker`), count: r.u64(`${w} count`) };
}

function decodeSync(r: PayloadReader): SyncFrame {
  const seq = r.u32('seq');
  const holds = r.list('holds', 56, (i) => decodeHold(r, i));
  const wakes = r.list('wakes', 24, (i) => decodeWake(r, i));
  return { type: 'sync', seq, holds, wakes };
}

function decodeSymbols(r: PayloadReader): SymbolsFrame {
  const symbols = r.list('symbols', 20, (i): SymbolEntry => {
    const w = `symbols[${i}]`;
    const addr = r.addr(`${w} addr`);
    const own = r.u8(`${w} own`);
    if (own > 1) throw new PayloadError(`${w} own is ${own} (0 or 1)`);
    r.skip(3, `${w} reserved`);
    const line = r.u32(`${w} line`);
    const fn = r.str(`${w} function`);
    const file = r.str(`${w} file`);
    return { addr, own: own === 1, line, function: fn, file };
  });
  return { type: 'symbols', symbols };
}

function decodeInlined(r: PayloadReader): InlinedFrame {
  const inlined = r.list('inlined', 18, (i): InlinedEntry => {
    const w = `inlined[${i}]`;
    const addr = r.addr(`${w} addr`);
    const callers = r.list(
      `${w} callers`,
      8,
      (j): InlinedCaller => {
        const c = `${w} callers[${j}]`;
        const line = r.u32(`${c} line`);
        const fn = r.str(`${c} function`);
        const file = r.str(`${c} file`);
        return { line, function: fn, file };
      },
      2,
    );
    // An entry is written only for an address inlined into something: none is a broken writer.
    if (callers.length === 0) throw new PayloadError(`${w} (${addr}) has no callers`);
    return { addr, callers };
  });
  return { type: 'inlined', inlined };
}

const END_STOPS = Object.keys(END_STOP) as EndStop[];

function decodeEnd(r: PayloadReader): EndFrame {
  const how = r.u8('how');
  if (how !== 0 && how !== 1) throw new PayloadError(`unknown end how ${how}`);
  const stopCode = r.u8('stop');
  const stop = END_STOPS[stopCode];
  if (stop === undefined) throw new PayloadError(`unknown end stop ${stopCode}`);
  const signal = r.u8('signal');
  r.skip(1, 'reserved');
  const status = r.i32('status');
  const killAfterMs = r.u32('killAfterMs');
  const unfinishedBytes = r.u32('unfinishedBytes');
  const reason = r.str('reason');
  return { type: 'end', how: how === 0 ? 'exited' : 'signaled', status, stop, signal, killAfterMs, unfinishedBytes, reason };
}

/** Decodes one frame's payload (the bytes after type/flags/reserved); throws PayloadError. */
function decodePayload(type: number, payload: Buffer): Frame | undefined {
  const r = new PayloadReader(payload);
  let frame: Frame;
  switch (type) {
    case FRAME_TYPE.hello:
      frame = decodeHello(r);
      break;
    case FRAME_TYPE.snapshot:
      frame = decodeSnapshot(r);
      break;
    case FRAME_TYPE.exit:
      frame = decodeExit(r);
      break;
    case FRAME_TYPE.workers:
      frame = decodeWorkers(r);
      break;
    case FRAME_TYPE.stacks:
      frame = decodeStacks(r);
      break;
    case FRAME_TYPE.sync:
      frame = decodeSync(r);
      break;
    case FRAME_TYPE.symbols:
      frame = decodeSymbols(r);
      break;
    case FRAME_TYPE.end:
      frame = decodeEnd(r);
      break;
    case FRAME_TYPE.inlined:
      frame = decodeInlined(r);
      break;
    default:
      return undefined;
  }
  r.finish();
  return frame;
}

/** Decodes one complete frame body (type byte onwards) that started at `offset`. */
export function decodeFrameBody(offset: number, size: number, body: Buffer): DecodeEvent {
  const type = body.readUInt8(0);
  try {
    const frame = decodePayload(type, body.subarray(4));
    if (frame === undefined) {
      return { kind: 'error', error: { offset, type, size, reason: `unknown frame type ${type}` } };
    }
    return { kind: 'frame', frame: { offset, frame } };
  } catch (err) {
    if (!(err instanceof PayloadError)) throw err;
    return { kind: 'error', error: { offset, type, size, reason: err.message } };
  }
}

/**
 * Incremental decoder: push() chunks as they arrive, end() when the stream is over.
 * `baseOffset` is the stream offset of the first byte pushed (8 in a recording file).
 */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);
  /** stream offset of pending[0] */
  private offset: number;
  /** bytes still to discard of a frame whose size is out of bounds */
  private discard = 0;
  private discardStart = 0;

  constructor(baseOffset = 0) {
    this.offset = baseOffset;
  }

  /** Bytes consumed so far (stream offset of the next byte not yet decoded). */
  get position(): number {
    return this.offset;
  }

  push(chunk: Buffer): DecodeEvent[] {
    const out: DecodeEvent[] = [];
    let data = chunk;
    if (this.discard > 0) {
      const n = Math.min(this.discard, data.length);
      this.discard -= n;
      this.offset += n;
      data = data.subarray(n);
      if (data.length === 0) return out;
    }
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    let pos = 0;
    while (this.pending.length - pos >= 4) {
      const start = this.offset;
      const size = this.pending.readUInt32LE(pos);
      if (size < MIN_FRAME_SIZE || size > MAX_FRAME_SIZE) {
        out.push({
          kind: 'error',
          error: { offset: start, size, reason: `frame size ${size} is out of bounds (${MIN_FRAME_SIZE}..${MAX_FRAME_SIZE})` },
        });
        // Skip what the size field claims, without buffering it.
        const avail = this.pending.length - pos - 4;
        const n = Math.min(size, avail);
        pos += 4 + n;
        this.offset += 4 + n;
        if (n < size) {
          this.discard = size - n;
          this.discardStart = start;
          break;
        }
        continue;
      }
      if (this.pending.length - pos - 4 < size) break;
      const body = this.pending.subarray(pos + 4, pos + 4 + size);
      out.push(decodeFrameBody(start, size, body));
      pos += 4 + size;
      this.offset += 4 + size;
    }
    this.pending = this.pending.subarray(pos);
    if (this.discard > 0 && this.pending.length > 0) {
      // Cannot happen: discard is set only when all pending bytes were consumed.
      this.pending = Buffer.alloc(0);
    }
    return out;
  }

  /** The stream is over: a frame it ended inside is reported as truncated. */
  end(): DecodeError | undefined {
    if (this.discard > 0) {
      return { offset: this.discardStart, reason: `truncated: the stream ends inside a skipped frame (${this.discard} bytes missing)` };
    }
    if (this.pending.length === 0) return undefined;
    const size = this.pending.length >= 4 ? this.pending.readUInt32LE(0) : undefined;
    const type = this.pending.length >= 5 ? this.pending.readUInt8(4) : undefined;
    const reason =
      size === undefined
        ? `truncated: the stream ends inside a frame header (${this.pending.length} of 4 size bytes)`
        : `truncated: the stream ends inside a frame (${this.pending.length - 4} of ${size} bytes)`;
    return { offset: this.offset, ...(type !== undefined ? { type } : {}), ...(size !== undefined ? { size } : {}), reason };
  }
}

export interface Recording {
  readonly path: string;
  readonly frames: DecodedFrame[];
  /** frames reported and skipped (the truncated tail is in `truncated`, not here) */
  readonly errors: DecodeError[];
  /** the file ends inside a frame: everything before it stands */
  readonly truncated?: DecodeError;
}

/** Error thrown for a file that cannot be read as a recording; message names the file. */
export class RecordingError extends Error {}

/** Decodes a recording held in memory; throws RecordingError when it is not a recording. */
export function decodeRecording(path: string, bytes: Buffer): Recording {
  if (bytes.length < RECORDING_MAGIC.length || !bytes.subarray(0, RECORDING_MAGIC.length).equals(RECORDING_MAGIC)) {
    throw new RecordingError(`${path}: not a Capriccio recording (bad magic)`);
  }
  const decoder = new FrameDecoder(RECORDING_MAGIC.length);
  const frames: DecodedFrame[] = [];
  const errors: DecodeError[] = [];
  for (const e of decoder.push(bytes.subarray(RECORDING_MAGIC.length))) {
    if (e.kind === 'frame') frames.push(e.frame);
    else errors.push(e.error);
  }
  const truncated = decoder.end();
  return { path, frames, errors, ...(truncated ? { truncated } : {}) };
}

/** Reads and decodes a recording file; throws RecordingError (one line naming the file). */
export async function readRecording(path: string): Promise<Recording> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new RecordingError(`${path}: ${why}`);
  }
  return decodeRecording(path, bytes);
}
