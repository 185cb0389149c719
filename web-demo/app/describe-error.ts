// Errors as sentences a person can act on. Core's errors are classes with a stable code; each gets a
// message that says what happened and what to do, in the terms of the dashboard (tabs, links, keys).

import {
  ClosedError,
  DeniedError,
  KeyError,
  NoMembersError,
  OverloadedError,
  ProtocolError,
  RemoteError,
  TimeoutError,
  TooLargeError,
} from "../../core/browser.ts";

export interface ErrorContext {
  /** The cluster or topic the operation addressed. */
  kind?: "cluster" | "topic";
  name?: string;
  /** Whether this tab runs in development mode (keys derived from names). */
  development: boolean;
}

export function describeError(error: unknown, context: ErrorContext): string {
  const what = context.name ? `${context.kind ?? "cluster"} "${context.name}"` : "the service";
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof NoMembersError) {
    return context.development
      ? `No members in ${what}: nobody has joined it. Join it from a tab ("Serve a cluster") or run npm start for the Node members.`
      : `No members in ${what} for this link's key: nobody holding the same key has joined. A peer with a different key is in a different cluster, invisible from here.`;
  }
  if (error instanceof KeyError) {
    return `No key for ${what} in this link (private mode uses only the keys in the link's #fragment). Generate one under "Keys", or go back to development mode.`;
  }
  if (error instanceof TimeoutError)
    return `Timed out: ${message}. The member may be busy or gone; try again or allow more time.`;
  if (error instanceof RemoteError) return `The member's handler failed: ${message}`;
  if (error instanceof OverloadedError)
    return `The member is overloaded: its limits refused the work (${message}). Try again shortly.`;
  if (error instanceof TooLargeError) return `Too large: ${message}`;
  if (error instanceof ClosedError)
    return `Interrupted: ${message}. If the relay link dropped, the tab is reconnecting; try again.`;
  if (error instanceof DeniedError) return `The relay refused: ${message}`;
  if (error instanceof ProtocolError) return `Protocol error (a bug, or a relay tampering with traffic): ${message}`;
  return message || "Something went wrong.";
}

/** connect() failed: most often nothing listens at the relay address. */
export function describeConnectError(error: unknown, relays: string[], source: "query" | "stack" | "default"): string {
  const where = relays.join(", ");
  if (error instanceof DeniedError) return `The relay refused this tab: ${error.message}`;
  const hint =
    source === "query"
      ? "Check the ?relay= address in this page's link."
      : source === "stack"
        ? "The stack that served this page may have stopped: run npm start again."
        : "Start one with npm start, or point the page at one with ?relay=ws://host:port.";
  const detail = error instanceof Error ? error.message : String(error);
  return `Relay unreachable: no relay answered at ${where}. ${hint} (${detail})`;
}
