// Writing a recording file: the magic, then every byte received, as it arrives.
import { createWriteStream, type WriteStream } from 'node:fs';
import { recordingHeader } from '../protocol/encode.ts';

export class Recorder {
  private readonly stream: WriteStream;
  private failure: Error | undefined;
  bytes = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'w', mode: 0o644 });
    this.stream.on('error', (err) => {
      this.failure ??= err;
    });
    this.stream.write(recordingHeader());
  }

  /** Appends received bytes (already-buffered data is written even if the process ends). */
  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.stream.write(chunk);
  }

  /** Flushes and closes; rejects if any write failed. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.stream.closed) {
        if (this.failure) reject(new Error(`${this.path}: ${this.failure.message}`));
        else resolve();
        return;
      }
      this.stream.end(() => {
        if (this.failure) reject(new Error(`${this.path}: ${this.failure.message}`));
        else resolve();
      });
    });
  }
}
