// The one profile the editor shows at a time (live or from a recording), and the static stack
// analysis beside it. Views subscribe to onDidChange; the panel, hints, diagnostics, tree and
// status bar all draw from `view`.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Suggestion } from '../analysis/suggest.ts';
import { endSummary } from '../analysis/end.ts';
import type { Model } from '../model/model.ts';
import { Profile, type ProfileView } from '../session/profile.ts';
import type { SessionEnd } from '../session/session.ts';
import type { ViewCompare } from '../../../shared/view.ts';
import { runtimeEnv, settings } from './settings.ts';
import type { Target } from './build.ts';
import { Disposable } from './disposable.ts';

export type Status =
  | { readonly kind: 'idle' }
  | { readonly kind: 'building' }
  | { readonly kind: 'live'; readonly what: string }
  | { readonly kind: 'ended'; readonly what: string; readonly how: string }
  | { readonly kind: 'recording'; readonly what: string };

const stamp = (): string => new Date().toISOString().replace(/[:.]/g, '-');

/** Why the Stop command signals a program (completes "sent when …"). */
const STOP_REASON = 'Capriccio: Stop was run';

function describeEnd(end: SessionEnd | undefined, model: Model): string {
  if (!end) return 'ended (telemetry lost)';
  if (!end.connected) return `ended without telemetry (was it built with capriccio cc?)${model.end ? `: ${endSummary(model.end).text}` : ''}`;
  if (model.end) return endSummary(model.end).text;
  switch (end.status.kind) {
    case 'code':
      return `exited with status ${end.status.code}`;
    case 'signal':
      return `killed by ${end.status.signal}`;
    case 'disconnected':
      return 'disconnected';
    default: {
      const never: never = end.status;
      return String(never);
    }
  }
}

export class Controller extends Disposable {
  private profile: Profile | undefined;
  private hasData = false;
  private readonly changed = this._register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;
  status: Status = { kind: 'idle' };
  /** suggestions from `Capriccio: Analyze Stack Usage` */
  staticSuggestions: readonly Suggestion[] = [];
  /** this profile against an earlier recording (`Capriccio: Compare with Previous Recording`); it goes with the profile */
  compare: ViewCompare | undefined;

  constructor(private readonly out: vscode.OutputChannel) {
    super();
  }

  get view(): ProfileView | undefined {
    return this.profile?.latest;
  }
  get recordPath(): string | undefined {
    return this.profile?.recordPath;
  }
  setStatus(status: Status): void {
    this.status = status;
    void vscode.commands.executeCommand('setContext', 'capriccio.running', status.kind === 'live' || status.kind === 'building');
    this.publishHasData();
    this.changed.fire();
  }

  /** The `capriccio.hasData` context (Show Panel, Export to Perfetto), set when it changes. */
  private publishHasData(): void {
    const has = this.profile?.latest !== undefined;
    if (has === this.hasData) return;
    this.hasData = has;
    void vscode.commands.executeCommand('setContext', 'capriccio.hasData', has);
  }

  setStaticSuggestions(s: readonly Suggestion[]): void {
    this.staticSuggestions = s;
    this.changed.fire();
  }

  setCompare(c: ViewCompare | undefined): void {
    this.compare = c;
    this.changed.fire();
  }

  private async recordFile(folder: string, name: string): Promise<string> {
    const dir = join(folder, settings(vscode.Uri.file(folder)).recordDirectory);
    await mkdir(dir, { recursive: true });
    return join(dir, `${name}-${stamp()}.cap`);
  }

  /**
   * Runs a built program under the profiler; its telemetry is recorded in the record directory.
   * Stop sends it SIGTERM, and SIGKILL if it is still running `killAfterMs` later.
   */
  async launch(folder: string, t: Target, env: Readonly<Record<string, string>>, killAfterMs: number): Promise<void> {
    await this.replace('another profile was started');
    const s = settings(vscode.Uri.file(folder));
    const name = t.program.split('/').pop() ?? 'program';
    const record = await this.recordFile(folder, name);
    this.out.appendLine(`capriccio: running ${[t.program, ...t.args].join(' ')} (recording ${record})`);
    const profile = await Profile.launch(
      t.program,
      t.args,
      { record, cwd: t.cwd, intervalMs: s.telemetryIntervalMs, env: { ...runtimeEnv(s), ...s.env, ...env }, stdio: 'pipe', killAfterMs },
      { viewCaps: s.caps },
    );
    this.follow(profile, name);
    const child = profile.child;
    child?.stdout?.on('data', (d: Buffer) => this.out.append(d.toString()));
    child?.stderr?.on('data', (d: Buffer) => this.out.append(d.toString()));
  }

  async attach(folder: string | undefined, socketPath: string): Promise<void> {
    await this.replace('another profile was started');
    const record = folder ? await this.recordFile(folder, 'attach') : undefined;
    const s = settings();
    const profile = await Profile.attach(socketPath, record, { viewCaps: s.caps });
    this.follow(profile, socketPath);
  }

  /** Opens a recording; what is shown stays when it cannot be read. */
  async open(path: string): Promise<void> {
    const opened = await Profile.open(path, { viewCaps: settings().caps });
    await this.replace('a recording was opened');
    this.profile = opened;
    this.setStatus({ kind: 'recording', what: path.split('/').pop() ?? path });
  }

  private follow(profile: Profile, what: string): void {
    this.profile = profile;
    profile.on('update', () => {
      this.publishHasData();
      this.changed.fire();
    });
    profile.on('end', (end) => {
      const how = describeEnd(end, profile.model);
      this.out.appendLine(`capriccio: ${what} ${how}${profile.recordPath ? `; recorded ${profile.recordPath}` : ''}`);
      this.setStatus({ kind: 'ended', what, how });
    });
    this.setStatus({ kind: 'live', what });
  }

  async stop(): Promise<void> {
    await this.profile?.stop(STOP_REASON);
  }

  /** Ends the current profile, if any, before another starts; `reason` completes "sent when …". */
  private async replace(reason: string): Promise<void> {
    const old = this.profile;
    this.profile = undefined;
    this.compare = undefined;
    await old?.dispose(reason);
  }

  override dispose(): void {
    void this.replace('VS Code closed the extension');
    super.dispose();
  }
}
