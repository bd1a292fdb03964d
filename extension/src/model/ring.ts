// A fixed-capacity ring buffer: pushing into a full ring overwrites the oldest item.

export class Ring<T> {
  private items: T[] = [];
  private start = 0;
  /** items overwritten because the ring was full */
  overwritten = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`ring capacity must be a positive integer, not ${capacity}`);
  }

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return;
    }
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
    this.overwritten++;
  }

  /** Oldest first. */
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }

  last(): T | undefined {
    if (this.items.length === 0) return undefined;
    return this.items[(this.start + this.items.length - 1) % this.items.length];
  }

  /** Replaces the newest item (nothing when empty). */
  replaceLast(item: T): void {
    if (this.items.length === 0) return;
    this.items[(this.start + this.items.length - 1) % this.items.length] = item;
  }

  clear(): void {
    this.items = [];
    this.start = 0;
  }
}
