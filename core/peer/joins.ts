// The clusters a peer serves and the topics it subscribes to, as joins held at its relay. Each join
// proves the service key by signing the relay's fresh challenge; after a reconnect every join is proven
// again to the new relay, so applications never re-register by hand.

import { toHex } from "../util/bytes.ts";
import type { TimerHandle } from "../util/clock.ts";
import type { Clock } from "../util/clock.ts";
import { joinKindOf, signJoin } from "../crypto/keys.ts";
import type { ServiceKeys } from "../crypto/keys.ts";
import type { SigningBackend } from "../crypto/nacl.ts";
import { DeniedError, TimeoutError } from "../errors.ts";
import { FrameType, encodeFrame } from "../wire/frames.ts";
import type { AckFrame, NackFrame } from "../wire/frames.ts";

interface Entry {
  keys: ServiceKeys;
  confirmed: boolean;
  /** The first join's waiter, until the relay answers it. */
  waiter: { resolve(): void; reject(error: Error): void } | null;
}

type Answer = { ack(): void; nack(message: string): void };

/** A relay that does not confirm a leave within this long is not waited for any more. */
const LEAVE_TIMEOUT_MS = 5000;

export class Joins {
  private readonly entries = new Map<string, Entry>();
  private readonly answers = new Map<number, Answer>();
  private nextCorr = 1;
  private challenge: Uint8Array | null = null;
  private restoredWaiters: Array<() => void> = [];
  private readonly leaving = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    private readonly signing: SigningBackend,
    /** Sends a control frame now; false when no link is attached. */
    private readonly sendNow: (frame: Uint8Array) => boolean,
    /** A join the relay refused after a reconnect, when nobody is waiting to be told. */
    private readonly onRefused: (keys: ServiceKeys, message: string) => void,
  ) {}

  /** Keys of everything joined, for introspection. */
  list(): ServiceKeys[] {
    return [...this.entries.values()].map((entry) => entry.keys);
  }

  has(keys: ServiceKeys): boolean {
    return this.entries.has(entryKey(keys));
  }

  /**
   * Joins now if attached, otherwise as soon as a relay is. Rejects with DeniedError if the relay
   * refuses, TimeoutError after `timeoutMs`, or the signal's reason when it is aborted first; in the
   * last two cases the join is withdrawn.
   */
  join(keys: ServiceKeys, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const key = entryKey(keys);
    if (this.entries.has(key)) return Promise.reject(new Error(`already joined ${keys.kind} "${keys.name}"`));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const timeoutError = new TimeoutError(`joining ${keys.kind} "${keys.name}" took over ${timeoutMs} ms`);
    return new Promise<void>((resolve, reject) => {
      let timer: TimerHandle | null = null;
      const done = () => {
        if (timer !== null) this.clock.clearTimeout(timer);
        signal?.removeEventListener("abort", withdraw);
      };
      const entry: Entry = {
        keys,
        confirmed: false,
        waiter: {
          resolve: () => {
            done();
            resolve();
          },
          reject: (error) => {
            done();
            reject(error);
          },
        },
      };
      const giveUp = (error: unknown) => {
        if (this.entries.get(key) !== entry || !entry.waiter) return;
        entry.waiter = null;
        done();
        this.entries.delete(key);
        this.sendLeave(keys);
        reject(error);
      };
      const withdraw = () => giveUp(signal!.reason);
      this.entries.set(key, entry);
      timer = this.clock.setTimeout(() => giveUp(timeoutError), timeoutMs);
      signal?.addEventListener("abort", withdraw, { once: true });
      this.sendJoin(entry);
    });
  }

  /**
   * Leaves; resolves once the relay confirms, so no new work for it is on its way. When detached there
   * is nothing to send: the relay forgot us with the link.
   */
  leave(keys: ServiceKeys): Promise<void> {
    if (!this.entries.delete(entryKey(keys))) return Promise.resolve();
    return this.sendLeave(keys);
  }

  attached(challenge: Uint8Array): void {
    this.challenge = challenge;
    for (const entry of this.entries.values()) {
      entry.confirmed = false;
      this.sendJoin(entry);
    }
    this.checkRestored();
  }

  detached(): void {
    this.challenge = null;
    this.answers.clear();
    // The relay forgot every join with the link: a leave in progress is as good as done.
    for (const settle of [...this.leaving]) settle();
  }

  /** Resolves once every join has been confirmed by the current relay. */
  restored(): Promise<void> {
    return new Promise((resolve) => {
      this.restoredWaiters.push(resolve);
      this.checkRestored();
    });
  }

  onAck(frame: AckFrame): void {
    const answer = this.answers.get(frame.corr);
    this.answers.delete(frame.corr);
    answer?.ack();
  }

  onNack(frame: NackFrame): void {
    const answer = this.answers.get(frame.corr);
    this.answers.delete(frame.corr);
    answer?.nack(frame.message);
  }

  /** Fails the first joins still waiting. */
  failAll(error: Error): void {
    for (const entry of this.entries.values()) {
      entry.waiter?.reject(error);
      entry.waiter = null;
    }
    this.entries.clear();
  }

  private sendJoin(entry: Entry): void {
    if (!this.challenge) return;
    const corr = this.nextCorr++;
    const { keys } = entry;
    this.answers.set(corr, {
      ack: () => {
        if (this.entries.get(entryKey(keys)) !== entry) return;
        entry.confirmed = true;
        entry.waiter?.resolve();
        entry.waiter = null;
        this.checkRestored();
      },
      nack: (message) => {
        if (this.entries.get(entryKey(keys)) !== entry) return;
        this.entries.delete(entryKey(keys));
        const error = new DeniedError(`relay refused to join ${keys.kind} "${keys.name}": ${message}`);
        if (entry.waiter) entry.waiter.reject(error);
        else this.onRefused(keys, message);
        entry.waiter = null;
        this.checkRestored();
      },
    });
    this.sendNow(
      encodeFrame({
        type: FrameType.Join,
        corr,
        kind: joinKindOf(keys.kind),
        nameHash: keys.nameHash,
        publicKey: keys.membership.publicKey,
        signature: signJoin(this.signing, keys, this.challenge),
      }),
    );
  }

  private sendLeave(keys: ServiceKeys): Promise<void> {
    if (!this.challenge) return Promise.resolve();
    const corr = this.nextCorr++;
    return new Promise<void>((resolve) => {
      const settle = () => {
        this.clock.clearTimeout(timer);
        this.leaving.delete(settle);
        resolve();
      };
      const timer = this.clock.setTimeout(settle, LEAVE_TIMEOUT_MS);
      this.leaving.add(settle);
      this.answers.set(corr, { ack: settle, nack: settle });
      this.sendNow(encodeFrame({ type: FrameType.Leave, corr, kind: joinKindOf(keys.kind), id: keys.id }));
    });
  }

  private checkRestored(): void {
    if (!this.challenge) return;
    for (const entry of this.entries.values()) if (!entry.confirmed) return;
    for (const resolve of this.restoredWaiters.splice(0)) resolve();
  }
}

function entryKey(keys: ServiceKeys): string {
  return `${keys.kind}:${toHex(keys.id)}`;
}
