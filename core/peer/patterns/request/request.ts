// Request/reply. The caller seals a request under the cluster key and the relay hands it to one member,
// balanced by load; the member's reply is sealed too and bound to the request's message id, so a relay
// can neither read nor swap replies. A member runs at most `concurrency` handlers at once and queues up
// to `queuedBytes` more; past that the caller gets OverloadedError at once.

import { Deadlines } from "../../../util/deadlines.ts";
import type { Timed } from "../../../util/deadlines.ts";
import { HexCache } from "../../../util/hex-cache.ts";
import { equalBytes, fromUtf8, toHex, utf8 } from "../../../util/bytes.ts";
import type { Link } from "../../../transports/link.ts";
import type { RequestAffinity } from "./affinity.ts";
import type { ServiceKeys } from "../../../crypto/keys.ts";
import { Purpose, SealError, open } from "../../../crypto/seal.ts";
import type { Opened } from "../../../crypto/seal.ts";
import {
  ClosedError,
  NoMembersError,
  OverloadedError,
  ProtocolError,
  RemoteError,
  TimeoutError,
} from "../../../errors.ts";
import {
  FrameType,
  MAX_HOPS,
  PEER_ID_BYTES,
  ReplyStatus,
  encodeFrame,
  replyHeaderSize,
  requestHeaderSize,
  writeReplyHeader,
  writeRequestHeader,
} from "../../../wire/frames.ts";
import type { ReplyFrame, RequestFrame } from "../../../wire/frames.ts";
import { checkSize, openFresh, sealedFrame, toBytes } from "../context.ts";
import { ReplyCache } from "./reply-cache.ts";
import type { MessageInfo, Payload, PeerContext } from "../context.ts";

/**
 * Options of {@link Connection.request}.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const reply = conn.request("db", query, { timeout: 2000, signal: controller.signal });
 * controller.abort(); // the request rejects with the signal's reason
 * ```
 */
export interface RequestOptions {
  /** How long to wait for the reply before the call fails with TimeoutError. Default 30 s. */
  timeout?: number;
  /** Gives up waiting for the reply, and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Do not compress: compression leaks information about content through its length. */
  sensitive?: boolean;
}

export const DEFAULT_REQUEST_TIMEOUT = 30_000;

/** What a call's promise settles with when its timer fires first: the error is made where it is awaited. */
const TIMED_OUT = Symbol("timed out");

/** One request waiting for its reply. */
class Call implements Timed {
  /** The frame reached a link; if that link dies, the call is sent again on the next one. */
  sent = false;
  /** The frame waits in the outbox, which hands it to the next link by itself. */
  queued = false;
  /** Sent straight to this member over a direct link (hex), or null: through the relays. */
  direct: string | null = null;
  deadline = 0;
  heapIndex = -1;
  /** Made only for a call with a signal. */
  onAbort: (() => void) | null = null;
  readonly settled: Promise<Uint8Array | typeof TIMED_OUT>;
  private settle!: (outcome: Uint8Array | typeof TIMED_OUT) => void;
  private fail!: (error: unknown) => void;

