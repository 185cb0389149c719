// Liveness of links: is the other end still there? Every link has a watchdog that knows when it last
// heard from the other end; any frame counts, not only pongs, so a busy link needs no heartbeat at all.
// A link silent for a while is pinged (the ping draws a frame from a live end), and a link silent for
// much longer is declared dead.
//
// What this costs must grow with traffic, not with the number of idle links: a relay with 10,000
// peers must not ping them all in one loop every second. Watchdogs sit on a timing wheel, filed under
// the moment they next need a look, and a tick looks only at the ones due: a link that keeps talking is
// looked at once per ping interval, whatever its traffic, and an idle one is pinged once per interval.
// Ping intervals are jittered so that links opened together do not stay in step.
//
// Silence is measured in awake time (util/awake-clock.ts): a process that was itself stalled does not
// blame the others for the time it could not hear them. And a link that shows life some other way (its
// owner chose not to read its frames, or the other end keeps taking what is queued for it) is never
// blamed for being silent: the owner says so through `showsLife`.

import { AwakeClock } from "../util/awake-clock.ts";
import type { Clock, TimerHandle } from "../util/clock.ts";

export interface LivenessSettings {
  /** Silence after which the other end is pinged (up to a quarter more: the jitter). */
  pingAfterMs: number;
  /** Silence after which the link is dead. */
  deadAfterMs: number;
}

export interface WatchdogHandlers {
  /** Send the other end a ping: it answers with a frame if it is alive. */
  ping(): void;
  /** The other end has been silent for `silentMs` of awake time: close the link. Called once. */
  dead(silentMs: number): void;
  /**
   * Asked when the link has been silent a while: does it show life other than by frames? True for a
   * link whose frames its owner stopped reading (flow control: they wait unread, so its silence is
   * ours) or whose queue the other end keeps draining (our pings wait behind the data it is reading).
   */
  showsLife?(): boolean;
}

export interface LivenessOptions {
  /** How often due watchdogs are looked at; also the resolution of every interval. */
  tickMs: number;
  /** A tick this late means this process was stalled (see AwakeClock). Default 250 ms. */
  stallToleranceMs?: number;
  random?: () => number;
  /** This process was stalled for `ms`; that time is not held against anyone. */
  onStall?: (ms: number) => void;
}

/** Ping intervals are drawn from [pingAfter, pingAfter * (1 + JITTER)). */
const JITTER = 0.25;
/** Past this many ticks to catch up on (the wall clock jumped), the due slots are searched instead. */
const MAX_SLOT_SCAN = 4096;

/** One link's watchdog. `heard()` is on every frame's path, so it only stores a number. */
export class Watchdog {
  lastHeard: number;
  private pingedAt = Number.NEGATIVE_INFINITY;
  private pingDue: number;
  private isStopped = false;

  /** Dropped once stopped: a stopped watchdog may wait in its slot a while, holding nothing of its link. */
  private handlers: WatchdogHandlers | null;

  constructor(
    private readonly liveness: Liveness,
    readonly settings: LivenessSettings,
    handlers: WatchdogHandlers,
    now: number,
  ) {
    this.handlers = handlers;
    this.lastHeard = now;
    this.pingDue = liveness.jittered(settings.pingAfterMs);
  }

  /** A frame arrived: the other end is alive. */
  heard(): void {
    this.lastHeard = this.liveness.awake.now();
  }

