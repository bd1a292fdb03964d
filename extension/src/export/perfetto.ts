// Export of a recording as Chrome trace-event JSON, which Perfetto UI (ui.perfetto.dev) and
// chrome://tracing open: counter tracks for the resources and the stack memory over time,
// blocking operations, and the average latency of the top edges and the wait of the top nodes as
// they evolve.
import type { Model } from '../model/model.ts';
import { edgeKey } from '../model/model.ts';
import type { DecodedFrame, EdgeStat } from '../../../shared/protocol.ts';
import { kindName } from '../../../shared/protocol.ts';
import { nameChain, type SymbolTable } from '../symbols/symbols.ts';

export type TraceEvent =
  | { readonly ph: 'M'; readonly name: 'process_name' | 'thread_name' | 'process_labels'; readonly pid: number; readonly tid: number; readonly args: { readonly name?: string; readonly labels?: string } }
  | { readonly ph: 'C'; readonly name: string; readonly pid: number; readonly tid: number; readonly ts: number; readonly args: Readonly<Record<string, number>> }
  | { readonly ph: 'i'; readonly name: string; readonly pid: number; readonly tid: number; readonly ts: number; readonly s: 'g' | 'p' | 't'; readonly args?: Readonly<Record<string, string | number>> };

export interface Trace {
  readonly traceEvents: TraceEvent[];
  readonly displayTimeUnit: 'ns';
  readonly metadata?: Record<string, string | number>;
}

/** How many edges and nodes get their own series. */
export const TOP = 10;

const us = (ns: number): number => ns / 1000;

/**
 * `frames` are the recording's frames in order; `model` is the final model (for choosing the
 * top edges and nodes) and `table` names them.
 */
export function perfettoTrace(frames: readonly DecodedFrame[], model: Model, table: SymbolTable): Trace {
  const pid = model.hello?.pid ?? 1;
  const tid = pid;
  const ev: TraceEvent[] = [];
  const exe = model.hello?.executable ?? 'program';
  ev.push({ ph: 'M', name: 'process_name', pid, tid: 0, args: { name: `capriccio: ${exe}` } });
  ev.push({ ph: 'M', name: 'thread_name', pid, tid, args: { name: 'telemetry' } });
  if (model.hello) ev.push({ ph: 'M', name: 'process_labels', pid, tid: 0, args: { labels: `${model.hello.stackMode} stacks, ${model.hello.diskBackend}, ${model.hello.scheduler}` } });

  const nodeName = (id: number): string => {
    const n = model.nodes.get(id);
    const name = nameChain(table, n?.def?.frames ?? []);
    const where = name.function === '??' ? '??' : name.file === '??' ? name.function : `${name.function}:${name.line}`;
    return `#${id} ${n?.def ? kindName(n.def.kind) : '?'} ${where}`;
  };
  const topEdges = new Set(
    [...model.edges.values()]
      .sort((a, b) => b.totalNs - a.totalNs)
      .slice(0, TOP)
      .map((e) => edgeKey(e.from, e.to)),
  );
  const topNodes = new Set(
    [...model.nodes.values()]
      .sort((a, b) => (b.stat?.waitTotalNs ?? 0) - (a.stat?.waitTotalNs ?? 0))
      .slice(0, TOP)
      .map((n) => n.id),
  );
  const edgeNames = new Map<string, string>();
  const edgeName = (e: EdgeStat): string => {
    const k = edgeKey(e.from, e.to);
    let n = edgeNames.get(k);
    if (n === undefined) edgeNames.set(k, (n = `edge avg ms: ${nodeName(e.from)} → ${nodeName(e.to)}`));
    return n;
  };
  const counter = (name: string, ts: number, args: Record<string, number>): void => {
    ev.push({ ph: 'C', name, pid, tid, ts, args });
  };

  for (const { frame } of frames) {
    switch (frame.type) {
      case 'hello':
        ev.push({ ph: 'i', name: 'hello', pid, tid, ts: 0, s: 'g', args: { pid: frame.pid, intervalMs: frame.intervalMs } });
        break;
      case 'snapshot': {
        const ts = us(frame.tNs);
        const r = frame.resources;
        counter('threads by state', ts, {
          running: Math.max(0, r.threads - r.runnable - r.blockedIo - r.blockedDisk - r.blockedSync - r.sleeping),
          runnable: r.runnable,
          blockedIo: r.blockedIo,
          blockedDisk: r.blockedDisk,
          blockedSync: r.blockedSync,
          sleeping: r.sleeping,
        });
        counter('runnable', ts, { runnable: r.runnable });
        counter('rss bytes', ts, { rssBytes: r.rssBytes });
        counter('open fds', ts, { openFds: r.openFds, fdLimit: r.fdLimit });
        // Address space, not memory: STACKS frames carry what is resident.
        counter('stack bytes reserved by live threads', ts, { stackAllocatedBytes: r.stackAllocatedBytes });
        counter('blocking ops (cumulative)', ts, { blockingOps: r.blockingOps });
        counter('context switches (cumulative)', ts, { switches: r.switches });
        counter('dropped', ts, { snapshots: r.droppedTotal, blocking_ops_not_recorded: r.nodesDropped });
        for (const e of frame.edgeStats) {
          if (topEdges.has(edgeKey(e.from, e.to)) && e.count > 0) {
            counter(edgeName(e), ts, { avg_ms: e.totalNs / e.count / 1e6, ewma_ms: e.ewmaNs / 1e6 });
          }
        }
        for (const n of frame.nodeStats) {
          if (topNodes.has(n.id) && n.count > 0) {
            counter(`node wait avg ms: ${nodeName(n.id)}`, ts, { avg_ms: n.waitTotalNs / n.count / 1e6, count: n.count });
          }
        }
        break;
      }
      case 'exit':
        ev.push({
          ph: 'i',
          name: frame.how === 'signaled' ? `killed by signal ${frame.status}` : `exit ${frame.status}`,
          pid,
          tid,
          ts: us(frame.tNs),
          s: 'g',
        });
        break;
      case 'stacks': {
        // At the time of the measurement, not of the snapshot it follows; one track each, as
        // the three nest (waste within resident within reserved) and must not be stacked.
        const ts = us(frame.tNs);
        counter('stack resident bytes', ts, { residentBytes: frame.residentBytes });
        counter('stack reserved bytes', ts, { reservedBytes: frame.reservedBytes });
        counter('stack waste bytes (resident, held by no live thread)', ts, { wasteBytes: frame.wasteBytes });
        break;
      }
      case 'workers': // cumulative, summed into the snapshot's counters already
      case 'sync': // cumulative lock hand-overs and wakes: the summary's and pprof's, not a series
      case 'symbols':
      case 'inlined':
      case 'end': // no time of its own on the program's clock
        break;
      default: {
        const never: never = frame;
        throw new Error(`unhandled frame ${JSON.stringify(never)}`);
      }
    }
  }
  return {
    traceEvents: ev,
    displayTimeUnit: 'ns',
    metadata: { 'capriccio-executable': exe, ...(model.hello ? { 'capriccio-start-realtime-ns': model.hello.startRealtimeNs } : {}) },
  };
}
