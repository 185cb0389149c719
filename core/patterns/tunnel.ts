// A tunnel: an ordered, flow-controlled, bidirectional stream of messages between a caller and one
// member. Messages are chunked on the wire and sealed with the tunnel's own forward-secret session keys
// (counter nonces, so loss, duplication or reordering fails loudly). Each side grants the other byte
// credits: a sender never has more unacknowledged bytes in flight than the receiver allowed, and a
// receiver grants credit back only as its application consumes messages, so a slow reader holds the
// sender back instead of filling memory.
//
// Closing is a handshake: close() waits for the other end's close, which proves that everything sent
// before it arrived. Any failure (a lost link, a protocol violation) ends the tunnel with an error at
// both ends.

import { concat } from "../bytes.ts";
import type { ServiceKeys } from "../crypto/keys.ts";
import type { SessionCipher } from "../crypto/session.ts";
import { ClosedError, IrisError, ProtocolError, TimeoutError, TooLargeError } from "../errors.ts";
import { FrameType, TUNNEL_TO_MEMBER, TunnelCloseCode, encodeFrame } from "../wire/frames.ts";
import type { TunnelCloseCode as TunnelCloseCodeType } from "../wire/frames.ts";
import { toBytes } from "./context.ts";
import type { Payload, PeerContext } from "./context.ts";

export interface TunnelSettings {
  /** Initial credit granted to the other side, bytes. */
  window: number;
  /** The window grows while the reader keeps up, up to this. */
  maxWindow: number;
  /** Largest single message; larger ones are refused with TooLargeError. */
  maxMessage: number;
  /** Largest chunk on the wire. */
  chunkSize: number;
  /** How long close() waits for the other end's close. */
  closeTimeout: number;
}

export const DEFAULT_TUNNEL_SETTINGS: TunnelSettings = {
  window: 256 * 1024,
  maxWindow: 16 * 1024 * 1024,
  maxMessage: 64 * 1024 * 1024,
  chunkSize: 64 * 1024,
  closeTimeout: 10_000,
};

const CHUNK_END = 0x01;
/** Credit beyond this is nonsense from a broken or hostile peer. */
const MAX_CREDIT = 2 ** 40;

export type TunnelRole = "caller" | "member";

interface Queued {
  body: Uint8Array;
  /** Credit this message still holds back from the sender; released when the application takes it. */
  held: number;
}

export interface TunnelParams {
  role: TunnelRole;
  keys: ServiceKeys;
  origin: Uint8Array;
  tunnelId: number;
  cipher: SessionCipher;
  /** Credit the other side granted us in its open or accept. */
  sendCredit: number;
  settings: TunnelSettings;
  /** Called once when the tunnel is over, either way. */
  onEnded(tunnel: Tunnel): void;
}

export class Tunnel implements AsyncIterable<Uint8Array> {
  readonly role: TunnelRole;
  readonly name: string;
  readonly tunnelId: number;
  private readonly ctx: PeerContext;
  private readonly params: TunnelParams;
  private readonly settings: TunnelSettings;
  private readonly outFlags: number;

  private sendCredit: number;
  private creditWaiter: (() => void) | null = null;
  private sendChain: Promise<void> = Promise.resolve();

  private window: number;
  private allowance: number;
  private releasable = 0;
  private readonly queue: Queued[] = [];
  private assembly: Uint8Array[] = [];
  private assemblyBytes = 0;
  private assemblyHeld = 0;
  private readers: Array<{ resolve(result: IteratorResult<Uint8Array>): void; reject(error: Error): void }> = [];

  private sentClose = false;
  private receivedClose = false;
  private error: Error | null = null;
  private closeWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  private ended = false;

  constructor(ctx: PeerContext, params: TunnelParams) {
    this.ctx = ctx;
    this.params = params;
    this.role = params.role;
    this.name = params.keys.name;
    this.tunnelId = params.tunnelId;
    this.settings = params.settings;
    this.outFlags = params.role === "caller" ? TUNNEL_TO_MEMBER : 0;
    this.sendCredit = params.sendCredit;
    this.window = params.settings.window;
    this.allowance = params.settings.window;
  }

  /** How the tunnel's frames travel. Direct WebRTC routes arrive with the browser work. */
  get route(): "relay" {
    return "relay";
  }

  /** True once the tunnel can carry nothing more in either direction. */
  get closed(): boolean {
    return this.ended;
  }

