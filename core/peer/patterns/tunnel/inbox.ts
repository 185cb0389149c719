// The receiving half of a tunnel's flow control: pieces in order become messages, messages wait for the
// application, and credit goes back to the sender only as the application takes them. Credit is kept as
// a running total of bytes the sender may have sent, so a restated total is harmless.

import { concat } from "../../../util/bytes.ts";
import { ProtocolError } from "../../../errors.ts";

interface Queued {
  body: Uint8Array;
  /** Credit this message still holds back from the sender; released when the application takes it. */
  held: number;
}

interface Reader {
  resolve(result: IteratorResult<Uint8Array>): void;
  reject(error: Error): void;
}

export interface InboxSettings {
  window: number;
  maxWindow: number;
  maxMessage: number;
}

export class TunnelInbox {
  /** The window granted now; it grows while the reader keeps up. */
  window: number;
  /** Total bytes the sender may have sent, as last granted. */
  private grantedTotal: number;
  private receivedTotal = 0;
  private releasable = 0;
  private readonly queue: Queued[] = [];
  private assembly: Uint8Array[] = [];
  private assemblyBytes = 0;
  private assemblyHeld = 0;
  private readers: Reader[] = [];
  private endedWith: { error: Error | null } | null = null;

  constructor(
    private readonly settings: InboxSettings,
    /** Sends the new total to the other side. */
    private readonly grant: (grantedTotal: number) => void,
  ) {
    this.window = settings.window;
    this.grantedTotal = settings.window;
  }

  /** Bytes received and not yet read, including a message still being assembled. */
  get buffered(): number {
    let bytes = this.assemblyBytes;
    for (const queued of this.queue) bytes += queued.body.length;
    return bytes;
  }

  /** One piece of data, in order. Throws ProtocolError if the sender overran its credit. */
  push(data: Uint8Array, end: boolean): void {
    this.receivedTotal += data.length;
    if (this.receivedTotal > this.grantedTotal)
      throw new ProtocolError("the other side sent more than its credit allows");
    if (this.assemblyBytes + data.length > this.settings.maxMessage) {
      throw new ProtocolError(`tunnel message exceeds ${this.settings.maxMessage} bytes`);
    }
    // While the reader is caught up, bytes count as consumed on arrival: a message bigger than the window
    // can still be assembled. Otherwise they hold credit until the reader takes their message.
    if (this.queue.length === 0) this.releasable += data.length;
    else this.assemblyHeld += data.length;
    this.assembly.push(data);
    this.assemblyBytes += data.length;
    if (end) {
      const body = this.assembly.length === 1 ? this.assembly[0]! : concat(...this.assembly);
      const held = this.assemblyHeld;
      this.assembly = [];
      this.assemblyBytes = 0;
      this.assemblyHeld = 0;
      const reader = this.readers.shift();
      if (reader) {
        this.releasable += held;
        reader.resolve({ value: body, done: false });
      } else {
        this.queue.push({ body, held });
      }
    }
    this.maybeGrant();
  }

  /** The next message; done once `finished` and nothing is left to read. */
  next(finished: boolean): Promise<IteratorResult<Uint8Array>> {
    const queued = this.queue.shift();
    if (queued) {
      this.releasable += queued.held;
      if (this.queue.length === 0) {
        this.releasable += this.assemblyHeld;
        this.assemblyHeld = 0;
      }
      this.maybeGrant();
      return Promise.resolve({ value: queued.body, done: false });
    }
    if (this.endedWith?.error) return Promise.reject(this.endedWith.error);
    if (finished || this.endedWith) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.readers.push({ resolve, reject }));
  }

  /** No more will come: waiting readers get the error, or the end of the stream. */
  end(error: Error | null): void {
    this.endedWith = { error };
    for (const reader of this.readers.splice(0)) {
      if (error) reader.reject(error);
      else reader.resolve({ value: undefined, done: true });
    }
  }

  /** Sends the current total again (after a change of route, where the last one may have been lost). */
  restate(): void {
    this.grant(this.grantedTotal);
  }

  private maybeGrant(): void {
    if (this.endedWith || this.releasable < this.window / 4) return;
    let grant = this.releasable;
    // The reader keeps up: let the sender have more in flight.
    if (this.queue.length === 0 && this.window < this.settings.maxWindow) {
      const extra = Math.min(this.window, this.settings.maxWindow - this.window);
      this.window += extra;
      grant += extra;
    }
    this.releasable = 0;
    this.grantedTotal += grant;
    this.grant(this.grantedTotal);
  }
}
