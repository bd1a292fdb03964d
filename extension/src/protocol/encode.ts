// Encoding what tools write (docs/PROTOCOL.md): the recording header, the SYMBOLS, INLINED and
// END frames. Everything else is written by the runtime.
import { END_STOP, EXIT_HOW, FRAME_TYPE, MAX_FRAME_SIZE, RECORDING_MAGIC, type EndFrame, type InlinedEntry, type SymbolEntry } from '../../../shared/protocol.ts';

/** The 8 bytes a recording file starts with. */
export const recordingHeader = (): Buffer => Buffer.from(RECORDING_MAGIC);

/** A whole frame: size, type, flags 0, reserved 0, payload. */
export function frame(type: number, payload: Buffer): Buffer {
  const size = 4 + payload.length;
  if (size > MAX_FRAME_SIZE) throw new Error(`frame of ${size} bytes is above the ${MAX_FRAME_SIZE} byte limit`);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(size, 0);
  head.writeUInt8(type, 4);
  return Buffer.concat([head, payload]);
}

function str(s: string): Buffer {
  let bytes = Buffer.from(s, 'utf8');
  if (bytes.length > 0xffff) {
    // Cut at a character boundary so the string stays valid UTF-8.
    let end = 0xffff;
    while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
    bytes = bytes.subarray(0, end);
  }
  const len = Buffer.alloc(2);
  len.writeUInt16LE(bytes.length, 0);
  return Buffer.concat([len, bytes]);
}

/** Bytes `str` writes for `s`. */
const strSize = (s: string): number => 2 + Math.min(Buffer.byteLength(s, 'utf8'), 0xffff);

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
};

/** A `count u32` then the entries' bytes. */
const listPayload = <T>(entries: readonly T[], put: (e: T) => Buffer[]): Buffer => Buffer.concat([u32(entries.length), ...entries.flatMap(put)]);

/**
 * Frames of one type for any number of entries, each within the frame size limit (always one,
 * even for none). `size` is an entry's encoded bytes.
 */
function batched<T>(entries: readonly T[], size: (e: T) => number, encode: (batch: readonly T[]) => Buffer): Buffer[] {
  const out: Buffer[] = [];
  const HEAD = 8; // what the size field counts besides the entries: type, flags, reserved, count
  let batch: T[] = [];
  let bytes = HEAD;
  for (const e of entries) {
    const n = size(e);
    if (bytes + n > MAX_FRAME_SIZE && batch.length > 0) {
      out.push(encode(batch));
      batch = [];
      bytes = HEAD;
    }
    batch.push(e);
    bytes += n;
  }
  if (batch.length > 0 || out.length === 0) out.push(encode(batch));
  return out;
}

const symbolSize = (e: SymbolEntry): number => 16 + strSize(e.function) + strSize(e.file);

/** SYMBOLS (16): `count u32`, then per entry addr u64, own u8, reserved u8[3], line u32, function str, file str. */
export function symbolsFrame(entries: readonly SymbolEntry[]): Buffer {
  return frame(
    FRAME_TYPE.symbols,
    listPayload(entries, (e) => {
      const fixed = Buffer.alloc(16);
      fixed.writeBigUInt64LE(BigInt(e.addr), 0);
      fixed.writeUInt8(e.own ? 1 : 0, 8);
      fixed.writeUInt32LE(e.line >>> 0, 12);
      return [fixed, str(e.function), str(e.file)];
    }),
  );
}

/** SYMBOLS frames for any number of entries, each within the frame size limit. */
export const symbolsFrames = (entries: readonly SymbolEntry[]): Buffer[] => batched(entries, symbolSize, symbolsFrame);

const inlinedSize = (e: InlinedEntry): number => 10 + e.callers.reduce((n, c) => n + 4 + strSize(c.function) + strSize(c.file), 0);

/** INLINED (18): `count u32`, then per entry addr u64, callers u16, and per caller line u32, function str, file str. */
export function inlinedFrame(entries: readonly InlinedEntry[]): Buffer {
  return frame(
    FRAME_TYPE.inlined,
    listPayload(entries, (e) => {
      if (e.callers.length === 0 || e.callers.length > 0xffff) throw new Error(`inlined entry ${e.addr} has ${e.callers.length} callers (1 to 65535)`);
      const fixed = Buffer.alloc(10);
      fixed.writeBigUInt64LE(BigInt(e.addr), 0);
      fixed.writeUInt16LE(e.callers.length, 8);
      return [fixed, ...e.callers.flatMap((c) => [u32(c.line), str(c.function), str(c.file)])];
    }),
  );
}

/** INLINED frames for any number of entries (none: no frame), each within the frame size limit. */
export const inlinedFrames = (entries: readonly InlinedEntry[]): Buffer[] => (entries.length === 0 ? [] : batched(entries, inlinedSize, inlinedFrame));

/** END (17): how u8, stop u8, signal u8, reserved u8, status i32, kill_after_ms u32, unfinished_bytes u32, reason str. */
export function endFrame(e: EndFrame): Buffer {
  const fixed = Buffer.alloc(16);
  fixed.writeUInt8(EXIT_HOW[e.how], 0);
  fixed.writeUInt8(END_STOP[e.stop], 1);
  fixed.writeUInt8(e.signal, 2);
  fixed.writeInt32LE(e.status, 4);
  fixed.writeUInt32LE(e.killAfterMs, 8);
  fixed.writeUInt32LE(e.unfinishedBytes, 12);
  return frame(FRAME_TYPE.end, Buffer.concat([fixed, str(e.reason)]));
}
