// The extension inside a real VS Code: commands, profiling a sample end to end (build, live
// panel data, hints, diagnostics, quick fix), recordings, Perfetto export, stack analysis,
// annotations, comparing recordings, and clear errors for bad input.
import * as assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { ViewCompare } from '../../shared/view.ts';
import { api, openSample, profileToEnd, repoRoot, sampleCopy, until } from './util.ts';

const COMMANDS = ['capriccio.profile', 'capriccio.attach', 'capriccio.openRecording', 'capriccio.stop', 'capriccio.exportPerfetto', 'capriccio.analyzeStack', 'capriccio.compareWithPrevious'];

const capriccioDiagnostics = (uri: vscode.Uri): vscode.Diagnostic[] => vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'capriccio');
/** FILE compiled on its own by capcc into dir/OUT, as Profile Program does for the active file. */
const buildAlone = (dir: string, file: string, out: string): void => {
  execFileSync(join(repoRoot(), 'bin', 'capcc'), ['-O2', '-g', '-pthread', file, '-o', out], { cwd: dir });
};
const howEnded = (st: { kind: string; how?: string }): string => (st.kind === 'ended' ? st.how! : `not ended (${st.kind})`);
const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('Capriccio extension', () => {
  it('registers its commands', async () => {
    await api();
    const all = await vscode.commands.getCommands(true);
    for (const c of COMMANDS) assert.ok(all.includes(c), `${c} is not registered`);
  });

  it('leaves no listener behind when the panel is closed and reopened', async () => {
    const { liveDisposables } = await api();
    // The webview's tab (its input's viewType is the panel's, prefixed by the workbench).
    const panelTab = (): vscode.Tab | undefined =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('capriccio.panel'));
    const close = async (): Promise<void> => {
      const tab = panelTab();
      if (tab) await vscode.window.tabGroups.close(tab);
      await until('the panel to close', () => panelTab() === undefined);
    };
    await close();
    const closed = liveDisposables();
    for (let i = 1; i <= 5; i++) {
      await vscode.commands.executeCommand('capriccio.showPanel');
      await until('the panel to open', () => panelTab());
      const open = liveDisposables();
      assert.ok(open > closed, `opening the panel registered nothing (${open} disposables, ${closed} before): the count does not see its listeners`);
      await close();
      // The extension hears of the close a moment after the tab goes (a message from the workbench).
      await until('the disposables to go back', () => liveDisposables() === closed, 15_000).catch(() => undefined);
      assert.equal(liveDisposables(), closed, `disposables still held after the panel's close number ${i}`);
    }
  });

  it('profiles the hog sample: live data, hover, a yield diagnostic whose quick fix removes it', async () => {
    const { controller } = await api();
    const { dir, doc } = await openSample('hog', 'hog.c');
    await vscode.commands.executeCommand('capriccio.profile', { folder: dir, buildCommand: '', program: '', args: ['1'] });
    assert.equal(controller.status.kind === 'live' || controller.status.kind === 'ended', true, `status ${JSON.stringify(controller.status)}`);
    await until('the hog to end', () => controller.status.kind === 'ended');
    const v = controller.view!;
    assert.ok(v.view.nodes.length >= 1, 'no blocking points');
    assert.ok(v.view.history.tNs.length >= 2, 'no history');
    assert.ok(controller.recordPath && existsSync(controller.recordPath), 'no recording kept');

    // One diagnostic for the hot loop, on its header from the `for`, whichever of its lines the
    // samples landed on (the enclosing while loop may get one of its own).
    const loop = lineOf(doc.getText(), 'the hot loop');
    const diags = await until('a yield diagnostic on the hot loop', () => {
      const d = capriccioDiagnostics(doc.uri).filter((x) => x.code === 'yield');
      return d.some((x) => x.range.start.line + 1 === loop) ? d : undefined;
    });
    const lines = diags.map((d) => d.range.start.line + 1);
    const onLoop = diags.filter((d) => d.range.start.line + 1 === loop);
    assert.equal(onLoop.length, 1, `yield diagnostics on lines ${lines.join(', ')}`);
    assert.ok(!lines.includes(loop + 1), `a second diagnostic for the loop, on its body: lines ${lines.join(', ')}`);
    assert.match(onLoop[0]!.message, /in the for loop at hog /);
    assert.equal(onLoop[0]!.range.start.character, doc.lineAt(loop - 1).text.indexOf('for'));

    // Hover at the ticker's usleep: the blocking point with its edges.
    const sleepLine = lineOf(doc.getText(), 'usleep(5000)') - 1;
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(sleepLine, 4));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /Capriccio.*blocking point/);
    assert.match(text, /Runs (into|from) here/);

    // The quick fix: sched_yield() in the loop (hog.c is plain pthread code).
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, onLoop[0]!.range, vscode.CodeActionKind.QuickFix.value);
    const fix = actions.find((a) => /sched_yield/.test(a.title));
    assert.ok(fix?.edit, `no yield quick fix among ${actions.map((a) => a.title).join(', ')}`);
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    await doc.save();
    assert.match(doc.getText(), /#include <sched\.h>/);
    assert.match(doc.getText(), /\{ sched_yield\(\); x = x \*/);
    assert.equal(doc.getText().split('sched_yield();').length, 2, 'not one yield');

    // Profiled again, the loop yields: the ticker runs and no yield is suggested.
    await profileToEnd('the fixed hog', { folder: dir, buildCommand: '', program: '', args: ['1'] });
    assert.deepEqual(
      controller.view!.summary.suggestions.filter((s) => s.kind === 'yield'),
      [],
      'the fixed loop is still reported',
    );
    assert.equal(capriccioDiagnostics(doc.uri).filter((x) => x.code === 'yield').length, 0);
  });

  it('opens a recording and exports it for Perfetto', async () => {
    const { controller } = await api();
    const rec = join(repoRoot(), 'protocol', 'fixtures', 'recording.cap');
    await vscode.commands.executeCommand('capriccio.openRecording', vscode.Uri.file(rec));
    assert.equal(controller.status.kind, 'recording');
    assert.ok(controller.view!.view.nodes.length > 0);
    const out = join(sampleCopy('hog'), 'trace.json');
    const written = await vscode.commands.executeCommand<string>('capriccio.exportPerfetto', out);
    assert.equal(written, out);
    const trace = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: unknown[] };
    assert.ok(trace.traceEvents.length > 0);
  });

  it('keeps what it has when a recording is not one, and says why', async () => {
    const { controller } = await api();
    const before = controller.view;
    const bad = join(sampleCopy('hog'), 'bad.cap');
    writeFileSync(bad, 'this is not a recording');
    await vscode.commands.executeCommand('capriccio.openRecording', vscode.Uri.file(bad));
    assert.ok(before, 'the previous test left a view');
    assert.equal(controller.view, before, 'a bad recording replaced what was shown');
  });

  it('reports a missing compiler by name and builds nothing', async () => {
    const { controller } = await api();
    const { dir } = await openSample('hog', 'hog.c');
    const cfg = vscode.workspace.getConfiguration('capriccio');
    await cfg.update('compiler', '/nonexistent/gcc-42', vscode.ConfigurationTarget.Global);
    try {
      await vscode.commands.executeCommand('capriccio.profile', { folder: dir, buildCommand: '', program: '' });
      assert.equal(controller.status.kind, 'idle');
      assert.ok(!existsSync(join(dir, '.capriccio', 'build', 'hog')));
    } finally {
      await cfg.update('compiler', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('analyzes stack usage from the .ci files: a chunk-size diagnostic whose quick fix sets the first chunk', async () => {
    const { controller } = await api();
    const { dir, doc } = await openSample('deep', 'deep.c');
    await profileToEnd('deep', { folder: dir, buildCommand: '', program: '' });
    const result = await vscode.commands.executeCommand<{ entries: { name: string }[] }>('capriccio.analyzeStack', [dir]);
    assert.ok(result.entries.some((e) => e.name === 'thread'), `no entry 'thread' in ${JSON.stringify(result.entries.map((e) => e.name))}`);
    const chunk = controller.staticSuggestions.find((s) => s.kind === 'chunk-size' && s.function === 'thread');
    assert.ok(chunk && chunk.kind === 'chunk-size', 'no chunk-size suggestion for thread');
    const d = await until('a chunk-size diagnostic', () => capriccioDiagnostics(doc.uri).find((x) => x.code === 'chunk-size'));
    assert.equal(d.range.start.line + 1, lineOf(doc.getText(), 'static void *thread('));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, d.range, vscode.CodeActionKind.QuickFix.value);
    const fix = actions.find((a) => /first chunk/.test(a.title));
    assert.ok(fix?.edit, `no chunk-size quick fix among ${actions.map((a) => a.title).join(', ')}`);
    const spawn = lineOf(doc.getText(), 'pthread_create(');
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    await doc.save();
    assert.match(doc.getText(), new RegExp(`pthread_attr_setstacksize\\(&cap_attr_${spawn}, ${chunk.evidence.suggestedBytes}\\);\\n\\tfor \\(`));
    // It still builds and runs.
    await profileToEnd('the fixed deep', { folder: dir, buildCommand: '', program: '' });
    assert.match(howEnded(controller.status), /exited with status 0/);
  });

  it('annotates an external function in capriccio.annotations.json', async () => {
    const dir = sampleCopy('extlib');
    const uri = vscode.Uri.file(join(dir, 'lookup.c'));
    await vscode.commands.executeCommand('capriccio.annotate', uri, 'slow_lookup', { blocking: true });
    await vscode.commands.executeCommand('capriccio.annotate', uri, 'slow_lookup', { stackBytes: 16384 });
    const file = join(dir, 'capriccio.annotations.json');
    await until('the annotations file', () => existsSync(file) && readFileSync(file, 'utf8').includes('stackBytes'));
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { functions: { slow_lookup: { blocking: true, stackBytes: 16384 } } });
  });

  it('attaches to a program that listens on a telemetry socket', async () => {
    const { controller } = await api();
    const dir = sampleCopy('hog');
    buildAlone(dir, 'hog.c', 'hog');
    const sock = join(dir, 'telemetry.sock');
    const child = spawn(join(dir, 'hog'), ['2'], { env: { ...process.env, CAPRICCIO_TELEMETRY_LISTEN: sock }, stdio: 'ignore' });
    try {
      await until('the socket', () => existsSync(sock));
      await vscode.commands.executeCommand('capriccio.attach', sock);
      assert.equal(controller.status.kind, 'live');
      await until('the program to end', () => controller.status.kind === 'ended');
      assert.match(howEnded(controller.status), /disconnected/);
      assert.ok(controller.view!.view.nodes.length > 0, 'nothing received');
      assert.ok(controller.view!.summary.suggestions.some((g) => g.kind === 'yield'));
    } finally {
      child.kill();
    }
  });

  it('stops a running program and keeps its recording', async () => {
    const { controller } = await api();
    const { dir } = await openSample('hog', 'hog.c');
    await vscode.commands.executeCommand('capriccio.profile', { folder: dir, buildCommand: '', program: '', args: ['60'] });
    await until('live data', () => (controller.view?.view.history.tNs.length ?? 0) >= 3);
    await vscode.commands.executeCommand('capriccio.stop');
    await until('the program to end', () => controller.status.kind === 'ended');
    assert.equal(howEnded(controller.status), 'killed by SIGTERM, sent when Capriccio: Stop was run');
    const record = controller.recordPath!;
    await vscode.commands.executeCommand('capriccio.openRecording', vscode.Uri.file(record));
    assert.equal(controller.status.kind, 'recording');
    assert.ok(controller.view!.view.nodes.length > 0, 'the recording of a stopped program is empty');
    assert.deepEqual(controller.view!.view.end, { status: 'killed by SIGTERM', text: 'killed by SIGTERM, sent when Capriccio: Stop was run', stopped: true, killed: false });
  });

  it('Stop kills a program that ignores SIGTERM after capriccio.killAfterSeconds; the status, the panel and the recording say so', async () => {
    const { controller } = await api();
    const { dir } = await openSample('stubborn', 'stubborn.c', true);
    const cfg = vscode.workspace.getConfiguration('capriccio');
    try {
      // A bad value is refused before anything is built.
      await cfg.update('killAfterSeconds', -1, vscode.ConfigurationTarget.Global);
      const before = controller.status;
      await vscode.commands.executeCommand('capriccio.profile', { folder: dir, buildCommand: '', program: '' });
      assert.equal(controller.status, before);
      assert.ok(!existsSync(join(dir, '.capriccio')), 'built or recorded despite a bad killAfterSeconds');

      await cfg.update('killAfterSeconds', 1, vscode.ConfigurationTarget.Global);
      await vscode.commands.executeCommand('capriccio.profile', { folder: dir, buildCommand: '', program: '' });
      // Its worker blocks only after SIGTERM is ignored: from then on only SIGKILL ends it.
      await until('the worker to block', () => controller.view?.view.nodes.some((n) => n.label === 'worker'));
      await vscode.commands.executeCommand('capriccio.stop');
      await until('the program to end', () => controller.status.kind === 'ended');
      const why = 'killed by the profiler with SIGKILL: it did not exit within 1 s of SIGTERM, sent when Capriccio: Stop was run';
      assert.equal(howEnded(controller.status), why);
      const killed = { status: 'killed by SIGKILL', text: why, stopped: true, killed: true };
      assert.deepEqual(controller.view!.view.end, killed);
      await vscode.commands.executeCommand('capriccio.openRecording', vscode.Uri.file(controller.recordPath!));
      assert.deepEqual(controller.view!.view.end, killed);
      assert.ok(controller.view!.view.nodes.some((n) => n.label === 'worker'), 'what was recorded before the kill is lost');
    } finally {
      await cfg.update('killAfterSeconds', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('runs a "capriccio" launch configuration with the settings (stack mode, scheduler)', async () => {
    const { controller } = await api();
    const dir = sampleCopy('hog');
    buildAlone(dir, 'hog.c', 'hog');
    const cfg = vscode.workspace.getConfiguration('capriccio');
    await cfg.update('stackMode', 'fixed', vscode.ConfigurationTarget.Global);
    await cfg.update('scheduler', 'resource-aware', vscode.ConfigurationTarget.Global);
    try {
      await vscode.debug.startDebugging(undefined, { type: 'capriccio', request: 'launch', name: 'Capriccio: Profile', program: join(dir, 'hog'), args: ['1'], cwd: dir });
      await until('the launched program to end', () => controller.status.kind === 'ended' && controller.status.what === 'hog');
      assert.equal(controller.view!.view.program?.stackMode, 'fixed');
      assert.equal(controller.view!.view.program?.scheduler, 'resource-aware');
      assert.deepEqual(controller.view!.view.program?.args.slice(-1), ['1']);
    } finally {
      await cfg.update('stackMode', undefined, vscode.ConfigurationTarget.Global);
      await cfg.update('scheduler', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('validates capriccio.annotations.json against the contributed schema', async () => {
    const dir = sampleCopy('extlib');
    const file = join(dir, 'capriccio.annotations.json');
    writeFileSync(file, '{"functions": {"slow_lookup": {"stackBytes": "big"}}}\n');
    const doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
    const diags = await until('a schema diagnostic', () => {
      const d = vscode.languages.getDiagnostics(doc.uri);
      return d.length > 0 ? d : undefined;
    });
    assert.ok(diags.some((d) => /integer|type/i.test(d.message)), diags.map((d) => d.message).join('; '));
  });

  it('profiles a program that calls a blocking library: the annotate-blocking quick fix writes the annotation', async () => {
    const { controller } = await api();
    const { dir, doc } = await openSample('extlib', 'lookup.c');
    await profileToEnd('lookup', { folder: dir, buildCommand: 'make', program: 'build/lookup' });
    const d = await until('an annotate-blocking diagnostic', () => capriccioDiagnostics(doc.uri).find((x) => x.code === 'annotate-blocking'));
    assert.equal(d.range.start.line + 1, lineOf(doc.getText(), 'sum += slow_lookup('));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, d.range, vscode.CodeActionKind.QuickFix.value);
    const fix = actions.find((a) => /Annotate slow_lookup as blocking/.test(a.title));
    assert.ok(fix?.command, `no annotate quick fix among ${actions.map((a) => a.title).join(', ')}`);
    await vscode.commands.executeCommand(fix.command.command, ...((fix.command.arguments ?? []) as unknown[]));
    const file = join(dir, 'capriccio.annotations.json');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { functions: { slow_lookup: { blocking: true } } });
    // Rebuilt with the annotation (capcc reads it from the folder), the stalls are gone.
    execFileSync('make', ['clean'], { cwd: dir });
    await profileToEnd('the annotated lookup', { folder: dir, buildCommand: 'make', program: 'build/lookup' });
    assert.deepEqual(controller.view!.summary.suggestions.filter((g) => g.kind === 'annotate-blocking'), []);
  });

  it('profiles a program whose library calls need a big chunk: the annotate-stack quick fix names the function and its stack', async () => {
    const { controller } = await api();
    const { dir, doc } = await openSample('bigframe', 'bigframe.c', true);
    await profileToEnd('bigframe', { folder: dir, buildCommand: 'make', program: 'build/bigframe' });
    const d = await until('an annotate-stack diagnostic', () => capriccioDiagnostics(doc.uri).find((x) => x.code === 'annotate-stack'));
    assert.equal(d.range.start.line + 1, lineOf(doc.getText(), 'render_row(8192)'));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, d.range, vscode.CodeActionKind.QuickFix.value);
    const fix = actions.find((a) => /Annotate render_row with a \d+-byte stack/.test(a.title));
    assert.ok(fix?.command, `no annotate quick fix among ${actions.map((a) => a.title).join(', ')}`);
    await vscode.commands.executeCommand(fix.command.command, ...((fix.command.arguments ?? []) as unknown[]));
    const file = join(dir, 'capriccio.annotations.json');
    const written = JSON.parse(readFileSync(file, 'utf8')) as { functions: { render_row?: { stackBytes?: number } } };
    assert.deepEqual(Object.keys(written.functions), ['render_row']);
    assert.ok((written.functions.render_row?.stackBytes ?? 0) >= 8192, JSON.stringify(written));
    // Rebuilt with the annotation, no call links a big chunk any more.
    execFileSync('make', ['clean'], { cwd: dir });
    await profileToEnd('the annotated bigframe', { folder: dir, buildCommand: 'make', program: 'build/bigframe' });
    assert.deepEqual(controller.view!.summary.suggestions.filter((g) => g.kind === 'annotate-stack'), []);
    assert.deepEqual(controller.view!.summary.stacks.hotSplits.filter((h) => h.function === 'painter'), []);
  });

  it('compares a recording with the previous one: the panel is sent the view with its comparison', async () => {
    const { controller, panelView } = await api();
    const fixtures = join(repoRoot(), 'protocol', 'fixtures');
    const [current, previous] = [join(fixtures, 'recording-v3.cap'), join(fixtures, 'recording.cap')];
    const given = await vscode.commands.executeCommand<ViewCompare | undefined>('capriccio.compareWithPrevious', { current, previous });
    assert.ok(given && given.points.length > 0, `no comparison: ${JSON.stringify(given)}`);
    assert.equal(controller.status.kind, 'recording');
    assert.equal(controller.view!.view.source, current);
    const sent = await until('the panel to be sent the comparison', () => panelView()?.compare);
    assert.equal(panelView()!.source, current);
    assert.deepEqual([sent.source, sent.name], [previous, 'recording.cap']);
    assert.deepEqual(sent, given);

    // Without a previous one: the recording written before it in its folder.
    const dir = mkdtempSync(join(tmpdir(), 'capriccio-vscode-compare-'));
    const [older, newer] = [join(dir, 'prog-1.cap'), join(dir, 'prog-2.cap')];
    copyFileSync(previous, older);
    copyFileSync(current, newer);
    utimesSync(older, 1000, 1000);
    utimesSync(newer, 2000, 2000);
    await vscode.commands.executeCommand('capriccio.compareWithPrevious', { current: newer });
    await until('the panel to be sent the comparison with the older copy', () => panelView()?.compare?.source === older);
    assert.equal(panelView()!.source, newer);

    // Another profile shown: the comparison goes with the one it was made for.
    await vscode.commands.executeCommand('capriccio.openRecording', vscode.Uri.file(older));
    await until('the panel to be sent the view without a comparison', () => panelView()?.source === older);
    assert.equal(panelView()!.compare, undefined);
  });
});
