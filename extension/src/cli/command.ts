// What every `capriccio` subcommand looks like, and how it ends.

/** How a subcommand finished: an exit code, or the signal that ended the child it ran. */
export type ExitStatus =
  | { readonly kind: 'code'; readonly code: number }
  | { readonly kind: 'signal'; readonly signal: NodeJS.Signals };

export interface Command {
  /** One line for `capriccio help`. */
  readonly summary: string;
  /** Argument synopsis shown after the command name, e.g. `[gcc args...]`. */
  readonly args: string;
  run(args: readonly string[]): Promise<ExitStatus>;
}

export const exitCode = (code: number): ExitStatus => ({ kind: 'code', code });

/** Bad usage (unknown command, wrong arguments): exit status 2. */
export const USAGE_ERROR = 2;
