// The live view of `capriccio run`: a summary redrawn in place on a terminal, or one status line
// per second otherwise.
import { summarize, type Summary } from '../analysis/summary.ts';
import { fmtBytes, fmtNs } from '../analysis/units.ts';
import type { Model } from '../model/model.ts';
import { modelAddresses } from '../recording/load.ts';
import { Addr2lineSymbolizer, SymbolTable, shortFile } from '../symbols/symbols.ts';
import { stackMemoryText } from '../../../shared/view.ts';

export type LiveMode = 'tty' | 'lines';

/** Stack memory as last measured, else the address space live threads hold (which is not memory). */
const stackFigure = (model: Model): string => {
  const m = model.stackMemory;
  return m ? `${fmtBytes(m.residentBytes)} resident of ${fmtBytes(m.reservedBytes)} reserved` : `${fmtBytes(model.latest?.resources.stackAllocatedBytes ?? 0)} reserved by live threads`;
};

/** One status line: time, threads by state, blocking operations, memory, descriptors. */
export function statusLine(model: Model): string {
  const p = model.latest;
  if (!p) return model.hello ? `capriccio: ${model.hello.executable} (pid ${model.hello.pid}) connected, no snapshot yet` : 'capriccio: waiting for telemetry';
  const r = p.resources;
  return (
    `capriccio: t=${(p.tNs / 1e9).toFixed(1)}s threads ${r.threads} (runnable ${r.runnable}, io ${r.blockedIo}, disk ${r.blockedDisk}, ` +
    `sync ${r.blockedSync}, sleeping ${r.sleeping}) blocking-ops ${r.blockingOps} rss ${fmtBytes(r.rssBytes)} fds ${r.openFds} ` +
    `stacks ${stackFigure(model)} nodes ${model.nodes.size} edges ${model.edges.size} dropped ${r.droppedTotal}`
  );
}

const place = (n: { function: string; file: string; line: number } | undefined): string =>
  !n || n.function === '??' ? '??' : n.file === '??' ? n.function : `${n.function} ${shortFile(n.file)}:${n.line}`;

/** The block redrawn on a terminal. */
export function liveBlock(model: Model, s: Summary, width: number): string[] {
  const cut = (l: string): string => (l.length > width ? l.slice(0, Math.max(0, width - 1)) + '…' : l);
  const lines = [statusLine(model)];
  const byId = new Map(s.nodes.map((n) => [n.id, n]));
  lines.push('top edges by total time:');
  for (const e of s.edges.slice(0, 5)) {
    lines.push(`  ${place(byId.get(e.from))} → ${place(byId.get(e.to))}  ×${e.count} avg ${fmtNs(e.avgNs)} max ${fmtNs(e.maxNs)}`);
  }
  const st = s.stacks;
  lines.push(`stacks: ${stackMemoryText(st, fmtBytes)}; live threads hold ${fmtBytes(st.allocatedBytes)} reserved, ${st.chunksLinked} chunks linked, ${st.hotSplits.length} hot split sites`);
  lines.push(`suggestions (${s.suggestions.length}):`);
  for (const g of s.suggestions.slice(0, 5)) lines.push(`  [${g.kind}] ${g.message}`);
  return lines.map(cut);
}

/** Drives the live display from a model; symbolizes new addresses as they appear. */
export class LiveView {
  private timer: NodeJS.Timeout | undefined;
  private drawn = 0;
  private table = new SymbolTable();
  private symbolizer: Addr2lineSymbolizer | undefined;
  private busy = false;

  constructor(
    private readonly model: Model,
    private readonly mode: LiveMode,
    private readonly out: NodeJS.WriteStream,
  ) {}

  start(periodMs = 1000): void {
    this.timer = setInterval(() => void this.tick(), periodMs);
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      switch (this.mode) {
        case 'lines':
          this.out.write(statusLine(this.model) + '\n');
          break;
        case 'tty': {
          if (this.model.hello) {
            this.symbolizer ??= new Addr2lineSymbolizer(this.model.hello.modules);
            this.table = await this.symbolizer.resolve(modelAddresses(this.model));
          }
          const block = liveBlock(this.model, summarize(this.model, this.table), this.out.columns || 120);
          this.out.write((this.drawn > 0 ? `\x1b[${this.drawn}F\x1b[J` : '') + block.join('\n') + '\n');
          this.drawn = block.length;
          break;
        }
        default: {
          const never: never = this.mode;
          throw new Error(`unknown live mode ${String(never)}`);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
