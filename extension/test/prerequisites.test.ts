// A missing build output fails the test that needs it, unless skipping was asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { have, skipUnless } from './prerequisites.ts';

const absent = { path: '/nonexistent/capriccio-prerequisite', why: 'the thing is not built: run make thing' };
const present = { path: '/', why: 'never shown' };

function withAllowSkip<T>(value: string | undefined, fn: () => T): T {
  const saved = process.env['CAPRICCIO_ALLOW_SKIP'];
  if (value === undefined) delete process.env['CAPRICCIO_ALLOW_SKIP'];
  else process.env['CAPRICCIO_ALLOW_SKIP'] = value;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env['CAPRICCIO_ALLOW_SKIP'];
    else process.env['CAPRICCIO_ALLOW_SKIP'] = saved;
  }
}

test('a missing prerequisite fails the test, naming what to run', () => {
  const skipped: string[] = [];
  const t = { skip: (why: string) => void skipped.push(why) };
  withAllowSkip(undefined, () => {
    assert.throws(() => have(t, present, absent), /the thing is not built: run make thing \(CAPRICCIO_ALLOW_SKIP=1 skips/);
    assert.equal(skipUnless(absent), false);
  });
  assert.deepEqual(skipped, []);
});

test('CAPRICCIO_ALLOW_SKIP=1 turns a missing prerequisite into a skip with the reason', () => {
  const skipped: string[] = [];
  const t = { skip: (why: string) => void skipped.push(why) };
  withAllowSkip('1', () => {
    assert.equal(have(t, absent), false);
    assert.equal(skipUnless(absent), absent.why);
    assert.equal(have(t, present), true);
    assert.equal(skipUnless(present), false);
  });
  assert.deepEqual(skipped, [absent.why]);
});
