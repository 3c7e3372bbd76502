/**
 * The retry budget and the breaker as pure classes, stepped by hand (every method takes `now`).
 */
import { Breaker } from "../src/queue/breaker";
import { RetryBudget } from "../src/queue/retry-budget";

const T = 1_000_000;

describe("RetryBudget (sliding window)", () => {
  test.each([
    ["the floor: 3 retries with no first attempt", {}, 0, [true, true, true, false]],
    ["40 first attempts allow 4", {}, 40, [true, true, true, true, false]],
    ["49 still 4 (rounded down)", {}, 49, [true, true, true, true, false]],
    ["ratio 0.5, floor 0: 4 first attempts allow 2", { ratio: 0.5, minRetries: 0 }, 4, [true, true, false]],
  ] as Array<[string, object, number, boolean[]]>)("%s", (_label, options, firsts, wants) => {
    const b = new RetryBudget(options);
    for (let i = 0; i < firsts; i++) b.firstAttempt(T);
    expect(wants.map(() => b.tryRetry(T))).toEqual(wants);
  });

  test("first attempts and retries leave the window together, a 5 s slot at a time", () => {
    const b = new RetryBudget();
    for (let i = 0; i < 50; i++) b.firstAttempt(T);
    expect(b.available(T)).toBe(5);
    for (let i = 0; i < 5; i++) expect(b.tryRetry(T + 30_000)).toBe(true);
    expect(b.tryRetry(T + 30_000)).toBe(false);
    // T's slot leaves at T + 60 s (T is on a slot boundary): its 50 first attempts go, the 5 retries of T + 30 s stay.
    expect(b.available(T + 59_999)).toBe(0);
    expect(b.available(T + 60_000)).toBe(0); // max(3, 0) − 5
    expect(b.available(T + 90_000)).toBe(3);
    // A long silence empties every slot.
    expect(b.available(T + 10 * 60_000)).toBe(3);
  });

  test("over a long run at 2 first attempts a second, every one failing: retries ≤ a tenth of first attempts (and the floor's few)", () => {
    const b = new RetryBudget();
    let firsts = 0;
    let retries = 0;
    for (let ms = 0; ms < 300_000; ms += 500) {
      b.firstAttempt(T + ms);
      firsts++;
      // Every attempt fails and asks for up to 3 retries.
      for (let k = 0; k < 3 && b.tryRetry(T + ms); k++) retries++;
    }
    expect(retries / firsts).toBeLessThanOrEqual(0.1 + 3 / firsts);
    expect(retries / firsts).toBeGreaterThanOrEqual(0.09);
  });

  test("bad options name the values", () => {
    expect(() => new RetryBudget({ ratio: -1 })).toThrow("ratio -1 must be ≥ 0");
  });
});

describe("Breaker", () => {
  test("opens at 80 % failures of 20, refuses for 10 s, lets one probe through, closes on its success", () => {
    const b = new Breaker();
    for (let i = 0; i < 19; i++) b.record(T + i, false);
    expect(b.state(T + 19)).toBe("closed"); // 19 < the minimum sample
    b.record(T + 19, false);
    expect(b.state(T + 20)).toBe("open");
    expect(b.admit(T + 20)).toBe(false);
    expect(b.retryAfterS(T + 20)).toBe(10);
    expect(b.admit(T + 19 + 10_000)).toBe(true); // half-open: the probe
    expect(b.admit(T + 19 + 10_001)).toBe(false); // only one
    b.record(T + 19 + 10_500, true);
    expect(b.state(T + 19 + 10_500)).toBe("closed");
    expect(b.admit(T + 19 + 10_500)).toBe(true);
  });

  test("a failed probe opens it again for another 10 s; a probe that never ends is replaced after 10 s", () => {
    const b = new Breaker();
    for (let i = 0; i < 20; i++) b.record(T, false);
    expect(b.admit(T + 10_000)).toBe(true);
    b.record(T + 11_000, false);
    expect(b.state(T + 11_000)).toBe("open");
    expect(b.admit(T + 20_999)).toBe(false);
    expect(b.admit(T + 21_000)).toBe(true);
    expect(b.admit(T + 30_999)).toBe(false);
    expect(b.admit(T + 31_000)).toBe(true);
  });

  test.each([
    ["16 of 20 failed: opens", 16, "open"],
    ["15 of 20 failed: stays closed (a 50 % failure rate gets here 0.6 % of the time)", 15, "closed"],
  ] as const)("%s", (_label, failures, state) => {
    const b = new Breaker();
    for (let i = 0; i < 20; i++) b.record(T + i, i >= failures);
    expect(b.state(T + 20)).toBe(state);
  });

  test("only the last 20, and only those of the last 60 s, count", () => {
    const b = new Breaker();
    for (let i = 0; i < 10; i++) b.record(T, false);
    for (let i = 0; i < 10; i++) b.record(T + 61_000, false);
    expect(b.state(T + 61_000)).toBe("closed"); // the first 10 are too old
    for (let i = 0; i < 100; i++) b.record(T + 62_000, true);
    for (let i = 0; i < 15; i++) b.record(T + 62_000, false);
    expect(b.state(T + 62_000)).toBe("closed"); // 15 of the last 20
    b.record(T + 62_000, false);
    expect(b.state(T + 62_000)).toBe("open");
  });
});
