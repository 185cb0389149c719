// Errors as causes a person can act on. Core's errors are classes with a stable code; the page adds
// what it knows besides (was the tab connected? in which mode?) and names one cause, in words, with the
// next step. Failures of one cause are grouped, numbered the way the page's list numbers them, so ten
// timeouts read as one sentence about "#1-#10", not ten copies of it.

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

export type Cause =
  | "disconnected"
  | "no-members"
  | "no-key"
  | "timeout"
  | "overloaded"
  | "handler-failed"
  | "too-large"
  | "closed"
  | "denied"
  | "protocol"
  | "other";

export interface Diagnosis {
  cause: Cause;
  /** A few words for one item of a list (the whole sentence goes once, with its group). */
  short: string;
  /** What happened, in the page's terms. */
  what: string;
  /** What to do next. */
  next: string;
  /** Failures with the same key are the same problem (a handler's message is part of its key). */
  key: string;
}

export interface DiagnosisContext {
  kind: "cluster" | "topic";
  name: string;
  /** Development mode: names without a key in the link get keys derived from them. */
  development: boolean;
  /** The tab had no relay at some moment while the operation was under way. */
  disconnected: boolean;
  /** The relay lost last, for the words. */
  lastDrop?: string | null;
}

const SHORT: Record<Cause, string> = {
  disconnected: "no relay (disconnected)",
  "no-members": "no members",
  "no-key": "no key",
  timeout: "timed out",
  overloaded: "member overloaded",
  "handler-failed": "the handler failed",
  "too-large": "too large",
  closed: "interrupted",
  denied: "refused by the relay",
  protocol: "protocol error",
  other: "failed",
};

export function diagnose(error: unknown, context: DiagnosisContext): Diagnosis {
  const what = `${context.kind} "${context.name}"`;
  const make = (cause: Cause, text: string, next: string, detail = ""): Diagnosis => ({
    cause,
    short: SHORT[cause],
    what: text,
    next,
    key: `${cause}:${detail}`,
  });
  if (context.disconnected && (error instanceof TimeoutError || error instanceof ClosedError)) {
    const lost = context.lastDrop ? ` (lost ${context.lastDrop})` : "";
    return make(
      "disconnected",
      `This tab was not connected to any relay${lost}, so the work could not go out or come back in time.`,
      "It reconnects by itself as soon as a relay answers. If every relay is down, restart one from the relay list (or run npm start), then try again.",
    );
  }
  if (error instanceof NoMembersError) {
    return context.development
      ? make(
          "no-members",
          `Nobody serves ${what}: it has no members.`,
          `Join it from a tab ("Serve a cluster from this tab"), or check the name; npm start runs Node members of "echo" and "files".`,
        )
      : make(
          "no-members",
          `Nobody holding this link's key serves ${what}. A peer with another key for the same name is in a different cluster, invisible from here.`,
          "Open this tab's link in another tab and join the cluster there.",
        );
  }
  if (error instanceof KeyError) {
    return make(
      "no-key",
      `This tab has no key for ${what}: its link carries private keys only, for other names.`,
      `Generate a key for "${context.name}" under Keys, or open the page without keys (development mode).`,
    );
  }
  if (error instanceof TimeoutError) {
    return make(
      "timeout",
      `No answer in time from ${what}, although this tab stayed connected: its members may be busy, stuck or gone, or a relay that just started is still giving them time to come back (a few seconds) before it says nobody serves it.`,
      "Try again, or allow a longer timeout.",
    );
  }
  if (error instanceof OverloadedError) {
    return make(
      "overloaded",
      `A member of ${what} is overloaded: its limits refused the work.`,
      "Send fewer at once, or add members.",
    );
  }
  if (error instanceof RemoteError) {
    return make(
      "handler-failed",
      `A member's handler failed: ${error.message}`,
      "That member's code threw; look there.",
      error.message,
    );
  }
  if (error instanceof TooLargeError) {
    return make(
      "too-large",
      `Too large: ${error.message}.`,
      "Send less at once, or a file through a tunnel.",
      error.message,
    );
  }
  if (error instanceof ClosedError) {
    return make("closed", `Interrupted: ${error.message}.`, "Try again.", error.message);
  }
  if (error instanceof DeniedError) {
    return make(
      "denied",
      `The relay refused: ${error.message}.`,
      "Check the key and the relay's limits.",
      error.message,
    );
  }
  if (error instanceof ProtocolError) {
    return make(
      "protocol",
      `Protocol error: ${error.message}.`,
      "A bug, or something tampering with the traffic; reload the tab.",
      error.message,
    );
  }
  // Not one of core's errors: one of the page's own sentences, complete as it is.
  const message = error instanceof Error ? error.message : String(error);
  return make("other", message || "Something went wrong.", "", message);
}

/** Failures grouped by cause, each with the numbers of the items that met it. */
export class FailureGroups {
  private readonly groups = new Map<string, { diagnosis: Diagnosis; numbers: number[] }>();

  add(number: number, diagnosis: Diagnosis): void {
    let group = this.groups.get(diagnosis.key);
    if (!group) this.groups.set(diagnosis.key, (group = { diagnosis, numbers: [] }));
    group.numbers.push(number);
  }

  get size(): number {
    return this.groups.size;
  }

  /** Largest group first. */
  list(): Array<{ diagnosis: Diagnosis; numbers: number[] }> {
    return [...this.groups.values()].sort((a, b) => b.numbers.length - a.numbers.length);
  }
}

/** "#3", "#3, #5", "#3-#10, #12": the numbers of a group as the list shows them. */
export function numberRanges(numbers: readonly number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(
      j > i + 1 ? `#${sorted[i]}–#${sorted[j]}` : j === i + 1 ? `#${sorted[i]}, #${sorted[j]}` : `#${sorted[i]}`,
    );
    i = j + 1;
  }
  return parts.join(", ");
}

/** connect() failed: most often nothing listens at the relay address. */
export function describeConnectError(error: unknown, relays: string[], source: "query" | "stack" | "default"): string {
  const where = relays.join(", ");
  if (error instanceof DeniedError) return `The relay refused this tab: ${error.message}`;
  const hint =
    source === "query"
      ? "Check the ?relay= address in this page's link."
      : source === "stack"
        ? "The stack that served this page may have stopped, or all its relays are down: run npm start again."
        : "Start one with npm start, or point the page at one with ?relay=ws://host:port.";
  const detail = error instanceof Error ? error.message : String(error);
  return `Relay unreachable: no relay answered at ${where}. ${hint} (${detail})`;
}
