// Labels for blocking points that tell them apart. A blocking point is its whole call chain; its
// label is the frame named for it (nameChain: the innermost own frame, else the innermost library
// frame) — unless another point shares that frame, as when a pipeline's stages all wait in one
// queue helper, or a server's accept loop and its keep-alive loop share one poll wrapper. Then the
// label adds the frame that tells it apart: the nearest caller outwards whose chain no other of
// them shares ("← stage2 (pipe.c:40)"), else the nearest callee inwards ("→ …"), else what it
// waits on ("[io]"), else its id. Runtime, libgcc and glibc frames never tell points apart: they
// are the same machinery under every point.
import { isSystem, shortFile, type ChainName, type SymbolInfo } from '../symbols/symbols.ts';

export interface LabelInput {
  readonly id: number;
  readonly kind: string;
  readonly name: ChainName;
}

export interface Label {
  /** unique among the points labelled together */
  readonly label: string;
  /** what was added to the named frame to make it unique, if anything ("← stage2 (pipe.c:40)") */
  readonly via?: string;
}

/** "f (dir/file.c:12)", "f" without a file, "??". */
export const placeOf = (f: { function: string; file: string; line: number }): string =>
  f.function === '??' ? '??' : f.file === '??' || f.file === '' ? f.function : `${f.function} (${shortFile(f.file)}:${f.line})`;

const telling = (f: SymbolInfo): boolean => f.function !== '??' && !isSystem(f);

/**
 * For each point, the 1-based distance along `frames` at which its frames so far are no other
 * point's, with the frame there (its last frame when its chain ends first); undefined when some
 * other point has the very same frames.
 */
function firstDifference(frames: ReadonlyMap<number, readonly string[]>): Map<number, string | undefined> {
  const out = new Map<number, string | undefined>();
  const depth = Math.max(0, ...[...frames.values()].map((f) => f.length));
  for (const [id, mine] of frames) {
    let found: string | undefined;
    for (let d = 1; d <= depth + 1 && found === undefined; d++) {
      const key = (f: readonly string[]): string => (f.length >= d ? f.slice(0, d).join('\n') : `${f.join('\n')}\n∎`);
      const k = key(mine);
      const shared = [...frames].some(([other, theirs]) => other !== id && key(theirs) === k);
      if (!shared) found = mine[Math.min(d, mine.length) - 1] ?? '';
      if (mine.length < d) break;
    }
    out.set(id, found);
  }
  return out;
}

/** Unique labels for the given points, by id. */
export function uniqueLabels(points: readonly LabelInput[]): Map<number, Label> {
  const out = new Map<number, Label>();
  const groups = new Map<string, LabelInput[]>();
  for (const p of points) {
    const k = placeOf(p.name);
    const g = groups.get(k);
    if (g) g.push(p);
    else groups.set(k, [p]);
  }
  for (const [base, group] of groups) {
    if (group.length === 1) {
      out.set(group[0]!.id, { label: base });
      continue;
    }
    const at = (p: LabelInput): number => Math.max(0, p.name.index);
    const callers = firstDifference(new Map(group.map((p) => [p.id, p.name.chain.slice(at(p) + 1).filter(telling).map(placeOf)])));
    const callees = firstDifference(new Map(group.map((p) => [p.id, p.name.chain.slice(0, at(p)).reverse().filter(telling).map(placeOf)])));
    const kinds = new Map<string, number>();
    for (const p of group) kinds.set(p.kind, (kinds.get(p.kind) ?? 0) + 1);
    const labels = group.map((p) => {
      const caller = callers.get(p.id);
      const callee = callees.get(p.id);
      const via = caller ? `← ${caller}` : callee ? `→ ${callee}` : kinds.get(p.kind) === 1 ? `[${p.kind}]` : `#${p.id}`;
      return { id: p.id, via };
    });
    // A caller's or callee's frame is unique as a path, not always as a name: make sure.
    const seen = new Map<string, number>();
    for (const l of labels) seen.set(l.via, (seen.get(l.via) ?? 0) + 1);
    for (const l of labels) {
      const via = (seen.get(l.via) ?? 0) > 1 ? `${l.via} #${l.id}` : l.via;
      out.set(l.id, { label: `${base} ${via}`, via });
    }
  }
  return out;
}
