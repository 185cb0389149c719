// What the orchestrator (run.ts) and the role processes (roles/*.ts) say to each other over IPC. Both
// sides import these types, so a change to one end that the other does not expect fails the typecheck.

/**
 * The systems under comparison: iris-mesh through one relay, iris-mesh through a backbone of three relays
 * (the sending and the receiving role attached to different relays), and NATS.
 */
export type System = "iris" | "iris3" | "nats";

/**
 * How a role reaches its system: an iris-mesh relay with the service keys, or a nats-server. Both
 * iris-mesh systems use the same client; they differ only in which relay each role is given.
 */
export type Endpoint =
  | { system: "iris"; relay: string; keys: Record<string, string> }
  | { system: "nats"; server: string };

/** Sent once by every role when it starts, before any call. */
export interface RoleReady {
  event: "ready";
  pid: number;
  /** The secretbox backend iris-mesh seals with in this process. */
  secretbox: string;
}

export interface RoleCall {
  id: number;
  op: string;
  args: unknown;
}

export type RoleAnswer = { id: number; result: unknown } | { id: number; error: string };

export interface PublishArgs {
  subject: string;
  size: number;
  /** Messages sent first and not counted by the subscriber. */
  warmup: number;
  /** Messages the subscriber counts. */
  count: number;
}

export interface PublishResult {
  sent: number;
  /** From the first to the last publish handed to the client, measured messages only. */
  elapsedMs: number;
  /** Times the publisher lost its server connection while publishing, and the first few reasons given. */
  drops: number;
  dropReasons: string[];
  /** The longest the publisher's event loop went without a turn while publishing (no timers, no reads). */
  longestStallMs: number;
}

export interface SubscribeArgs {
  subject: string;
  /** The size every message is published with; others are counted as wrong. */
  size: number;
  /** Sequence numbers below this are warm-up and not counted. */
  warmup: number;
}

export interface SubscriberReport {
  /** Measured (non-warm-up) messages received. */
  received: number;
  warmupReceived: number;
  /** Messages whose sequence number was not above the previous one's: reordering or duplicates. */
  outOfOrder: number;
  /** Messages whose length was not the size published. */
  wrongSize: number;
  /** Times the sequence jumped past the highest so far, and how many in those gaps never arrived. */
  gaps: number;
  missing: number;
  /** Of those, gaps at the first message after the client lost its server connection. */
  gapsAfterDrop: number;
  missingAfterDrop: number;
  /** Messages that arrived after a higher sequence number (overtaken), and messages that arrived twice. */
  late: number;
  duplicates: number;
  /** Times the client lost its server connection, and the first few reasons given. */
  drops: number;
  dropReasons: string[];
  /** The first few drops, gaps, late and duplicate arrivals, timed from the subscription. */
  events: string[];
  /** performance.now() in the subscriber at the first and the last measured message. */
  firstAt: number;
  lastAt: number;
}

export interface ServeArgs {
  subject: string;
}

export interface RequestRunArgs {
  subject: string;
  size: number;
  warmup: number;
  count: number;
  timeoutMs: number;
  /** When set, measured requests go on for this long, however many that makes (`count` is ignored). */
  durationMs?: number;
}

export interface RequestRunResult {
  /** Round-trip times of the measured requests, in microseconds, in the order they ran. */
  samplesUs: number[];
  failures: number;
  firstFailure: string | null;
}

/** Opens `count` idle peers, each its own connection to `relay`, `concurrency` at a time. */
export interface IdleOpenArgs {
  relay: string;
  keys: Record<string, string>;
  count: number;
  concurrency: number;
}

export interface IdleOpenResult {
  opened: number;
  failed: number;
  firstFailure: string | null;
  elapsedMs: number;
}

export interface IdleStatus {
  /** Idle peers attached now. */
  attached: number;
  /** Times an idle peer lost its relay, and the first few reasons given. */
  drops: number;
  dropReasons: string[];
  rss: number;
}
