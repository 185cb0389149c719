// What the orchestrator (run.ts and the scenarios) and the role processes (roles/*.ts) say to each other
// over IPC. Both sides import these types, so a change to one end that the other does not expect fails
// the typecheck. Times that cross processes are epoch milliseconds (performance.timeOrigin + now()).

/**
 * The systems under comparison: iris-mesh through one relay, iris-mesh through a backbone of three relays
 * (the sending and the receiving roles attached to different relays), and NATS.
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

/** Random bytes (nothing compresses) or JSON-like text (compresses several times over). */
export type PayloadKind = "random" | "text";

export interface PublishArgs {
  subject: string;
  size: number;
  payload: PayloadKind;
  /** The first sequence number: warm-up starts at 0, the measured phase where warm-up ended. */
  from: number;
  /** Publish for this long, as fast as the client's own flow control allows. */
  durationMs: number;
}

export interface PublishResult {
  /** Messages published in this call, numbered from `from`. */
  sent: number;
  /** From the first to the last publish handed to the client. */
  elapsedMs: number;
  /** Times the publisher lost its server connection during this call, and the first few reasons given. */
  drops: number;
  dropReasons: string[];
  /** The longest the publisher's event loop went without a turn while publishing (no timers, no reads). */
  longestStallMs: number;
}

export interface SubscribeArgs {
  subject: string;
  /** The size every message is published with; others are counted as wrong. */
  size: number;
}

/** From now on, sequence numbers from `from` up are measured; the counts of the measured phase restart. */
export interface MeasureArgs {
  from: number;
}

export interface SubscriberReport {
  /** Measured messages received (distinct). */
  received: number;
  /** Warm-up messages received (distinct). */
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
  /** Epoch ms at the first and the last measured message. */
  firstAt: number;
  lastAt: number;
  /** The longest wait between two measured messages, ms: how long anything held this subscriber up. */
  longestGapMs: number;
}

export interface ServeArgs {
  subject: string;
  /** NATS queue group to join, so requests are balanced over its members (iris-mesh balances anyway). */
  group?: string;
}

export interface ServeReport {
  /** Requests answered since the role started. */
  served: number;
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

/** Requests kept `inflight` at a time for `durationMs`; the last ones are awaited. */
export interface LoadArgs {
  subject: string;
  size: number;
  inflight: number;
  durationMs: number;
  timeoutMs: number;
}

export interface LoadResult {
  completed: number;
  failures: number;
  firstFailure: string | null;
  /** From the first request sent to the last reply. */
  elapsedMs: number;
}

/** How a stream of bytes travels: an iris-mesh tunnel to a member, or a raw WebSocket through a forwarder. */
export type StreamVia = { kind: "tunnel"; subject: string } | { kind: "ws"; url: string };

export interface SendStreamArgs {
  via: StreamVia;
  total: number;
  messageSize: number;
}

export interface SendStreamResult {
  bytes: number;
  /** SHA-256 (hex) of everything sent, in order. */
  sha256: string;
  /** Epoch ms: before the first message, and once the last was accepted and the stream closed. */
  startedAt: number;
  endedAt: number;
  error: string | null;
}

export interface ReceiveStreamArgs {
  via: StreamVia;
  /** Bytes expected. */
  total: number;
  /** Stop reading for `pauseMs` once this many bytes have arrived; -1 never. */
  pauseAfter: number;
  pauseMs: number;
}

export interface StreamReport {
  bytes: number;
  messages: number;
  /** SHA-256 (hex) of everything received, once the stream ended; "" before. */
  sha256: string;
  /** Epoch ms of the first and the last message. */
  firstAt: number;
  lastAt: number;
  /** The stream ended (closed by the sender, or all bytes in), or failed with `error`. */
  done: boolean;
  error: string | null;
  /** How long reading was paused. */
  pausedMs: number;
}

export interface ForwarderReport {
  /** Messages and bytes passed from the sender to the receiver. */
  messages: number;
  bytes: number;
  /** Times the forwarder stopped reading from the sender because the receiver's socket was full. */
  pauses: number;
}