  /** Bytes received and not yet read by the application, including a message still being assembled. */
  get buffered(): number {
    let bytes = this.assemblyBytes;
    for (const queued of this.queue) bytes += queued.body.length;
    return bytes;
  }

  /** The credit window this end grants the other side now; it grows while the reader keeps up. */
  get receiveWindow(): number {
    return this.window;
  }

  /**
   * Sends one message. Resolves when it is on its way within the other side's credit; concurrent
   * sends keep their call order.
   */
  send(payload: Payload): Promise<void> {
    let body: Uint8Array;
    try {
      body = toBytes(payload);
      if (body.length > this.settings.maxMessage) {
        throw new TooLargeError(`tunnel message of ${body.length} bytes exceeds the ${this.settings.maxMessage} byte limit`);
      }
      this.throwIfUnwritable();
    } catch (error) {
      return Promise.reject(error);
    }
    const job = this.sendChain.then(() => this.transmit(body));
    this.sendChain = job.catch(() => {});
    return job;
  }

  /** The next message, or null once the other side has closed and everything before its close was read. */
  async receive(): Promise<Uint8Array | null> {
    const result = await this.next();
    return result.done ? null : result.value;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return { next: () => this.next() };
  }

  /**
   * Closes the tunnel once everything sent so far is on its way, and waits for the other end to
   * confirm. Rejects if the tunnel failed before that confirmation.
   */
  async close(): Promise<void> {
    await this.sendChain;
    if (this.error) throw this.error;
    if (this.ended) return;
    const confirmed = new Promise<void>((resolve, reject) => this.closeWaiters.push({ resolve, reject }));
    if (!this.sentClose) this.sendClose(TunnelCloseCode.Normal, "closed");
    const timer = this.ctx.clock.setTimeout(
      () => this.fail(new TimeoutError(`tunnel close not confirmed within ${this.settings.closeTimeout} ms`), TunnelCloseCode.Timeout),
      this.settings.closeTimeout,
    );
    try {
      await confirmed;
    } finally {
      this.ctx.clock.clearTimeout(timer);
    }
  }

  // Below: called by the tunnel table as frames arrive.

  onData(sealed: Uint8Array): void {
    if (this.ended || this.receivedClose) return;
    let plain: Uint8Array;
    try {
      plain = this.params.cipher.open(sealed);
    } catch (error) {
      return this.fail(error as Error, TunnelCloseCode.Protocol);
    }
    if (plain.length < 1) return this.fail(new ProtocolError("empty tunnel chunk"), TunnelCloseCode.Protocol);
    const data = plain.subarray(1);
    this.allowance -= data.length;
    if (this.allowance < 0) {
      return this.fail(new ProtocolError("the other side sent more than its credit allows"), TunnelCloseCode.Protocol);
    }
    if (this.assemblyBytes + data.length > this.settings.maxMessage) {
      return this.fail(new ProtocolError(`tunnel message exceeds ${this.settings.maxMessage} bytes`), TunnelCloseCode.Protocol);
    }
    // While the reader is caught up, bytes count as consumed on arrival: a message bigger than the window
    // can still be assembled. Otherwise they hold credit until the reader takes their message.
    if (this.queue.length === 0) this.releasable += data.length;
    else this.assemblyHeld += data.length;
    this.assembly.push(data);
    this.assemblyBytes += data.length;
    if ((plain[0]! & CHUNK_END) !== 0) {
      const body = this.assembly.length === 1 ? this.assembly[0]! : concat(...this.assembly);
      const held = this.assemblyHeld;
      this.assembly = [];
      this.assemblyBytes = 0;
      this.assemblyHeld = 0;
      const reader = this.readers.shift();
      if (reader) {
        this.release(held);
        reader.resolve({ value: body, done: false });
      } else {
        this.queue.push({ body, held });
      }
    }
    this.maybeGrant();
  }

  onCredit(bytes: number): void {
    if (this.ended) return;
    this.sendCredit += bytes;
    if (bytes <= 0 || this.sendCredit > MAX_CREDIT) {
      return this.fail(new ProtocolError(`invalid tunnel credit of ${bytes} bytes`), TunnelCloseCode.Protocol);
    }
    this.wakeSender();
  }

