// Encoding what tools write (docs/PROTOCOL.md): the recording header, the SYMBOLS and END
// frames. Everything else is written by the runtime.
import { END_STOP, EXIT_HOW, FRAME_TYPE, MAX_FRAME_SIZE, RECORDING_MAGIC, type EndFrame, type SymbolEntry } from './types.ts';

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

/** SYMBOLS (16): `count u32`, then per entry addr u64, own u8, reserved u8[3], line u32, function str, file str. */
export function symbolsFrame(entries: readonly SymbolEntry[]): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  count.writeUInt32LE(entries.length, 0);
  parts.push(count);
  for (const e of entries) {
    const fixed = Buffer.alloc(16);
    fixed.writeBigUInt64LE(BigInt(e.addr), 0);
    fixed.writeUInt8(e.own ? 1 : 0, 8);
    fixed.writeUInt32LE(e.line >>> 0, 12);
    parts.push(fixed, str(e.function), str(e.file));
  }
  return frame(FRAME_TYPE.symbols, Buffer.concat(parts));
}

/** SYMBOLS frames for any number of entries, each within the frame size limit. */
export function symbolsFrames(entries: readonly SymbolEntry[]): Buffer[] {
  const out: Buffer[] = [];
  let batch: SymbolEntry[] = [];
  let bytes = 8;
  for (const e of entries) {
    const size = 20 + Math.min(Buffer.byteLength(e.function), 0xffff) + Math.min(Buffer.byteLength(e.file), 0xffff);
    if (bytes + size > MAX_FRAME_SIZE && batch.length > 0) {
      out.push(symbolsFrame(batch));
      batch = [];
      bytes = 8;
    }
    batch.push(e);
    bytes += size;
  }
  if (batch.length > 0 || out.length === 0) out.push(symbolsFrame(batch));
  return out;
}

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
