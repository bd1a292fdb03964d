// Parsing subcommand arguments with node:util's parseArgs: options with or without a value,
// positionals, and `--`. Its tokens are checked here so that every mistake is a UsageError whose
// message names the option as it was typed (parseArgs's own strict errors are long, and would
// change the messages the CLI has always printed).
import { parseArgs as parseTokens } from 'node:util';

/** Wrong arguments: main.ts prints the message and the command's synopsis, and exits 2. */
export class UsageError extends Error {}

export interface OptionSpec {
  /** takes a value (`--name VALUE` or `--name=VALUE`) */
  readonly value: boolean;
  /** a one-letter spelling: 'o' for -o */
  readonly short?: string;
  /** may be given many times (values in order); else twice is a UsageError */
  readonly multiple?: boolean;
}

export interface ParsedArgs {
  /** a value, true for an option without one, the values in order for a `multiple` one */
  readonly options: ReadonlyMap<string, string | true | readonly string[]>;
  readonly positionals: readonly string[];
  /** what followed `--`, when `stopAtDashDash` */
  readonly rest: readonly string[] | undefined;
}

/**
 * Parses `args` against `spec` (keys are long names without dashes). An unknown option, an option
 * given twice (unless `multiple`), a missing value or a value given to an option without one is a
 * UsageError. With `stopAtDashDash`, everything after the first `--` is returned untouched in `rest`.
 */
export function parseArgs(args: readonly string[], spec: Readonly<Record<string, OptionSpec>>, stopAtDashDash = false): ParsedArgs {
  const config = Object.fromEntries(
    Object.entries(spec).map(([name, s]) => [name, { type: s.value ? ('string' as const) : ('boolean' as const), ...(s.short !== undefined ? { short: s.short } : {}) }]),
  );
  const { tokens } = parseTokens({ args: [...args], options: config, strict: false, allowPositionals: true, tokens: true });
  const options = new Map<string, string | true | readonly string[]>();
  const positionals: string[] = [];
  let rest: string[] | undefined;
  for (const t of tokens) {
    if (t.kind === 'positional') {
      positionals.push(t.value);
      continue;
    }
    if (t.kind === 'option-terminator') {
      if (!stopAtDashDash) continue; // what follows comes as positionals
      rest = args.slice(t.index + 1);
      break;
    }
    const s = Object.hasOwn(spec, t.name) ? spec[t.name] : undefined;
    // -xyz is read as -x -y -z: name the argument as typed
    if (s === undefined) throw new UsageError(`unknown option ${t.rawName.startsWith('--') ? t.rawName : args[t.index]}`);
    if (s.value) {
      if (t.value === undefined) throw new UsageError(`option ${t.rawName} needs a value`);
    } else if (t.value !== undefined) {
      throw new UsageError(`option ${t.rawName} takes no value`);
    }
    const had = options.get(t.name);
    if (s.multiple) options.set(t.name, [...(typeof had === 'object' ? had : []), t.value ?? '']);
    else if (had !== undefined) throw new UsageError(`option --${t.name} given twice`);
    else options.set(t.name, t.value ?? true);
  }
  return { options, positionals, rest };
}

/** A string option's value, if given. */
export function stringOption(p: ParsedArgs, name: string): string | undefined {
  const v = p.options.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** A `multiple` option's values, in the order given. */
export function stringsOption(p: ParsedArgs, name: string): readonly string[] {
  const v = p.options.get(name);
  return typeof v === 'object' ? v : [];
}

export interface NumberSpec {
  /** a whole number */
  readonly integer?: boolean;
  /** 0 is allowed (else the number must be positive) */
  readonly zero?: boolean;
  /** the largest value allowed */
  readonly max?: number;
}

/** A number option (`--duration 2.5`): positive unless `zero`, whole when `integer`, at most `max`. */
export function numberOption(p: ParsedArgs, name: string, spec: NumberSpec = {}): number | undefined {
  const v = stringOption(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !spec.zero) || (spec.integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} needs a ${spec.zero ? 'non-negative' : 'positive'} ${spec.integer ? 'whole ' : ''}number, not '${v}'`);
  }
  if (spec.max !== undefined && n > spec.max) throw new UsageError(`--${name} can be at most ${spec.max}, not '${v}'`);
  return n;
}
