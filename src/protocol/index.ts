/** The one source of truth for every message that crosses a thread or a webview boundary. */
export * from './validate';
export * from './errors';
export * from './engine';
export * from './webview';
