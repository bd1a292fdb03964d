// Where a run-time address lies among the program's modules, and the name the program links
// against for the function there: what suggestions and stalls name.
import type { Model } from '../model/model.ts';
import type { Address } from '../../../shared/protocol.ts';
import { linkName } from '../symbols/aliases.ts';

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