  onClose(code: TunnelCloseCodeType, reason: string): void {
    if (this.ended) return;
    if (code !== TunnelCloseCode.Normal) return this.fail(closeError(code, reason), null);
    this.receivedClose = true;
    // Acknowledge: our close tells the other side everything it sent has arrived.
    if (!this.sentClose) this.sendClose(TunnelCloseCode.Normal, "closed by the other side");
    for (const waiter of this.closeWaiters.splice(0)) waiter.resolve();
    this.wakeSender();
    this.endReaders();
    this.end();
  }

  /** Ends the tunnel with an error at this end, and tells the other end unless `code` is null. */
  fail(error: Error, code: TunnelCloseCodeType | null): void {
    if (this.ended) return;
    this.error = error;
    if (code !== null && !this.sentClose) this.sendClose(code, error.message);
    for (const waiter of this.closeWaiters.splice(0)) waiter.reject(error);
    this.wakeSender();
    this.endReaders();
    this.end();
  }

  private async transmit(body: Uint8Array): Promise<void> {
    let offset = 0;
    do {
      this.throwIfUnwritable();
      if (this.sendCredit <= 0 && body.length > 0) {
        await new Promise<void>((resolve) => (this.creditWaiter = resolve));
        continue;
      }
      const size = Math.min(body.length - offset, this.settings.chunkSize, this.sendCredit);
      const last = offset + size === body.length;
      const plain = new Uint8Array(1 + size);
      plain[0] = last ? CHUNK_END : 0;
      plain.set(body.subarray(offset, offset + size), 1);
      const frame = encodeFrame({
        type: FrameType.TunnelData,
        flags: this.outFlags,
        origin: this.params.origin,
        tunnelId: this.tunnelId,
        sealed: this.params.cipher.seal(plain),
      });
      this.sendCredit -= size;
      offset += size;
      await this.ctx.outbox.write(frame);
    } while (offset < body.length);
  }

  private next(): Promise<IteratorResult<Uint8Array>> {
    const queued = this.queue.shift();
    if (queued) {
      this.release(queued.held);
      if (this.queue.length === 0) {
        this.release(this.assemblyHeld);
        this.assemblyHeld = 0;
      }
      this.maybeGrant();
      return Promise.resolve({ value: queued.body, done: false });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.receivedClose || this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  private release(bytes: number): void {
    this.releasable += bytes;
  }

  private maybeGrant(): void {
    if (this.ended || this.sentClose) return;
    if (this.releasable < this.window / 4) return;
    let grant = this.releasable;
    // The reader keeps up: let the sender have more in flight.
    if (this.queue.length === 0 && this.window < this.settings.maxWindow) {
      const extra = Math.min(this.window, this.settings.maxWindow - this.window);
      this.window += extra;
      grant += extra;
    }
    this.releasable = 0;
    this.allowance += grant;
    this.write(
      encodeFrame({ type: FrameType.TunnelCredit, flags: this.outFlags, origin: this.params.origin, tunnelId: this.tunnelId, bytes: grant }),
    );
  }

  private sendClose(code: TunnelCloseCodeType, reason: string): void {
    this.sentClose = true;
    this.write(
      encodeFrame({
        type: FrameType.TunnelClose,
        flags: this.outFlags,
        origin: this.params.origin,
        tunnelId: this.tunnelId,
        code,
        reason: reason.slice(0, 200),
      }),
    );
  }

  private write(frame: Uint8Array): void {
    this.ctx.outbox.write(frame).catch(() => {}); // a dead connection fails the tunnel by itself
  }

  private throwIfUnwritable(): void {
    if (this.error) throw this.error;
    if (this.sentClose || this.receivedClose) throw new ClosedError(`tunnel to "${this.name}" is closed`);
  }

  private wakeSender(): void {
    const waiter = this.creditWaiter;
    this.creditWaiter = null;
    waiter?.();
  }

  private endReaders(): void {
    for (const reader of this.readers.splice(0)) {
      if (this.error) reader.reject(this.error);
      else reader.resolve({ value: undefined, done: true });
    }
  }

  private end(): void {
    this.ended = true;
    this.params.onEnded(this);
  }
}

export function closeError(code: TunnelCloseCodeType, reason: string): IrisError {
  if (code === TunnelCloseCode.Protocol) return new ProtocolError(`tunnel broken: ${reason}`);
  if (code === TunnelCloseCode.Timeout) return new TimeoutError(`tunnel timed out: ${reason}`);
  return new ClosedError(`tunnel closed: ${reason}`);
}
