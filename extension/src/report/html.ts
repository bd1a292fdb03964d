// The standalone report: one self-contained HTML file holding the webview bundle, its CSS and the
// ViewData, under a strict Content-Security-Policy with a fresh nonce. No network, no inline
// event handlers; opens offline in any browser.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { capriccioRoot } from '../cli/paths.ts';
import { DATA_ID, ROOT_ID } from '../../../shared/domids.ts';
import type { ViewData } from '../../../shared/view.ts';

export interface WebviewBundle {
  readonly js: string;
  readonly css: string;
}

/** dist/webview.js and dist/webview.css of this installation (built by `npm run build`). */
export function loadBundle(root: string = capriccioRoot()): WebviewBundle {
  const js = join(root, 'dist', 'webview.js');
  const css = join(root, 'dist', 'webview.css');
  if (!existsSync(js) || !existsSync(css)) throw new Error(`the webview bundle (${js}) is missing: run npm run build`);
  return { js: readFileSync(js, 'utf8'), css: readFileSync(css, 'utf8') };
}

/** A nonce for script-src/style-src: 128 random bits, base64. */
export const newNonce = (): string => randomBytes(16).toString('base64');

/** The CSP of the report: nothing but the nonced script and style, and data: images. */
export const reportCsp = (nonce: string): string => `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src data:;`;

/** JSON safe inside <script type="application/json">: no "<" (so no "</script>"), no U+2028/9. */
export const embedJson = (v: unknown): string =>
  JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

/** Script text safe inside <script>: an inner "</script" would end the element early. */
const embedScript = (js: string): string => js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
const embedStyle = (css: string): string => css.replace(/<\/(style)/gi, '<\\/$1');

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function reportHtml(view: ViewData, bundle: WebviewBundle, nonce: string = newNonce()): string {
  const title = view.program ? `Capriccio — ${view.program.executable.split('/').pop()}` : 'Capriccio report';
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${reportCsp(nonce)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style nonce="${nonce}">${embedStyle(bundle.css)}</style>`,
    '</head>',
    '<body>',
    `<div id="${ROOT_ID}"></div>`,
    `<script type="application/json" id="${DATA_ID}">${embedJson(view)}</script>`,
    `<script nonce="${nonce}">${embedScript(bundle.js)}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
