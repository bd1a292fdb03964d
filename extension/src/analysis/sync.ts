// Contention and wakes (SYNC frames, protocol version 4): for each blocking point waiting on a
// mutex, rwlock or semaphore, who held what it waited for — grouped by where the holder acquired
// it, with how long it held it and where it let go — and, for every wake by another thread's
// call, the line that made the call and the point it woke. What `capriccio summary --json` gives
// as `locks` and `wakes`, the report and the panel draw. Sites are return addresses, looked up at
// − 1 (symbols.ts) so that the line is the call's; a thread that returned from its start function
// is sent as that function + 1 and so names the function.
import { KIND, SYNC_VERSION, type Address, type Hold, type KindCode } from '../../../shared/protocol.ts';
import type { LockKind, ViewLock, ViewLockHolder, ViewPlace, ViewWake } from '../../../shared/view.ts';
import type { Model } from '../model/model.ts';
import type { SymbolTable } from '../symbols/symbols.ts';

/** The blocking points a summary names: the place named for each, and its unique label. */
export interface NamedPoint extends ViewPlace {
  readonly id: number;
  readonly label: string;
  readonly count: number;
  readonly waitTotalNs: number;
}

export interface Sync {
  /** whether the runtime recorded contention and wakes: a SYNC frame was received */
  readonly syncRecorded: boolean;
  /** how, or "not recorded: …" and why */
  readonly syncMeasured: string;
  /** each contended mutex, rwlock and semaphore point, most wait first ([] when not recorded) */
  readonly locks: readonly ViewLock[];
  /** wakes grouped by waker's place and woken point, most first ([] when not recorded) */
  readonly wakes: readonly ViewWake[];
}

/** The lock a blocking point of this kind waits on, if it waits on one. */
function lockKind(kind: KindCode): LockKind | undefined {
  switch (kind) {
    case KIND.mutex:
      return 'mutex';
    case KIND.rwlock:
      return 'rwlock';
    case KIND.semaphore:
      return 'sem';
    case KIND.sleep:
    case KIND.join:
    case KIND.condvar:
    case KIND.wait_queue:
    case KIND.channel:
    case KIND.io:
    case KIND.poll:
    case KIND.disk:
    case KIND.once:
    case KIND.yield:
    case KIND.external:
      return undefined;
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

/** How contention and wakes were recorded: the sentence the report, the panel and `summary` show. */
export const recordedText = (seq: number): string =>
  `recorded by the runtime at every lock hand-over and every wake by another thread's call (cumulative, as of snapshot ${seq})`;

/** Why a model has no SYNC frame. */
function notRecorded(model: Model): string {
  const version = model.hello?.version;
  if (version === undefined) return 'not recorded: no telemetry received';
  if (version < SYNC_VERSION) return `not recorded: protocol version ${version}`;
  return 'not recorded yet: no SYNC frame received (the runtime sends one after each snapshot)';
}

/** A call site's place, and what groups it: the place, or for an address no symbol names, the address. */
interface Site {
  readonly place: ViewPlace;
  readonly key: string;
}

function siteOf(table: SymbolTable, addr: Address): Site {
  const s = table.get(addr, 'return');
  const place = { function: s.function, file: s.file, line: s.line };
  return { place, key: s.function === '??' ? s.addr : `${s.function}\0${s.file}\0${s.line}` };
}
const avg = (total: number, count: number): number => (count > 0 ? Math.round(total / count) : 0);

/** `items` grouped by `key`, in first-seen order. */
function groupBy<K, T>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** The first item of the group (by `key`) whose summed `count` is largest (ties: the first seen); `items` is not empty. */
function most<K, T>(items: readonly T[], key: (item: T) => K, count: (item: T) => number): T {
  let best = items[0]!;
  let bestN = -1;
  for (const [, g] of groupBy(items, key)) {
    const n = g.reduce((acc, item) => acc + count(item), 0);
    if (n > bestN) [best, bestN] = [g[0]!, n];
  }
  return best;
}

/** The holds at one waiting point grouped by the holders' acquisition site. */
function holders(table: SymbolTable, holds: readonly Hold[]): ViewLockHolder[] {
  const placed = holds.map((h) => ({ h, acquire: siteOf(table, h.acquire), release: siteOf(table, h.release) }));
  return [...groupBy(placed, (p) => p.acquire.key).values()]
    .map((g): ViewLockHolder => {
      const count = g.reduce((n, p) => n + p.h.count, 0);
      return {
        ...g[0]!.acquire.place,
        count,
        holdAvgNs: avg(
          g.reduce((n, p) => n + p.h.holdTotalNs, 0),
          count,
        ),
        holdMaxNs: Math.max(...g.map((p) => p.h.holdMaxNs)),
        waitNs: g.reduce((n, p) => n + p.h.waitTotalNs, 0),
        release: most(g, (p) => p.release.key, (p) => p.h.count).release.place,
      };
    })
    .sort((a, b) => b.count - a.count || b.waitNs - a.waitNs);
}

/** Contention and wakes of `model`; `points` are its blocking points as the summary names them. */
export function syncOf(model: Model, table: SymbolTable, points: readonly NamedPoint[]): Sync {
  if (model.syncSeq === undefined) return { syncRecorded: false, syncMeasured: notRecorded(model), locks: [], wakes: [] };
  const holdsAt = groupBy(model.holds.values(), (h) => h.node);
  const locks = points
    .flatMap((p): ViewLock[] => {
      const def = model.nodes.get(p.id)?.def;
      const kind = def ? lockKind(def.kind) : undefined;
      if (kind === undefined || p.count === 0) return [];
      return [{ id: p.id, label: p.label, kind, function: p.function, file: p.file, line: p.line, waits: p.count, waitNs: p.waitTotalNs, holders: holders(table, holdsAt.get(p.id) ?? []) }];
    })
    .sort((a, b) => b.waitNs - a.waitNs || b.waits - a.waits || a.id - b.id);
  const placed = [...model.wakes.values()].map((w) => ({ w, from: siteOf(table, w.waker) }));
  const wakes = [...groupBy(placed, (p) => `${p.from.key}\0${p.w.node}`).values()]
    .map((g) => {
      const fromNode = most(g, (p) => p.w.fromNode, (p) => p.w.count).w.fromNode;
      return { key: g[0]!.from.key, wake: { from: g[0]!.from.place, to: g[0]!.w.node, fromNode, count: g.reduce((n, p) => n + p.w.count, 0) } satisfies ViewWake };
    })
    .sort((a, b) => b.wake.count - a.wake.count || a.wake.to - b.wake.to || a.key.localeCompare(b.key))
    .map((x) => x.wake);
  return {
    syncRecorded: true,
    syncMeasured: recordedText(model.syncSeq),
    locks,
    wakes,
  };
}
