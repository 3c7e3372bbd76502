/**
 * A short run of the fuzz and abuse suite (agent/fuzz, `npm run fuzz` for the full one): a real agent
 * process per data plane, 400 generated cases each plus the timed scenarios (slow heads and bodies, a
 * connection flood past the cap). Fails on a crash, a hang, a 5xx, an answer outside the error shape,
 * a protected route answered without the token, the token in any answer, or a request that reached the
 * web server's private endpoint without it. The seed is fixed so that a failure here replays with
 * `node agent/dist/fuzz/run.js --cases 400 --seed 20261202`.
 */
import { fuzz } from "../fuzz/run";

test("the agent survives and answers correctly on both data planes", async () => {
  const reports = await fuzz({
    cases: 400,
    planes: ["agent", "haproxy"],
    seed: 20261202,
    concurrency: 16,
  });
  for (const r of reports) {
    expect({
      plane: r.plane,
      crashed: r.crashed,
      failures: r.failures,
    }).toEqual({ plane: r.plane, crashed: false, failures: [] });
    expect(r.cases).toBeGreaterThanOrEqual(400);
    expect(r.scenarios.map((s) => s.name).sort()).toEqual([
      "bare CRLFs",
      "connection flood",
      "metrics listener",
      "slow body /v1/apps/fz/functions/echo/call",
      "slow body /web/fz/fn/x",
      "slow body /web/fz/upload",
      "slow head",
    ]);
  }
}, 180_000);
