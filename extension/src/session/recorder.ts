// Writing a recording file: the magic, then every byte received, as it arrives; at the end,
// optionally a tool-written frame (END) after them.
import { createWriteStream, type WriteStream } from 'node:fs';
import { appendFile, truncate } from 'node:fs/promises';
import { recordingHeader } from '../protocol/encode.ts';

export interface RecorderEnd {
  /** a tool-written frame to append after everything received */
  readonly append: Buffer;
  /**
   * stream offset where a frame the program did not finish begins: the file is cut back to it
   * first, since a frame appended after a cut one would be read as the rest of it
   */
  readonly cutAt?: number;
}

export class Recorder {
  private readonly stream: WriteStream;
  private readonly headerBytes: number;
  private failure: Error | undefined;
  bytes = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'w', mode: 0o644 });
    this.stream.on('error', (err) => {
      this.failure ??= err;
    });
    const header = recordingHeader();
    this.headerBytes = header.length;
    this.stream.write(header);
  }

  /** Appends received bytes (already-buffered data is written even if the process ends). */
  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.stream.write(chunk);
  }

  /** Flushes and closes, then writes `end` if given; rejects if any write failed. */
  async close(end?: RecorderEnd): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.stream.closed) resolve();
      else this.stream.end(() => resolve());
    });
    if (this.failure) throw new Error(`${this.path}: ${this.failure.message}`);
    if (!end) return;
    try {
      if (end.cutAt !== undefined && end.cutAt < this.bytes) await truncate(this.path, this.headerBytes + end.cutAt);
      await appendFile(this.path, end.append);
    } catch (err) {
      throw new Error(`${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }
}