  constructor(
    private readonly owner: RequestCaller,
    readonly reqId: number,
    readonly keys: ServiceKeys,
    readonly messageId: Uint8Array,
    readonly frame: Uint8Array,
    readonly timeoutMs: number,
    readonly signal: AbortSignal | undefined,
  ) {
    this.settled = new Promise((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
  }

  resolve(reply: Uint8Array): void {
    if (this.finish()) this.settle(reply);
  }

  reject(error: unknown): void {
    if (this.finish()) this.fail(error);
  }

  timedOut(): void {
    if (this.finish()) this.settle(TIMED_OUT);
  }

  /** Queued in the outbox, the frame has now gone to the link. */
  onSent(): void {
    this.queued = false;
    this.sent = true;
  }

  private finish(): boolean {
    if (!this.owner.forget(this)) return false;
    if (this.onAbort) this.signal?.removeEventListener("abort", this.onAbort);
    return true;
  }
}

export class RequestCaller {
  private nextReqId = 1;
  private readonly calls = new Map<number, Call>();
  /** Every call's timeout, on one timer. */
  private readonly deadlines: Deadlines<Call>;
  /** Requests sent, by route: for introspection (and the proof that requests do go direct). */
  readonly sent = { relayed: 0, direct: 0 };
  /** The members that answer, as the affinity table names them. */
  private readonly memberHex = new HexCache(64);

  constructor(
    private readonly ctx: PeerContext,
    /** Where requests may go directly, when replies show one member takes them all. */
    private readonly affinity: RequestAffinity | null = null,
    private readonly directLink: (peerId: string) => Link | null = () => null,
  ) {
    this.deadlines = new Deadlines(ctx.clock, (call) => call.timedOut());
  }

  get pending(): number {
    return this.calls.size;
  }

  /** Takes a call out of the table and its deadline off the timer; false when it was settled already. */
  forget(call: Call): boolean {
    if (!this.calls.delete(call.reqId)) return false;
    this.deadlines.remove(call);
    return true;
  }

  request(name: string, payload: Payload, options: RequestOptions = {}): Promise<Uint8Array> {
    const timeoutMs = options.timeout ?? DEFAULT_REQUEST_TIMEOUT;
    const reqId = this.nextReqId++;
    let call: Call;
    try {
      const keys = this.ctx.keyring.get("cluster", name);
      const body = toBytes(payload);
      checkSize(this.ctx, body, "request");
      if (!(timeoutMs > 0)) throw new RangeError("timeout must be a positive number of milliseconds");
      options.signal?.throwIfAborted();
      const messageId = this.ctx.ids.next();
      const wireTimeout = Math.ceil(timeoutMs);
      const frame = sealedFrame(this.ctx, keys, Purpose.Request, body, requestHeaderSize(reqId, wireTimeout), {
        messageId,
        sensitive: options.sensitive,
      });
      writeRequestHeader(frame, {
        hops: MAX_HOPS,
        flags: 0,
        id: keys.id,
        origin: this.ctx.peerId,
        reqId,
        timeoutMs: wireTimeout,
      });
      call = new Call(this, reqId, keys, messageId, frame, timeoutMs, options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    this.calls.set(reqId, call);
    this.deadlines.add(call, timeoutMs);
    const signal = options.signal;
    if (signal) {
      call.onAbort = () => call.reject(signal.reason);
      signal.addEventListener("abort", call.onAbort, { once: true });
    }
    this.send(call);
    return this.reply(call, name);
  }

  /**
   * Waits for the call's reply. A timeout becomes a TimeoutError here, in this async frame, when it
   * happens: V8's async stack traces then show the code that awaited the request, as an error made at
   * the call would, without paying for a stack on every call that does not time out.
   */
  private async reply(call: Call, name: string): Promise<Uint8Array> {
    const outcome = await call.settled;
    if (outcome === TIMED_OUT) {
      throw new TimeoutError(`request ${call.reqId} to "${name}" timed out after ${call.timeoutMs} ms`);
    }
    return outcome;
  }

  /** A reply, from the relays (`directFrom` null) or over a direct link with that member. */
  onReply(frame: ReplyFrame, directFrom: string | null = null): void {
    const call = this.calls.get(frame.reqId);
    if (!call) return; // late: the caller gave up already
    switch (frame.status) {
      case ReplyStatus.Ok:
      case ReplyStatus.Remote: {
        let opened: Opened;
        try {
          opened = open(this.ctx.crypto, call.keys.payloadKey, frame.body, this.ctx.maxMessage() + PEER_ID_BYTES);
          const expected = frame.status === ReplyStatus.Ok ? Purpose.Reply : Purpose.RemoteError;
          if (opened.purpose !== expected || !opened.inReplyTo || !equalBytes(opened.inReplyTo, call.messageId)) {
            throw new SealError("reply is not bound to this request");
          }
        } catch (error) {
          // Not from a member of the cluster: keep waiting for the real reply.
          this.ctx.report(error as Error, `reply to request ${frame.reqId}`);
          return;
        }
        if (frame.status === ReplyStatus.Remote) return call.reject(new RemoteError(safeText(opened.body)));
        if (opened.body.length < PEER_ID_BYTES) return this.ctx.report(new SealError("reply names no member"), "reply");
        // The answering member names itself first: that is how requests find their way to direct links.
        if (directFrom === null)
          this.affinity?.answeredBy(call.keys.name, this.memberHex.hex(opened.body.subarray(0, PEER_ID_BYTES)));
        call.resolve(opened.body.subarray(PEER_ID_BYTES));
        return;
      }
      case ReplyStatus.Overloaded:
        return call.reject(new OverloadedError(safeText(frame.body)));
      case ReplyStatus.NoMembers:
        return call.reject(new NoMembersError(`no members in cluster "${call.keys.name}"`));
      case ReplyStatus.MemberLost:
        // Over a direct link, the member is leaving: the relays find another one.
        if (directFrom !== null && call.direct === directFrom) {
          call.direct = null;
          call.sent = false;
          if (!call.queued) this.sendViaRelays(call);
          return;
        }
        return call.reject(new ClosedError(`cluster "${call.keys.name}": ${safeText(frame.body)}`));
      case ReplyStatus.Rejected:
        return call.reject(new ProtocolError(`relay refused the request: ${safeText(frame.body)}`));
    }
  }

  /** The link died: calls it carried go again once a link is back. Members drop duplicates by message id. */
  onDetached(): void {
    for (const call of this.calls.values()) call.sent = false;
  }

  onAttached(): void {
    for (const call of this.calls.values()) if (!call.sent && !call.queued) this.send(call);
  }

  /** The direct link to `peerId` is gone: what went over it goes again through the relays. */
  onDirectClosed(peerId: string): void {
    for (const call of this.calls.values()) {
      if (call.direct !== peerId) continue;
      call.direct = null;
      call.sent = false;
      if (!call.queued) this.sendViaRelays(call);
    }
  }

  failAll(error: Error): void {
    for (const call of [...this.calls.values()]) call.reject(error);
  }

  private send(call: Call): void {
    const member = this.affinity?.route(call.keys.name) ?? null;
    const link = member === null ? null : this.directLink(member);
    if (member !== null && link) {
      call.direct = member;
      call.sent = true;
      this.sent.direct++;
      link.send(call.frame);
      return;
    }
    this.sent.relayed++;
    this.sendViaRelays(call);
  }

  private sendViaRelays(call: Call): void {
    const outbox = this.ctx.outbox;
    // The usual case, the link keeps up: straight to it, with no promise, closure or timer to make.
    if (outbox.hasRoom() && outbox.sendNow(call.frame)) {
      call.sent = true;
      return;
    }
    call.queued = true;
    // The call's own deadline reports a timeout; a rejected write only means it never left the outbox.
    outbox.write(call.frame, call.timeoutMs, undefined, () => call.onSent()).catch(() => (call.queued = false));
  }
}

/**
 * Answers one request to a cluster this peer is a member of: what it returns (or resolves with) is the
 * reply; what it throws reaches the caller as RemoteError with the error's message.
 *
 * @example
 * ```ts
 * const request: RequestHandler = async (body, { origin }) => {
 *   const query = new TextDecoder().decode(body);
 *   return JSON.stringify(await db.run(query, { caller: origin }));
 * };
 * ```
 */
export type RequestHandler = (body: Uint8Array, info: MessageInfo) => Payload | Promise<Payload>;

/**
 * How much work one member takes at once for one cluster; past these, callers get OverloadedError at
 * once and their relay can place the work on another member.
 *
 * @example
 * ```ts
 * await conn.register("db", handlers, { limits: { concurrency: 8, queuedBytes: 8 << 20, tunnels: 4 } });
 * ```
 */
export interface ServiceLimits {
  /** Handlers running at once. Default 64. */
  concurrency?: number;
  /** Bytes of requests waiting for a free handler. Default 64 MiB. */
  queuedBytes?: number;
  /** Tunnels open at once. Default 64. */
  tunnels?: number;
}

export const DEFAULT_LIMITS: Required<ServiceLimits> = {
  concurrency: 64,
  queuedBytes: 64 * 1024 * 1024,
  tunnels: 64,
};

interface Job {
  frame: RequestFrame;
  replyVia: Link | null;
  messageId: Uint8Array;
  body: Uint8Array;
}

/** What a handler learns about a request: the origin's hex is made only if the handler asks for it. */
class RequestInfo implements MessageInfo {
  private hex: string | null = null;

  constructor(
    private readonly originBytes: Uint8Array,
    readonly name: string,
  ) {}

  get origin(): string {
    this.hex ??= toHex(this.originBytes);
    return this.hex;
  }
}

/** The member side of request/reply for one cluster. */
export class RequestServer {
  private running = 0;
  private readonly queue: Job[] = [];
  private queuedBytes = 0;
  private readonly limits: Required<ServiceLimits>;
  private readonly replies: ReplyCache;
  private idleWaiters: Array<() => void> = [];
  private readonly what: string;

  constructor(
    private readonly ctx: PeerContext,
    private readonly keys: ServiceKeys,
    private readonly handler: RequestHandler | undefined,
    limits: ServiceLimits,
    /** Told whenever the work in flight or queued changes, to report load to the relay. */
    private readonly loadChanged: (load: number) => void,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.replies = new ReplyCache(ctx);
    this.what = `request for "${keys.name}"`;
  }

  get load(): number {
    return this.running + this.queue.length;
  }

  /**
   * The member is leaving: requests that wait for a free handler are handed back (MemberLost), and
   * their relay places them on another member. Those running are left to finish.
   */
  handBack(): void {
    for (const job of this.queue.splice(0)) {
      this.queuedBytes -= queuedSize(job);
      this.sendReply(job.frame, job.replyVia, ReplyStatus.MemberLost, utf8(`member of "${this.keys.name}" is leaving`));
    }
    this.loadChanged(this.load);
  }

  /** Resolves once no handler is running and none is queued. */
  idle(): Promise<void> {
    if (this.load === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** A request, from the relays, or over a direct link (`replyVia`) where its reply goes back too. */
  onRequest(frame: RequestFrame, replyVia: Link | null = null): void {
    // A request seen before is a re-send after a reconnect, a failover or a relay's retry: it runs once
    // only, and if its reply is still at hand the caller gets it again (the first may have been lost).
    const opened = openFresh(this.ctx, this.keys, frame.sealed, Purpose.Request, this.what, (seen) =>
      this.replies.resend(seen.messageId, replyVia),
    );
    if (!opened) return;
    const job: Job = { frame, replyVia, messageId: opened.messageId, body: opened.body };
    if (!this.handler) return this.reply(job, ReplyStatus.Remote, utf8("this member does not handle requests"));
    if (this.running < this.limits.concurrency) return this.run(job);
    if (this.queuedBytes + queuedSize(job) > this.limits.queuedBytes) {
      this.sendReply(
        frame,
        replyVia,
        ReplyStatus.Overloaded,
        utf8(`member of "${this.keys.name}" is overloaded: ${this.running} running, ${this.queuedBytes} bytes queued`),
      );
      return;
    }
    this.queue.push(job);
    this.queuedBytes += queuedSize(job);
    this.loadChanged(this.load);
  }

  /** Runs the handler at once; a synchronous answer is sent at once, a promised one when it settles. */
  private run(job: Job): void {
    this.running++;
    this.loadChanged(this.load);
    let result: Payload | Promise<Payload>;
    try {
      result = this.handler!(job.body, new RequestInfo(job.frame.origin, this.keys.name));
    } catch (error) {
      return this.done(job, ReplyStatus.Remote, utf8(errorMessage(error)));
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.answered(job, value),
        (error: unknown) => this.done(job, ReplyStatus.Remote, utf8(errorMessage(error))),
      );
    } else {
      this.answered(job, result);
    }
  }

  private answered(job: Job, value: Payload): void {
    let body: Uint8Array;
    try {
      body = toBytes(value);
      checkSize(this.ctx, body, "reply");
    } catch (error) {
      return this.done(job, ReplyStatus.Remote, utf8(errorMessage(error)));
    }
    this.done(job, ReplyStatus.Ok, body);
  }

  /** Replies, and lets the next queued request run. */
  private done(job: Job, status: ReplyStatus, body: Uint8Array): void {
    try {
      this.reply(job, status, body);
    } catch (error) {
      this.ctx.report(error as Error, this.what);
    }
    this.running--;
    const next = this.queue.shift();
    if (next) {
      this.queuedBytes -= queuedSize(next);
      this.run(next);
    } else {
      this.loadChanged(this.load);
      if (this.running === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Seals the reply straight into its frame; an answer names this member first, inside the seal. */
  private reply(job: Job, status: ReplyStatus, body: Uint8Array): void {
    const { frame: request, replyVia, messageId } = job;
    const ok = status === ReplyStatus.Ok;
    const reply = sealedFrame(
      this.ctx,
      this.keys,
      ok ? Purpose.Reply : Purpose.RemoteError,
      body,
      replyHeaderSize(request.reqId),
      { inReplyTo: messageId, prefix: ok ? this.ctx.peerId : undefined },
    );
    writeReplyHeader(reply, { status, origin: request.origin, reqId: request.reqId });
    this.send(reply, replyVia, request.timeoutMs);
    this.replies.remember(messageId, reply, request.timeoutMs);
  }

  /** A reply without a sealed body (the member refuses the work). */
  private sendReply(frame: RequestFrame, via: Link | null, status: ReplyStatus, body: Uint8Array): void {
    this.send(
      encodeFrame({ type: FrameType.Reply, status, origin: frame.origin, reqId: frame.reqId, body }),
      via,
      frame.timeoutMs,
    );
  }

  private send(reply: Uint8Array, via: Link | null, timeoutMs: number): void {
    // Back the way the request came; if a direct link died meanwhile, the caller re-sends through the
    // relays and this reply comes from the cache.
    if (via) via.send(reply);
    else if (!(this.ctx.outbox.hasRoom() && this.ctx.outbox.sendNow(reply)))
      this.ctx.outbox.write(reply, timeoutMs).catch(() => {}); // the caller times out on its own
  }
}

/** A promise, or anything a handler returns that acts like one. */
function isThenable(value: unknown): value is PromiseLike<Payload> {
  return typeof (value as PromiseLike<Payload> | null)?.then === "function";
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function safeText(bytes: Uint8Array): string {
  try {
    return fromUtf8(bytes);
  } catch {
    return "(unreadable message)";
  }
}

/** A queued request holds at least one byte, so a zero queue limit really queues nothing. */
function queuedSize(job: Job): number {
  return Math.max(1, job.body.length);
}
