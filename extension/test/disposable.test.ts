// The extension's lifetimes (extension/src/vscode/disposable.ts): what a Disposable registers is
// disposed with it, once, in order; the live count the extension-host leak test reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Disposable, DisposableStore, liveDisposables } from '../src/vscode/disposable.ts';

const recorder = () => {
  const log: string[] = [];
  const item = (name: string) => ({ dispose: () => void log.push(name) });
  return { log, item };
};

class Owner extends Disposable {
  add(d: { dispose(): unknown }) {
    return this._register(d);
  }
}

test('a Disposable disposes what it registered, in order, once; the live count follows', () => {
  const { log, item } = recorder();
  const before = liveDisposables();
  const o = new Owner();
  const a = item('a');
  assert.equal(o.add(a), a);
  o.add(item('b'));
  o.add(a); // twice: held and disposed once
  assert.equal(liveDisposables(), before + 2);
  o.dispose();
  o.dispose();
  assert.deepEqual(log, ['a', 'b']);
  assert.equal(liveDisposables(), before);
});

test('what is added to a disposed store is disposed at once, and not counted', () => {
  const { log, item } = recorder();
  const s = new DisposableStore();
  s.dispose();
  const before = liveDisposables();
  s.add(item('late'));
  assert.deepEqual(log, ['late']);
  assert.equal(s.size, 0);
  assert.equal(liveDisposables(), before);
});

test('one disposable that throws does not keep the others alive; the error is rethrown', () => {
  const { log, item } = recorder();
  const before = liveDisposables();
  const s = new DisposableStore();
  s.add(item('a'));
  s.add({ dispose: () => { throw new Error('boom'); } });
  s.add(item('c'));
  assert.throws(() => s.dispose(), /boom/);
  assert.deepEqual(log, ['a', 'c']);
  assert.equal(liveDisposables(), before);
  assert.ok(s.isDisposed);

  const t = new DisposableStore();
  t.add({ dispose: () => { throw new Error('one'); } });
  t.add({ dispose: () => { throw new Error('two'); } });
  assert.throws(() => t.dispose(), (e: unknown) => e instanceof AggregateError && e.errors.length === 2);
});
