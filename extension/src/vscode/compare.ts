// "Capriccio: Compare with Previous Recording": the profile shown (or a given recording) against an
// earlier recording, in the panel's Compare view; and, when a profile ends with an earlier
// recording beside its own, the offer to do so. Reads recordings only (as Open Recording does):
// it builds and runs nothing, so it needs no workspace trust.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { earlierRecordings } from '../recording/earlier.ts';
import { loadEarlier, viewCompare } from '../report/compare.ts';
import type { ViewCompare } from '../../../shared/view.ts';
import type { Controller, Status } from './controller.ts';
import { Disposable } from './disposable.ts';
import { UserError } from './errors.ts';
import type { Panel } from './panel.ts';

export const COMPARE_COMMAND = 'capriccio.compareWithPrevious';
export const COMPARE_TITLE = 'Compare with Previous Recording';

/** What to compare (paths of recordings); without them, the recording shown and one made before it. */
export interface CompareArgs {
  readonly current?: string;
  readonly previous?: string;
}

/** The recording made before `current` in its folder: the only one, or the one the user picks (newest first). */
async function pickPrevious(current: string): Promise<string | undefined> {
  const earlier = await earlierRecordings(current);
  if (earlier.length === 0) throw new UserError(`no recording was made before ${current} in its folder: profile again after a change, then compare`);
  if (earlier.length === 1) return earlier[0]!.path;
  const picked = await vscode.window.showQuickPick(
    earlier.map((e) => ({ label: basename(e.path), description: new Date(e.mtimeMs).toLocaleString(), detail: e.path, path: e.path })),
    { title: `Capriccio: Compare ${basename(current)} with`, placeHolder: 'an earlier recording (the newest first)', matchOnDetail: true },
  );
  return picked?.path;
}

export class Comparer extends Disposable {
  /** the end last offered (each profile's end is offered once) */
  private offered: Status | undefined;

  constructor(
    private readonly controller: Controller,
    private readonly panel: Panel,
  ) {
    super();
    this._register(controller.onDidChange(() => this.offer()));
  }

  /** Compares and shows the comparison in the panel; undefined when the user picked nothing. */
  async run(a: CompareArgs = {}): Promise<ViewCompare | undefined> {
    const c = this.controller;
    const current = a.current ?? c.recordPath;
    if (current === undefined) throw new UserError('nothing to compare: profile a program or open a recording first');
    const shown = current === c.recordPath && c.view !== undefined;
    if (shown && c.status.kind === 'live') throw new UserError(`${basename(current)} is still being recorded: compare it once the program has ended (or Stop it)`);
    const previous = a.previous ?? (await pickPrevious(current));
    if (previous === undefined) return undefined;
    // The earlier one first: when it cannot be read, what is shown stays.
    const earlier = await loadEarlier(previous);
    if (!shown) await c.open(current);
    const after = c.view;
    if (!after) throw new UserError(`${current}: nothing to compare in it`);
    const compare = viewCompare(earlier.source, earlier.summary, after.summary);
    c.setCompare(compare);
    this.panel.show();
    if (earlier.truncated) void vscode.window.showWarningMessage(`Capriccio: ${previous}: ${earlier.truncated}; comparing everything before it`);
    return compare;
  }

  /** When a profile with a recording ends and earlier recordings lie beside it: offer to compare it with the newest. */
  private offer(): void {
    const st = this.controller.status;
    const record = this.controller.recordPath;
    if (st.kind !== 'ended' || st === this.offered || record === undefined) return;
    this.offered = st;
    void (async () => {
      const earlier = await earlierRecordings(record);
      if (earlier.length === 0) return;
      const pick = await vscode.window.showInformationMessage(`Capriccio: ${st.what} ${st.how}.`, COMPARE_TITLE);
      // The offer lapses once another profile is shown: comparing would replace it.
      if (pick === COMPARE_TITLE && this.controller.recordPath === record) {
        await vscode.commands.executeCommand(COMPARE_COMMAND, { current: record, previous: earlier[0]!.path } satisfies CompareArgs);
      }
    })().catch(() => undefined); // a folder that cannot be read: nothing to offer
  }
}
