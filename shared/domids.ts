// The names the host's page and the webview's script meet by: the element the webview renders
// into, the standalone report's embedded ViewData, and the event by which the report (which has
// no host to open a file) tells its page about a click on a source location. The host pages are
// written by extension/src/report/html.ts and extension/src/vscode/panel.ts; webview/src/main.ts
// looks them up; webview/src/style.css styles #capriccio-root (CSS cannot import this: a test
// checks that it names ROOT_ID).

/** The element the webview renders into. */
export const ROOT_ID = 'capriccio-root';
/** The report's <script type="application/json"> holding its ViewData. */
export const DATA_ID = 'capriccio-data';
/** Dispatched on window by the report for a 'reveal': detail { file, line }. */
export const REVEAL_EVENT = 'capriccio-reveal';
