// Parsing subcommand arguments: options with or without a value, positionals, and `--`.

/** Wrong arguments: main.ts prints the message and the command's synopsis, and exits 2. */
export class UsageError extends Error {}

export interface OptionSpec {
  /** takes a value (`--name VALUE` or `--name=VALUE`) */
  readonly value: boolean;
  /** other spellings, e.g. -o */
  readonly aliases?: readonly string[];
}

export interface ParsedArgs {
  readonly options: ReadonlyMap<string, string | true>;
  readonly positionals: readonly string[];
  /** what followed `--`, when `stopAtDashDash` */
  readonly rest: readonly string[] | undefined;
}

/**
 * Parses `args` against `spec` (keys are long names without dashes). An option given twice, an
 * unknown option or a missing value is a UsageError. With `stopAtDashDash`, everything after the
 * first `--` is returned untouched in `rest`.
 */
export function parseArgs(args: readonly string[], spec: Readonly<Record<string, OptionSpec>>, stopAtDashDash = false): ParsedArgs {
  const byFlag = new Map<string, string>();
  for (const [name, s] of Object.entries(spec)) {
    byFlag.set(`--${name}`, name);
    for (const a of s.aliases ?? []) byFlag.set(a, name);
  }
  const options = new Map<string, string | true>();
  const positionals: string[] = [];
  let rest: string[] | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      if (stopAtDashDash) {
        rest = args.slice(i + 1);
        break;
      }
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('-') && arg !== '-') {
      const eq = arg.indexOf('=');
      const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
      const name = byFlag.get(flag);
      if (name === undefined) throw new UsageError(`unknown option ${flag}`);
      if (options.has(name)) throw new UsageError(`option --${name} given twice`);
      if (spec[name]!.value) {
        let value: string | undefined;
        if (flag !== arg) value = arg.slice(eq + 1);
        else value = args[++i];
        if (value === undefined) throw new UsageError(`option ${flag} needs a value`);
        options.set(name, value);
      } else {
        if (flag !== arg) throw new UsageError(`option ${flag} takes no value`);
        options.set(name, true);
      }
      continue;
    }
    positionals.push(arg);
  }
  return { options, positionals, rest };
}

/** A string option's value, if given. */
export function stringOption(p: ParsedArgs, name: string): string | undefined {
  const v = p.options.get(name);
  return typeof v === 'string' ? v : undefined;
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
