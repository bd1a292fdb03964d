// A recording's summary as a pprof profile (profile.proto, encoded by pprof-format), which
// `go tool pprof` and the stores that ingest pprof (Pyroscope, Parca, cloud profilers) read.
// One profile, seven sample types, so each view is a -sample_index away:
//  - waits/count, wait/nanoseconds: one sample per blocking point, its whole call chain as
//    locations (the leaf first), counting the waits that ended there and their total time;
//  - runs/count, run/nanoseconds: one sample per edge, the run of a thread from leaving one
//    blocking point to reaching the next, on the chain of the point it reached, labelled with the
//    point it left;
//  - stack_high_water/bytes: one sample per spawn site, the largest stack any of its threads used;
//  - contentions/count, delay/nanoseconds: Go's mutex profile — one sample per contended lock's
//    holder site (summary `locks`), on the line where the holders acquired the lock, counting the
//    waits their release ended and the waiters' time: the delay is charged to who held the lock,
//    labelled with where threads waited and where the holders let go.
// wait/nanoseconds is the default. Every figure is the summary's, so pprof and `capriccio
// summary` tell one story.
import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Label, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { ChainFrame, Summary } from '../analysis/summary.ts';
import { placeOf } from '../analysis/labels.ts';

export const PPROF_SAMPLE_TYPES = [
  ['waits', 'count'],
  ['wait', 'nanoseconds'],
  ['runs', 'count'],
  ['run', 'nanoseconds'],
  ['stack_high_water', 'bytes'],
  ['contentions', 'count'],
  ['delay', 'nanoseconds'],
] as const;
const DEFAULT_SAMPLE_TYPE = 1; /* wait/nanoseconds */

/** A frame as pprof keys it: the same function, file and line is one location whatever its address. */
interface Place {
  readonly function: string;
  readonly file: string;
  readonly line: number;
  readonly address: number;
}

class Builder {
  readonly strings = new StringTable();
  readonly functions: PprofFunction[] = [];
  readonly locations: Location[] = [];
  readonly samples: Sample[] = [];
  private readonly functionIds = new Map<string, number>();
  private readonly locationIds = new Map<string, number>();

  private functionId(name: string, file: string): number {
    const key = `${name}\0${file}`;
    let id = this.functionIds.get(key);
    if (id === undefined) {
      id = this.functions.length + 1;
      this.functionIds.set(key, id);
      this.functions.push(new PprofFunction({ id, name: this.strings.dedup(name), systemName: this.strings.dedup(name), filename: this.strings.dedup(file) }));
    }
    return id;
  }

  locationId(p: Place): number {
    const key = `${p.function}\0${p.file}\0${p.line}`;
    let id = this.locationIds.get(key);
    if (id === undefined) {
      id = this.locations.length + 1;
      this.locationIds.set(key, id);
      this.locations.push(new Location({ id, address: p.address, line: [new Line({ functionId: this.functionId(p.function, p.file), line: p.line })] }));
    }
    return id;
  }

  label(key: string, value: string): Label {
    return new Label({ key: this.strings.dedup(key), str: this.strings.dedup(value) });
  }

  sample(chain: readonly Place[], values: readonly number[], labels: readonly Label[]): void {
    this.samples.push(new Sample({ locationId: chain.map((p) => this.locationId(p)), value: [...values], label: [...labels] }));
  }
}

const place = (f: ChainFrame): Place => ({ function: f.function, file: f.file, line: f.line, address: Number(BigInt(f.addr) & 0x1fffffffffffffn) });

/** Values in PPROF_SAMPLE_TYPES order. */
const values = (v: Partial<Record<(typeof PPROF_SAMPLE_TYPES)[number][0], number>>): number[] => PPROF_SAMPLE_TYPES.map(([type]) => v[type] ?? 0);

/** The profile, gzipped as pprof files are. */
export function pprofProfile(s: Summary): Uint8Array {
  const b = new Builder();
  const nodes = new Map(s.nodes.map((n) => [n.id, n]));
  for (const n of s.nodes) b.sample(n.chain.map(place), values({ waits: n.count, wait: n.waitTotalNs }), [b.label('kind', n.kind), b.label('blocking_point', n.label)]);
  for (const e of s.edges) {
    const to = nodes.get(e.to);
    if (!to) continue;
    b.sample(to.chain.map(place), values({ runs: e.count, run: e.totalNs }), [b.label('from', nodes.get(e.from)?.label ?? `#${e.from}`), b.label('to', to.label)]);
  }
  for (const p of s.stacks.sites) {
    b.sample([{ function: p.function, file: p.file, line: p.line, address: Number(BigInt(p.site) & 0x1fffffffffffffn) }], values({ stack_high_water: p.usedBytesMax }), [
      b.label('threads', String(p.threadsTotal)),
    ]);
  }
  for (const l of s.locks) {
    for (const h of l.holders) {
      b.sample([{ function: h.function, file: h.file, line: h.line, address: 0 }], values({ contentions: h.count, delay: h.waitNs }), [
        b.label('kind', l.kind),
        b.label('waiting_at', l.label),
        b.label('released_at', placeOf(h.release)),
      ]);
    }
  }
  const sampleType = PPROF_SAMPLE_TYPES.map(([type, unit]) => new ValueType({ type: b.strings.dedup(type), unit: b.strings.dedup(unit) }));
  const profile = new Profile({
    sampleType,
    defaultSampleType: sampleType[DEFAULT_SAMPLE_TYPE]!.type,
    sample: b.samples,
    location: b.locations,
    function: b.functions,
    stringTable: b.strings,
    durationNanos: s.durationNs,
  });
  return gzipSync(profile.encode());
}
