// The Compare view's data: a recording against an earlier one (`capriccio report --compare`, and
// the panel's Compare with Previous Recording). It is the Diff of the two summaries (what
// `capriccio diff` prints), cut to the rows a view can show, as the view's other tables are; what
// is cut is counted, never silently lost.
import { basename } from 'node:path';
import { diffSummaries } from '../analysis/diff.ts';
import { summarize, type Summary } from '../analysis/summary.ts';
import { loadRecording } from '../recording/load.ts';
import type { ViewCompare } from '../../../shared/view.ts';

/** Rows shown per table, most changed first. */
export const COMPARE_ROWS = 200;

/** `after` against `before`, the summary of the recording at `source`. */
export function viewCompare(source: string, before: Summary, after: Summary, rows: number = COMPARE_ROWS): ViewCompare {
  const d = diffSummaries(before, after);
  const hidden = (n: number): number => Math.max(0, n - rows);
  return {
    source,
    name: basename(source),
    points: d.points.slice(0, rows),
    edges: d.edges.slice(0, rows),
    sites: d.sites.slice(0, rows),
    hidden: { points: hidden(d.points.length), edges: hidden(d.edges.length), sites: hidden(d.sites.length) },
  };
}

/** The earlier recording at `path`, summarized; `truncated` says why it ends early, when it does (everything before the cut is compared). */
export async function loadEarlier(path: string): Promise<{ readonly source: string; readonly summary: Summary; readonly truncated?: string }> {
  const loaded = await loadRecording(path);
  const summary = summarize(loaded.model, loaded.table);
  const cut = loaded.recording.truncated;
  return { source: path, summary, ...(cut ? { truncated: `${cut.reason} at byte ${cut.offset}` } : {}) };
}
