// Relay addresses for the WebSocket entries are checked before anything is dialed: a typo in a URL is
// a programming error to report at once, not a connection failure to retry until connect() times out.

/**
 * Throws a TypeError naming the first address that is not a ws:// or wss:// URL.
 * @internal
 */
export function checkWebSocketUrls(relays: unknown): void {
  if (!Array.isArray(relays) || relays.length === 0) {
    throw new TypeError("connect: `relays` must list at least one relay address");
  }
  for (const relay of relays) {
    const url = typeof relay === "string" && URL.canParse(relay) ? new URL(relay) : null;
    if (!url || (url.protocol !== "ws:" && url.protocol !== "wss:")) {
      throw new TypeError(
        `connect: \`relays\` must hold ws:// or wss:// URLs such as "ws://127.0.0.1:7600"; got ${JSON.stringify(relay)}`,
      );
    }
  }
}
