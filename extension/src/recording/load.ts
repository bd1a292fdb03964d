// Loading a recording into a model with its symbols, and completing a recording with SYMBOLS and
// INLINED frames so it can be read where the binary is not.
import { appendFile } from 'node:fs/promises';
import { readRecording, type Recording } from '../protocol/decode.ts';
import { inlinedFrames, symbolsFrames } from '../protocol/encode.ts';
import { Model, type ModelCaps } from '../model/model.ts';
import { Addr2lineSymbolizer, SymbolTable, type Addr2lineOptions, type AddressUse } from '../symbols/symbols.ts';
import type { Address } from '../../../shared/protocol.ts';

export interface Loaded {
  readonly recording: Recording;
  readonly model: Model;
  readonly table: SymbolTable;
  /** where the symbols came from */
  readonly symbolSource: 'symbols-frame' | 'addr2line' | 'none';
}

/** Every address the model refers to, with its use. */
export function modelAddresses(model: Model): { addr: Address; use: AddressUse }[] {
  const { pcs, returns } = model.addresses();
  return [...[...pcs].map((addr) => ({ addr, use: 'pc' as const })), ...[...returns].map((addr) => ({ addr, use: 'return' as const }))];
}

/** Symbols for a model: its SYMBOLS frames when present, else addr2line over the HELLO modules. */
export async function symbolsFor(model: Model, opts: Addr2lineOptions = {}): Promise<{ table: SymbolTable; source: Loaded['symbolSource'] }> {
  if (model.symbols.size > 0) return { table: SymbolTable.fromEntries(model.symbols.values(), model.inlined), source: 'symbols-frame' };
  if (!model.hello) return { table: new SymbolTable(), source: 'none' };
  const table = await new Addr2lineSymbolizer(model.hello.modules, opts).resolve(modelAddresses(model));
  return { table, source: 'addr2line' };
}

/** Replays a recording's frames into a model. */
export function replay(recording: Recording, caps: Partial<ModelCaps> = {}): Model {
  const model = new Model(caps);
  for (const f of recording.frames) model.apply(f.frame);
  for (const e of recording.errors) model.addError(e);
  if (recording.truncated) model.addError(recording.truncated);
  return model;
}

export async function loadRecording(path: string, opts: Addr2lineOptions & { caps?: Partial<ModelCaps> } = {}): Promise<Loaded> {
  const recording = await readRecording(path);
  const model = replay(recording, opts.caps);
  const { table, source } = await symbolsFor(model, opts);
  return { recording, model, table, symbolSource: source };
}

/**
 * Appends SYMBOLS frames covering every address the recording refers to (symbolized now with
 * addr2line, while the binary is here), then INLINED frames with the rest of each inline chain, so
 * that the recording names every address as a live session does. A recording that already has
 * SYMBOLS is left alone. Returns the number of SYMBOLS entries written.
 */
export async function appendSymbols(path: string, opts: Addr2lineOptions = {}): Promise<number> {
  const recording = await readRecording(path);
  if (recording.truncated) return 0; // appending after a cut frame would be swallowed by it
  // Every address of every frame, not only what a capped model would keep.
  const model = new Model({ nodes: Infinity, edges: Infinity, samples: Infinity, stalls: Infinity, spawnSites: Infinity, hotSplits: Infinity, holds: Infinity, wakes: Infinity });
  for (const f of recording.frames) model.apply(f.frame);
  if (model.symbols.size > 0 || !model.hello) return 0;
  const table = await new Addr2lineSymbolizer(model.hello.modules, opts).resolve(modelAddresses(model));
  const entries = table.entries();
  if (entries.length === 0) return 0;
  await appendFile(path, Buffer.concat([...symbolsFrames(entries), ...inlinedFrames(table.inlinedEntries())]));
  return entries.length;
}
