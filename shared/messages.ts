// The typed contract between a host (the VS Code panel, or the standalone report's shim) and the
// webview: what each side may send, and the parse functions that check what arrived before it is
// used (parseHostMessage in webview/src/main.ts, parseWebviewMessage in the panel). Each message
// type's fields have their checks in a table tied to the union by `satisfies`, so a message or a
// field added to a union and not to its table does not compile. No DOM and no Node here.
import { Invalid, number, object, oneOf, string, type Check, type Shape } from './check.ts';
import type { ViewData } from './view.ts';
import { checkView } from './viewcheck.ts';

/** Host → webview. */
export type HostMessage =
  | { readonly type: 'init'; readonly view: ViewData }
  | { readonly type: 'update'; readonly view: ViewData }
  | { readonly type: 'error'; readonly message: string };

/** Webview → host. */
export type WebviewMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'reveal'; readonly file: string; readonly line: number };

export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** For each message type of the union M, the shape of its fields other than `type`. */
export type Bodies<M extends { readonly type: string }> = { readonly [T in M['type']]: Shape<Omit<Extract<M, { readonly type: T }>, 'type'>> };

// A view's errors are named from "view" ("view.nodes[0].count: ..."), as before messages carried it.
const view: Check<ViewData> = (v) => checkView(v);

export const HOST_MESSAGES = {
  init: { view },
  update: { view },
  error: { message: string },
} satisfies Bodies<HostMessage>;

export const WEBVIEW_MESSAGES = {
  ready: {},
  reveal: { file: string, line: number },
} satisfies Bodies<WebviewMessage>;

/** A message of one of `bodies`' types with its fields checked: a new object holding only them. */
function parse<M extends { readonly type: string }>(bodies: Bodies<M>, data: unknown): ParseResult<M> {
  try {
    const o = object(data, 'message');
    const type = o['type'];
    const types = Object.keys(bodies);
    if (typeof type !== 'string' || !types.includes(type)) {
      return { ok: false, error: `message.type: expected ${oneOf(types)}, got ${JSON.stringify(type) ?? 'nothing'}` };
    }
    const value: Record<string, unknown> = { type };
    for (const [k, check] of Object.entries<Check<unknown>>(bodies[type as M['type']])) value[k] = check(o[k], 'message', k);
    return { ok: true, value: value as M };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.message };
    throw err;
  }
}

/** Checks that `data` is a HostMessage; the error names the first thing that is wrong. */
export const parseHostMessage = (data: unknown): ParseResult<HostMessage> => parse<HostMessage>(HOST_MESSAGES, data);

/** Checks that `data` is a WebviewMessage (for the host side). */
export const parseWebviewMessage = (data: unknown): ParseResult<WebviewMessage> => parse<WebviewMessage>(WEBVIEW_MESSAGES, data);