  /** Silence so far, in awake time. */
  get silence(): number {
    return Math.max(0, this.liveness.awake.now() - this.lastHeard);
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  /** Stops watching (the link closed). */
  stop(): void {
    if (this.isStopped) return;
    this.isStopped = true;
    this.handlers = null;
    this.liveness.forget();
  }

  /** A look at this watchdog, at awake time `now`; returns when it next needs one, or null when done. */
  check(now: number): number | null {
    if (this.isStopped) return null;
    const { pingAfterMs, deadAfterMs } = this.settings;
    if (now - this.lastHeard >= this.pingDue && this.handlers?.showsLife?.()) {
      this.lastHeard = now;
      // Our own silence toward the other end still matters to it: keep it hearing from us.
      if (now - this.pingedAt >= this.pingDue) this.ping(now);
      return this.pingedAt + this.pingDue;
    }
    const silence = now - this.lastHeard;
    if (silence >= deadAfterMs) {
      const handlers = this.handlers;
      this.stop();
      handlers?.dead(silence);
      return null;
    }
    if (silence < this.pingDue) return this.lastHeard + this.pingDue;
    // Silent long enough: ping, and again every interval while the silence lasts. An answer makes the
    // next look the next ping's: one look per interval on an idle link.
    if (this.pingedAt < this.lastHeard || now - this.pingedAt >= pingAfterMs) this.ping(now);
    return Math.min(now + this.pingDue, this.lastHeard + deadAfterMs);
  }

  /** When the first look is due. */
  get firstLook(): number {
    return this.lastHeard + this.pingDue;
  }

  private ping(now: number): void {
    this.pingedAt = now;
    this.pingDue = this.liveness.jittered(this.settings.pingAfterMs);
    this.handlers?.ping();
  }
}

/** The watchdogs of one process (a relay, or a peer's relay attachment), on one timing wheel. */
export class Liveness {
  readonly awake: AwakeClock;
  private readonly tickMs: number;
  private readonly random: () => number;
  private readonly onStall: (ms: number) => void;
  /** Watchdogs by the tick (awake time / tickMs) at which they next need a look. */
  private readonly slots = new Map<number, Watchdog[]>();
  /** The last tick whose watchdogs were looked at. */
  private cursor: number;
  private live = 0;
  private timer: TimerHandle | null = null;
  private due = 0;
  private isStopped = false;
  /** Watchdogs looked at, in all: what the cost of liveness grows with. */
  looks = 0;

  constructor(
    private readonly clock: Clock,
    options: LivenessOptions,
  ) {
    if (!(options.tickMs > 0)) throw new RangeError("liveness tickMs must be positive");
    this.tickMs = options.tickMs;
    this.random = options.random ?? Math.random;
    this.onStall = options.onStall ?? (() => {});
    this.awake = new AwakeClock(clock, options.stallToleranceMs ?? 250);
    this.cursor = Math.floor(this.awake.now() / this.tickMs);
  }

  /** Links being watched. */
  get size(): number {
    return this.live;
  }

  /** Starts watching a link, as if just heard from. */
  watch(settings: LivenessSettings, handlers: WatchdogHandlers): Watchdog {
    if (!(settings.pingAfterMs > 0) || !(settings.deadAfterMs > settings.pingAfterMs)) {
      throw new RangeError("liveness needs 0 < pingAfterMs < deadAfterMs");
    }
    const now = this.awake.now();
    const dog = new Watchdog(this, settings, handlers, now);
    this.live++;
    this.file(dog, dog.firstLook);
    this.startTimer();
    return dog;
  }

  /** Stops the timer; watchdogs are no longer looked at. */
  stop(): void {
    this.isStopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.slots.clear();
  }

  /** A duration drawn from [ms, ms * (1 + JITTER)). */
  jittered(ms: number): number {
    return ms * (1 + JITTER * this.random());
  }

  /** A watchdog stopped. */
  forget(): void {
    this.live--;
  }

  private file(dog: Watchdog, at: number): void {
    // Never early (a look before its time would only file the watchdog again), and never behind the
    // cursor: awake time steps back when a stall is taken off, and a slot looked at is not looked at again.
    const slot = Math.max(Math.ceil(at / this.tickMs), this.cursor + 1);
    const list = this.slots.get(slot);
    if (list) list.push(dog);
    else this.slots.set(slot, [dog]);
  }

  private startTimer(): void {
    if (this.timer !== null || this.isStopped) return;
    this.due = this.awake.wallNow() + this.tickMs;
    this.timer = this.clock.setTimeout(() => this.tick(), this.tickMs);
  }

  private tick(): void {
    this.timer = null;
    const stalled = this.awake.timerRan(this.due);
    if (stalled > 0) this.onStall(stalled);
    const now = this.awake.now();
    const current = Math.floor(now / this.tickMs);
    if (current > this.cursor) {
      const slots =
        current - this.cursor <= MAX_SLOT_SCAN
          ? range(this.cursor + 1, current)
          : [...this.slots.keys()].filter((slot) => slot <= current).sort((a, b) => a - b);
      this.cursor = current;
      for (const slot of slots) {
        const list = this.slots.get(slot);
        if (!list) continue;
        this.slots.delete(slot);
        for (const dog of list) {
          this.looks++;
          const next = dog.check(now);
          if (next !== null) this.file(dog, next);
        }
      }
    }
    if (this.live > 0) this.startTimer();
    else this.slots.clear();
  }
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}
