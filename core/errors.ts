// Every error a caller can meet is a named class with a stable `code`, exported for instanceof checks.

/** The stable `code` of every {@link IrisError}, one per class: match on it where instanceof cannot reach. */
export type IrisErrorCode =
  | "TIMEOUT"
  | "NO_MEMBERS"
  | "REMOTE"
  | "CLOSED"
  | "OVERLOADED"
  | "TOO_LARGE"
  | "KEY"
  | "PROTOCOL"
  | "DENIED"
  | "UNREACHABLE"
  | "ALREADY_REGISTERED";

/**
 * The base of every error the network gives a caller. Each subclass has a stable `code`, so errors can
 * be told apart by class (instanceof) or by code (across realms, in logs).
 *
 * @example
 * ```ts
 * try {
 *   await conn.request("db", query, { timeout: 1000 });
 * } catch (error) {
 *   if (error instanceof NoMembersError) return fallback();
 *   if (error instanceof IrisError) console.warn(error.code, error.message);
 *   throw error;
 * }
 * ```
 */
export class IrisError extends Error {
  /** What went wrong, stable across versions; one value per subclass. */
  readonly code: IrisErrorCode;
  constructor(code: IrisErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The operation did not finish within its deadline. Created at call time so the stack shows the caller. */
export class TimeoutError extends IrisError {
  constructor(message: string) {
    super("TIMEOUT", message);
  }
}

/** The cluster has no member reachable now; returned at once instead of waiting for a timeout. */
export class NoMembersError extends IrisError {
  constructor(message: string) {
    super("NO_MEMBERS", message);
  }
}

/** The member's handler threw; `message` is the handler's message, carried sealed across the wire. */
export class RemoteError extends IrisError {
  constructor(message: string) {
    super("REMOTE", message);
  }
}

/** The connection, tunnel or subscription was closed before the operation could finish. */
export class ClosedError extends IrisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CLOSED", message, options);
  }
}

/** A member's service limits (concurrency, queued bytes) refused the work. */
export class OverloadedError extends IrisError {
  constructor(message: string) {
    super("OVERLOADED", message);
  }
}

/** A message is larger than the configured limit. Nothing was sent. */
export class TooLargeError extends IrisError {
  constructor(message: string) {
    super("TOO_LARGE", message);
  }
}

/** No key is configured for that cluster or topic, or a key is malformed. */
export class KeyError extends IrisError {
  constructor(message: string) {
    super("KEY", message);
  }
}

/** The other end broke the protocol: a malformed frame, a failed seal, a sequence or credit violation. */
export class ProtocolError extends IrisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("PROTOCOL", message, options);
  }
}

/** The relay refused us: wrong protocol version, failed proof of membership, or a policy limit. */
export class DeniedError extends IrisError {
  constructor(message: string) {
    super("DENIED", message);
  }
}

/** Why one relay could not be attached to, as {@link UnreachableError} lists it. */
export interface RelayFailure {
  /** The relay's address, as given. */
  readonly relay: string;
  /** The WebSocket close code, 1006 when no connection was made at all. */
  readonly code: number;
  /** What went wrong, e.g. "connect ECONNREFUSED 127.0.0.1:7600". */
  readonly reason: string;
}

/**
 * connect() tried every relay once and none would take the connection: each refused it, failed it, or
 * closed it before the handshake. `causes` says why, relay by relay. connect() fails with it at once
 * rather than after `connectTimeout`, since waiting would only repeat the same failures.
 */
export class UnreachableError extends IrisError {
  /** One entry per relay, in the order they were tried. */
  readonly causes: readonly RelayFailure[];
  constructor(message: string, causes: readonly RelayFailure[]) {
    super("UNREACHABLE", message);
    this.causes = causes;
  }
}

/** register() was called for a cluster this connection is registered in already. */
export class AlreadyRegisteredError extends IrisError {
  constructor(message: string) {
    super("ALREADY_REGISTERED", message);
  }
}
