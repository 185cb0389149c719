// Link watchdogs on virtual time: when a silent link is pinged and declared dead, that a process's own
// stall is not counted as the other end's silence, that a link its owner paused is never blamed, and
// that the cost of watching grows with the ping interval, not with the number of links times the ticks.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Liveness } from "../../../core/transports/liveness.ts";
import type { LivenessSettings, Watchdog } from "../../../core/transports/liveness.ts";
import { VirtualClock, seededRandom } from "../../fixtures/virtual-clock.ts";

const SETTINGS: LivenessSettings = { pingAfterMs: 20_000, deadAfterMs: 60_000 };

function setup(tickMs = 100, showsLife?: () => boolean) {
  const clock = new VirtualClock(1_700_000_000_000);
  const liveness = new Liveness(clock, { tickMs, random: seededRandom(3) });
  const start = clock.now();
  const pings: number[] = [];
  let died: { at: number; silent: number } | null = null;
  const dog = liveness.watch(SETTINGS, {
    ping: () => pings.push(clock.now() - start),
    dead: (silent) => (died = { at: clock.now() - start, silent }),
    showsLife,
  });
  return { clock, liveness, dog, pings, start, died: () => died };
}

describe("a link watchdog", () => {
  test("never pings a link that keeps talking, nor declares it dead", () => {
    const { clock, dog, pings, died } = setup();
    for (let second = 0; second < 600; second++) {
      clock.advanceSync(1000);
      dog.heard();
    }
    assert.deepEqual(pings, []);
    assert.equal(died(), null);
  });

  test("pings a silent link after the ping interval (jittered by up to a quarter), each interval, and declares it dead after the dead interval", () => {
    const { clock, pings, died } = setup();
    clock.advanceSync(59_000);
    assert.equal(died(), null, "silent for 59 s: not dead yet");
    assert.ok(pings.length >= 2, `pinged ${pings.length} times in 59 s of silence`);
    const first = pings[0]!;
    assert.ok(first >= 20_000 && first < 25_100, `first ping at ${first} ms`);
    for (let i = 1; i < pings.length; i++)
      assert.ok(pings[i]! - pings[i - 1]! >= 20_000, `pings ${pings[i - 1]} and ${pings[i]} too close`);
    clock.advanceSync(1200);
    const death = died();
    assert.ok(death, "dead after 60 s of silence");
    assert.ok(death.at >= 60_000 && death.at <= 60_200, `declared dead at ${death.at} ms`);
    assert.ok(death.silent >= 60_000);
  });

  test("a ping answered resets the silence: an idle link that answers is pinged once per interval and lives", () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const liveness = new Liveness(clock, { tickMs: 100, random: seededRandom(5) });
    let pings = 0;
    let dead = false;
    const dog: Watchdog = liveness.watch(SETTINGS, {
      ping: () => {
        pings++;
        dog.heard(); // the pong
      },
      dead: () => (dead = true),
    });
    clock.advanceSync(600_000);
    assert.equal(dead, false);
    // One ping every 20 to 25 s over 10 minutes.
    assert.ok(pings >= 24 && pings <= 30, `${pings} pings in 10 minutes`);
  });

  test("does not count its own process's stall as the other end's silence", () => {
    const { clock, dog, died, liveness } = setup();
    clock.advanceSync(30_000); // 30 s of real silence: pinged
    clock.freeze(50_000); // this process is frozen for 50 s: 80 s have passed on the wall clock
    clock.advanceSync(100); // the first tick after waking runs 50 s late
    assert.equal(died(), null, "the stall is not counted: 30 s of awake silence");
    assert.ok(liveness.awake.stalled >= 49_000, `stall noticed: ${liveness.awake.stalled} ms`);
    // Whatever the other end sent meanwhile is read right after waking.
    dog.heard();
    clock.advanceSync(59_000);
    assert.equal(died(), null);
    clock.advanceSync(2000);
    assert.ok(died(), "a real silence afterwards still counts");
  });

  test("a tick a little late (within the tolerance) is no stall", () => {
    const { clock, died, liveness } = setup();
    for (let i = 0; i < 300; i++) {
      clock.freeze(200); // every tick runs 200 ms late: a busy event loop, not a stall
      clock.advanceSync(100);
    }
    assert.equal(liveness.awake.stalled, 0);
    assert.ok(died(), "90 s of silence on a busy loop is still 90 s");
  });

  test("never blames a link that shows life otherwise (its owner paused it), and counts its silence from the last such sign", () => {
    let paused = true;
    let lastSign = 0;
    const { clock, pings, died, start } = setup(100, () => {
      if (paused) lastSign = clock.now() - start;
      return paused;
    });
    clock.advanceSync(300_000);
    assert.equal(died(), null, "paused for 5 minutes: not dead");
    assert.ok(pings.length >= 10, "the other end still hears from us while paused");
    assert.ok(lastSign > 300_000 - 25_000, "asked at least once per (jittered) ping interval");
    paused = false;
    clock.advanceSync(100_000);
    const death = died();
    assert.ok(death, "silent 100 s after the resume: dead");
    assert.ok(
      death.at >= lastSign + 60_000 && death.at <= lastSign + 60_200,
      `dead 60 s after the last sign of life, at ${death.at}`,
    );
  });

  test("a stopped watchdog is not looked at again, and the timer stops with the last one", () => {
    const { clock, dog, liveness, pings } = setup();
    dog.stop();
    assert.equal(liveness.size, 0);
    clock.advanceSync(120_000);
    assert.deepEqual(pings, []);
    assert.equal(clock.pending, 0, "no timer left running");
  });
});

describe("liveness at scale", () => {
  test("10,000 links cost looks in proportion to their ping interval, and pings spread over ticks", () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const tickMs = 100;
    const liveness = new Liveness(clock, { tickMs, random: seededRandom(11) });
    const links = 10_000;
    let pings = 0;
    let dead = 0;
    const perTick = new Map<number, number>();
    const dogs: Watchdog[] = [];
    for (let i = 0; i < links; i++) {
      const dog: Watchdog = liveness.watch(SETTINGS, {
        ping: () => {
          pings++;
          const tick = Math.floor(clock.now() / tickMs);
          perTick.set(tick, (perTick.get(tick) ?? 0) + 1);
          dog.heard(); // answered at once
        },
        dead: () => dead++,
      });
      dogs.push(dog);
    }
    // Half the links are busy (heard every second), half idle; 200 s of virtual time, 2,000 ticks.
    const seconds = 200;
    for (let s = 0; s < seconds; s++) {
      clock.advanceSync(1000);
      for (let i = 0; i < links; i += 2) dogs[i]!.heard();
    }
    assert.equal(dead, 0);
    const ticks = (seconds * 1000) / tickMs;
    const intervals = (seconds * 1000) / SETTINGS.pingAfterMs;
    // Every link looked at about once per interval: ~100,000 looks, where a sweep of every link on
    // every tick would have made 20,000,000.
    assert.ok(
      liveness.looks <= links * (intervals + 2),
      `${liveness.looks} looks for ${links} links over ${ticks} ticks`,
    );
    // Only the idle half is pinged, about once per 20 to 25 s.
    const idle = links / 2;
    assert.ok(pings >= idle * 7 && pings <= idle * 10, `${pings} pings`);
    // Jitter spreads them: links opened together do not all ping in one tick.
    const busiest = Math.max(...perTick.values());
    assert.ok(busiest <= 400, `${busiest} pings in one tick of ${tickMs} ms`);
  });
});
