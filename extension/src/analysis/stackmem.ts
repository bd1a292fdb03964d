// The stack memory figures of a model (its latest STACKS frame) and how they were obtained, or why
// they are not known: a recording made before protocol version 3 has none, and every consumer says
// so rather than show 0.
import { STACKS_VERSION, type StacksFrame } from '../../../shared/protocol.ts';
import type { Model } from '../model/model.ts';
import { fmtNs } from './units.ts';

export interface StackMemory {
  /** address space of every stack mapping (null: not measured) */
  readonly reservedBytes: number | null;
  /** of that, the bytes in memory */
  readonly residentBytes: number | null;
  /** resident bytes no live thread holds: free first chunks, pooled chunks */
  readonly wasteBytes: number | null;
  /** how the figures were obtained, or "not measured: …" */
  readonly measured: string;
}

/** How a measurement was taken: the sentence the report, the panel and `summary` show. */
export const measuredText = (m: StacksFrame): string =>
  `resident and reserved: mincore(2) over every stack mapping (${m.mappings} mapping${m.mappings === 1 ? '' : 's'}) ` +
  `by the runtime's telemetry thread at t=${fmtNs(m.tNs)}; waste: resident bytes no live thread holds (free first chunks and chunks kept with them, pooled chunks)`;

/** Why a model has no measurement. */
export function notMeasured(model: Model): string {
  const version = model.hello?.version;
  if (version === undefined) return 'not measured: no telemetry received';
  if (version < STACKS_VERSION) return `not measured: recorded by protocol version ${version}`;
  return 'not measured yet: no STACKS frame received (the runtime measures about once a second)';
}

export function stackMemory(model: Model): StackMemory {
  const m = model.stackMemory;
  if (!m) return { reservedBytes: null, residentBytes: null, wasteBytes: null, measured: notMeasured(model) };
  return { reservedBytes: m.reservedBytes, residentBytes: m.residentBytes, wasteBytes: m.wasteBytes, measured: measuredText(m) };
}
