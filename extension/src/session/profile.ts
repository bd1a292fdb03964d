// A profile as the editor sees it: a live session (launched or attached) or a recording, turned
// into what the views draw — the summary (hints, diagnostics, tree) and the webview's ViewData —
// at most once per `periodMs`, symbolizing only addresses not seen before. No VS Code here, so the
// same object is tested from Node.
//
// Events: 'update' (ProfileView) after each refresh; 'end' (SessionEnd, or undefined for a
// recording) once the program is gone and the last refresh is out.
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { summarize, type Summary } from '../analysis/summary.ts';
import { modelAddresses, loadRecording, appendSymbols } from '../recording/load.ts';
import { buildViewData, type ViewCaps } from '../report/viewdata.ts';
import { Addr2lineSymbolizer, SymbolTable } from '../symbols/symbols.ts';
import type { Model } from '../model/model.ts';
import type { ViewData } from '../../../shared/view.ts';
import { attach, launch, type LaunchOptions, type Session, type SessionEnd } from './session.ts';

export interface ProfileView {
  readonly summary: Summary;
  readonly view: ViewData;
  readonly table: SymbolTable;
}

export type ProfileState = 'starting' | 'live' | 'ended';

export interface ProfileEvents {
  update: [ProfileView];
  end: [SessionEnd | undefined];
}

export interface ProfileOptions {
  /** refresh period while live (default 500 ms) */
  readonly periodMs?: number;
  readonly viewCaps?: Partial<ViewCaps>;
}

export class Profile extends EventEmitter<ProfileEvents> {
  state: ProfileState = 'starting';
  latest: ProfileView | undefined;
  end: SessionEnd | undefined;
  private table = new SymbolTable();
  private symbolizer: Addr2lineSymbolizer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private dirty = false;

  private constructor(
    readonly model: Model,
    /** what it comes from: the program's path, the socket, or the recording */
    readonly source: string,
    /** the recording file (always kept for launched sessions) */
    readonly recordPath: string | undefined,
    private readonly session: Session | undefined,
    private readonly opts: ProfileOptions,
  ) {
    super();
  }

  /** Builds nothing: runs `program` (linked by capriccio cc) and records it to `record`. */
  static async launch(program: string, args: readonly string[], launchOpts: LaunchOptions & { record: string }, opts: ProfileOptions = {}): Promise<Profile> {
    const session = await launch(program, args, launchOpts);
    return new Profile(session.model, program, launchOpts.record, session, opts).follow();
  }

  static async attach(socketPath: string, record: string | undefined, opts: ProfileOptions = {}): Promise<Profile> {
    const session = await attach(socketPath, record !== undefined ? { record } : {});
    return new Profile(session.model, socketPath, record, session, opts).follow();
  }

  /** A finished recording: one refresh, then 'ended'. */
  static async open(path: string, opts: ProfileOptions = {}): Promise<Profile> {
    const loaded = await loadRecording(path);
    const p = new Profile(loaded.model, path, path, undefined, opts);
    p.table = loaded.table;
    p.state = 'ended';
    p.latest = p.render(loaded.recording.truncated?.reason);
    return p;
  }

  /** the launched program (its stdio is the caller's when launched with stdio 'pipe') */
  get child(): ChildProcess | undefined {
    return this.session?.child;
  }

  get live(): boolean {
    return this.state !== 'ended';
  }

  /** Ends a launched program (Session.stop: SIGTERM, SIGKILL after its kill-after) or leaves an attached one; `reason` completes "sent when …". */
  async stop(reason: string): Promise<void> {
    if (!this.session) return;
    this.session.stop(reason);
    if (!this.session.child) await this.session.close(); // attach: close our end
  }

  /** Stops (for `reason`, as stop()) and releases the session; no events after this. */
  async dispose(reason?: string): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.removeAllListeners();
    await this.session?.close(reason);
  }

  private follow(): this {
    const session = this.session!;
    session.on('connect', () => {
      if (this.state === 'starting') this.state = 'live';
    });
    session.on('frame', () => {
      this.dirty = true;
    });
    this.timer = setInterval(() => void this.refresh(), this.opts.periodMs ?? 500);
    session.done.then(
      (end) => void this.finish(end),
      () => void this.finish(undefined),
    );
    return this;
  }

  private async finish(end: SessionEnd | undefined): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.refreshing;
    this.end = end;
    this.state = 'ended';
    this.dirty = true;
    await this.refresh();
    await this.session?.close();
    // The recording becomes readable where the binary is not (as `capriccio run --record` does).
    if (this.recordPath !== undefined && this.model.hello) await appendSymbols(this.recordPath).catch(() => 0);
    this.emit('end', end);
  }

  /** Symbolizes new addresses and publishes a fresh view, if anything arrived since the last. */
  refresh(): Promise<void> {
    if (!this.dirty || this.refreshing) return this.refreshing ?? Promise.resolve();
    this.dirty = false;
    this.refreshing = (async () => {
      try {
        if (this.model.hello) {
          this.symbolizer ??= new Addr2lineSymbolizer(this.model.hello.modules);
          this.table = await this.symbolizer.resolve(modelAddresses(this.model));
        }
        this.latest = this.render(undefined);
        this.emit('update', this.latest);
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private render(truncated: string | undefined): ProfileView {
    const summary = summarize(this.model, this.table);
    const view = buildViewData(
      this.model,
      this.table,
      {
        source: this.state === 'ended' ? (this.recordPath ?? this.source) : 'live',
        ...(truncated !== undefined ? { truncated } : {}),
        ...(this.opts.viewCaps ? { caps: this.opts.viewCaps } : {}),
      },
      summary,
    );
    return { summary, view, table: this.table };
  }
}
