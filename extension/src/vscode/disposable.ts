// Lifetimes, in the style of VS Code's own lifecycle.ts (and microsoft/vscode-hexeditor's
// Disposable): an object registers what it creates with `_register`, and its dispose() disposes
// all of it. What lives shorter than its owner (a webview panel's listeners) goes in a
// DisposableStore of its own, disposed when that thing ends.
// No `vscode` import: vscode.Disposable is structurally `{ dispose(): any }`, so whatever the API
// returns fits, and these lifetimes can be tested in plain Node.

export interface IDisposable {
  dispose(): unknown;
}

/**
 * Disposables held across every store not yet disposed. A real count, not a mock: the
 * extension-host tests read it (through the extension's API) to find a lifetime that leaks.
 */
let live = 0;

/** How many disposables the stores of this module instance hold now. */
export const liveDisposables = (): number => live;

/** Disposables disposed together, once. */
export class DisposableStore implements IDisposable {
  private readonly items = new Set<IDisposable>();
  private disposed = false;

  /** Adds `d` (returned, for `const x = store.add(...)`); after dispose() `d` is disposed at once, so nothing outlives its owner. */
  add<T extends IDisposable>(d: T): T {
    if (this.disposed) {
      d.dispose();
    } else if (!this.items.has(d)) {
      this.items.add(d);
      live++;
    }
    return d;
  }

  /** How many it holds. */
  get size(): number {
    return this.items.size;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Disposes everything it holds, in the order added; one that throws does not keep the others alive. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const errors: unknown[] = [];
    for (const d of this.items) {
      try {
        d.dispose();
      } catch (err) {
        errors.push(err);
      }
    }
    live -= this.items.size;
    this.items.clear();
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} disposables failed to dispose`);
  }
}

/** The base of everything the extension creates: what it registers lives exactly as long as it does. */
export abstract class Disposable implements IDisposable {
  private readonly store = new DisposableStore();

  protected _register<T extends IDisposable>(d: T): T {
    return this.store.add(d);
  }

  dispose(): void {
    this.store.dispose();
  }
}
