/**
 * The retry budget and the breaker as pure classes, stepped by hand (every method takes `now`).
 */
import { Breaker } from "../src/queue/breaker";
import { RetryBudget } from "../src/queue/retry-budget";

const T = 1_000_000;

describe("RetryBudget (token bucket)", () => {
  test.each([
    ["starts full: 10 retries before any first attempt earned one", {}, 0, [...Array(10).fill(true), false]],
    ["10 first attempts earn 1 retry", { initialTokens: 0 }, 10, [true, false]],
    ["9 do not", { initialTokens: 0 }, 9, [false]],
    ["the bucket holds at most maxTokens", { initialTokens: 0, maxTokens: 2 }, 1000, [true, true, false]],
    ["ratio 0.5: 4 first attempts earn 2", { initialTokens: 0, ratio: 0.5 }, 4, [true, true, false]],
  ] as Array<[string, object, number, boolean[]]>)("%s", (_label, options, firsts, wants) => {
    const b = new RetryBudget(options);
    for (let i = 0; i < firsts; i++) b.firstAttempt();
    expect(wants.map(() => b.tryRetry())).toEqual(wants);
  });

  test("over a long run, retries ≤ initial + ratio × first attempts", () => {
    const b = new RetryBudget();
    let retries = 0;
    for (let i = 0; i < 600; i++) {
      b.firstAttempt();
      // Every attempt fails and asks for up to 3 retries.
      for (let k = 0; k < 3 && b.tryRetry(); k++) retries++;
    }
    expect(retries).toBeLessThanOrEqual(10 + 60);
    expect(retries).toBeGreaterThanOrEqual(60);
  });

  test("bad options name the values", () => {
    expect(() => new RetryBudget({ maxTokens: 0 })).toThrow("maxTokens 0 ≥ 1");
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
