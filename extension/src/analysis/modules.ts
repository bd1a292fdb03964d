// Where a run-time address lies among the program's modules, the name the program links against
// for the function there, and the library an imported function comes from: what suggestions,
// stalls and hot splits name.
import { basename } from 'node:path';
import type { Model } from '../model/model.ts';
import type { Address } from '../../../shared/protocol.ts';
import { elfSymbols, linkName } from '../symbols/aliases.ts';

/** The module holding a run-time address (the program's modules, executable first), and where in its file. */
export function inModule(model: Model, addr: Address): { readonly path: string; readonly fileAddr: bigint; readonly program: string } | undefined {
  const modules = model.hello?.modules ?? [];
  const v = BigInt(addr);
  const m = modules.find((x) => BigInt(x.start) <= v && v < BigInt(x.end));
  return m && modules[0] ? { path: m.path, fileAddr: v - BigInt(m.bias), program: modules[0].path } : undefined;
}

/**
 * The name the program links against for the function at `addr` (aliases.ts): glibc's debug
 * information names `pause` `__libc_pause`, which an annotation cannot use. `debugName` (the
 * symbolizer's) when that cannot be read here.
 */
export function linkedName(model: Model, addr: Address, debugName: string): string {
  const m = inModule(model, addr);
  return (m && linkName(m.path, m.fileAddr, m.program)) ?? debugName;
}

/** A shared library's short name: "libc" for /lib/x86_64-linux-gnu/libc.so.6. */
export const libraryName = (path: string): string => {
  const file = basename(path);
  return /^(.+?)\.so(\.|$)/.exec(file)?.[1] ?? file;
};

/**
 * The short name of the first of the program's shared libraries (in load order, as the dynamic
 * linker searches them) that exports a function `name`; undefined when none here does (a
 * recording read where its libraries are not).
 */
export function definingLibrary(model: Model, name: string): string | undefined {
  for (const m of (model.hello?.modules ?? []).slice(1)) {
    const defined = elfSymbols(m.path, 'dynamic')?.some((s) => s.name === name && !s.undefined && (s.type === 'FUNC' || s.type === 'IFUNC'));
    if (defined) return libraryName(m.path);
  }
  return undefined;
}
