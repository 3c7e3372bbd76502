/**
 * One regression test per defect an adversarial review found from outside (issue "Break-ins found from
 * outside"), against a real agent process per data plane (so that a crash is a dead process) serving the
 * fuzz suite's app (agent/fuzz/app): a web server behind a public and a private web-server endpoint that
 * records every request it receives, and a function behind a public and a private function endpoint.
 * Requests sent without the token carry `x-fuzz-anon: 1`, so the web server's record shows any that
 * reached the private endpoint anyway.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { request } from "undici";
import { LIMITS, startTarget, type Target } from "../fuzz/target";
import { exchange, parseResponses, type Outcome } from "../fuzz/wire";
import { until } from "./helpers";

jest.setTimeout(60_000);

const send = (t: Target, text: string, answers = 1, deadlineMs = 15_000): Promise<Outcome> =>
  exchange(t.host, t.port, {
    steps: [{ bytes: Buffer.from(text, "latin1") }],
    answers,
    deadlineMs,
  });
const json = (o: Outcome): { error?: { code: string; message: string } } & Record<string, unknown> => JSON.parse(o.responses[0]?.body ?? "null");
const healthy = async (t: Target): Promise<boolean> => {
  const res = await request(`${t.url}/healthz`).catch(() => null);
  await res?.body.text();
  return t.alive() && res?.statusCode === 200;
};

describe.each(["agent", "haproxy"] as const)("data plane: %s", (plane) => {
  let t: Target;
  beforeAll(async () => {
    t = await startTarget(plane);
  }, 90_000);
  afterAll(async () => {
    await t?.stop();
  });

  test("(1) a WebSocket upgrade whose client resets the connection never takes the agent down, on any route, with no token", async () => {
    const routes = ["/v1/apps", "/v1/apps/fz/functions/echo/call", "/web/nope/x", "/web/fz/", "/web/fz/ws", "/web/fz/private/ws", "/web/fz/fn/x", "/web/fz/pfn/x", "/healthz", "/nope"];
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        routes.map(
          (route) =>
            new Promise<void>((resolve) => {
              const s = net.connect({ host: t.host, port: t.port }, () => {
                s.write(`GET ${route} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
                // Reset at once, or once the gateway has begun to answer.
                if (round === 0) s.resetAndDestroy();
                else s.once("data", () => s.resetAndDestroy());
              });
              s.on("error", () => undefined);
              s.on("close", () => resolve());
            }),
        ),
      );
    }
    expect(await healthy(t)).toBe(true);
  });

  test("(2) a token-protected web path is not reachable through another spelling of it", async () => {
    const spellings = ["//private/x", "/%70rivate/x", "/./private/x", "/a/../private/x", "/a/%2e%2e/private/x", "/private;p/x", "/PRIVATE/../private/x"];
    for (const s of spellings) {
      const o = await send(t, `GET /web/fz${s} HTTP/1.1\r\nHost: x\r\nx-fuzz-anon: 1\r\n\r\n`);
      expect([s, o.responses[0]?.status]).toEqual([s, 401]);
      expect(json(o).error?.code).toBe("WP_ERR_UNAUTHORIZED");
    }
    // An encoded slash has no safe reading: refused outright.
    const slash = await send(t, `GET /web/fz/private%2fx HTTP/1.1\r\nHost: x\r\nx-fuzz-anon: 1\r\n\r\n`);
    expect(slash.responses[0]?.status).toBe(400);
    expect(json(slash).error?.code).toBe("WP_ERR_BAD_PATH");
    // With the token, the normal form is what the server receives.
    const served = await send(t, `GET /web/fz//private/./a/../x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\n\r\n`);
    expect(served.responses[0]?.status).toBe(200);
    expect(json(served).path).toBe("/private/x");
    const seen = await t.seen();
    expect(seen.filter((r) => /^\/private([/;?]|$)/.test(r.path) && r.anon !== null)).toEqual([]);
    expect(seen.map((r) => r.path)).toContain("/private/x");
  });

  test("(3) the agent's token never reaches a handler: not a function endpoint's, not a web server's", async () => {
    const fn = await send(t, `GET /web/fz/pfn/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nx-app: kept\r\n\r\n`);
    expect(fn.responses[0]?.status).toBe(200);
    const headers = json(fn).headers as Record<string, string>;
    expect(headers["x-app"]).toBe("kept");
    expect(headers.authorization).toBeUndefined();
    expect(fn.responses[0]?.body).not.toContain(t.token);
    // A public endpoint's own Authorization is the app's business and goes on.
    const own = await send(t, `GET /web/fz/fn/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer the-apps-own\r\n\r\n`);
    expect((json(own).headers as Record<string, string>).authorization).toBe("Bearer the-apps-own");
    await send(t, `GET /web/fz/private/y HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\n\r\n`);
    expect((await t.seen()).filter((r) => r.auth !== null && r.auth.includes(t.token))).toEqual([]);
  });

  test("(5) a body trickled in is cut with a JSON 408, on API, function and web routes", async () => {
    const trickle = (path: string, auth: boolean): Promise<Outcome> =>
      exchange(t.host, t.port, {
        steps: [
          {
            bytes: Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\n${auth ? `Authorization: Bearer ${t.token}\r\n` : ""}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n`),
          },
          ...Array.from({ length: 30 }, () => ({
            bytes: Buffer.from("["),
            delayMs: 1000,
          })),
        ],
        answers: 1,
        deadlineMs: 20_000,
      });
    const outcomes = await Promise.all([trickle("/v1/apps/fz/functions/echo/call", true), trickle("/web/fz/fn/x", false), trickle("/web/fz/upload", false)]);
    for (const o of outcomes) {
      expect(o.hung).toBe(false);
      expect(o.responses[0]?.status).toBe(408);
      expect(json(o).error?.code).toBe("WP_ERR_REQUEST_TIMEOUT");
      // The test's own limits: 4 s, then 500 B/s (fuzz/target.ts); HAProxy's head-and-buffer timeout is 3 s.
      expect(o.ms).toBeLessThan(9000);
    }
  });

  test("(5) a head that never ends is closed within --headers-timeout on the token-less metrics listener too", async () => {
    // node:http checks heads every 30 s unless told otherwise: such a head stayed open 30 s.
    const o = await exchange(t.metrics.host, t.metrics.port, { steps: [{ bytes: Buffer.from("GET /metrics HTTP/1.1\r\nHost: x\r\n") }], answers: 1, deadlineMs: 20_000 });
    expect(o.hung).toBe(false);
    expect(o.ms).toBeLessThan(LIMITS.headersTimeoutS * 1000 + 2500);
  });

  test("(5) what the hand-written HTTP/1.1 path let through is refused, or re-framed, and never reaches the app as sent", async () => {
    // Bare LF line ends: node:http refuses them; HAProxy may read them (RFC 9112 §2.2) and sends the
    // server a request of its own making, one request, CRLF-framed.
    const bareLf = await send(t, "GET /web/fz/lf HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n0\n\nGET /web/fz/private/lf2 HTTP/1.1\nHost: x\nx-fuzz-anon: 1\n\n", 2);
    if (plane === "agent") expect(bareLf.responses[0]?.status).toBe(400);
    else expect(bareLf.responses.map((r) => r.status)).toEqual([200, 401]);
    const big = await send(t, `GET /web/fz/big HTTP/1.1\r\nHost: x\r\nx-big: ${"a".repeat(17_000)}\r\n\r\n`);
    expect([400, 431]).toContain(big.responses[0]?.status);
    const expect200 = await send(t, "GET /web/fz/expect HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\n\r\n");
    expect([400, 417]).toContain(expect200.responses[0]?.status);
    const underscore = await send(t, "POST /web/fz/te HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n");
    expect(underscore.responses[0]?.status).toBe(200);
    const seen = (await t.seen()).map((r) => r.path);
    expect(seen).not.toContain("/big");
    expect(seen).not.toContain("/expect");
    expect(seen).not.toContain("/private/lf2");
    expect(seen.filter((p) => p === "/lf")).toHaveLength(plane === "agent" ? 0 : 1);
  });

  test("(6) deep JSON, CONNECT, a TLS hello and bare CRLFs get the JSON error shape within a bound", async () => {
    const deep = "[".repeat(5000) + "]".repeat(5000);
    const body = `{"args":${deep}}`;
    const d = await send(
      t,
      `POST /v1/apps/fz/functions/echo/call HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    expect(d.responses[0]?.status).toBe(400);
    expect(json(d).error?.message).toContain("256 levels deep");
    const connect = await send(t, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    expect(connect.responses[0]?.status).toBeLessThan(500);
    const tls = await exchange(t.host, t.port, {
      steps: [{ bytes: Buffer.from("16030100a5010000a103035f", "hex") }],
      answers: 1,
      deadlineMs: 5000,
    });
    expect(tls.responses[0]?.status).toBe(400);
    expect(tls.ms).toBeLessThan(2000);
    const crlf = await send(t, "\r\n\r\n\r\n");
    expect(crlf.responses[0]?.status).toBe(408);
    expect(crlf.ms).toBeLessThan(6000);
    for (const o of [d, ...(plane === "agent" ? [connect, tls, crlf] : [])]) expect(typeof json(o).error?.code).toBe("string");
  });

  test("a synchronous call whose caller goes away is cancelled, through either data plane", async () => {
    const metric = async (): Promise<number> => {
      const res = await request(`${t.url}/metrics`, {
        headers: { authorization: `Bearer ${t.token}` },
      });
      const m = /warmpool_inputs_total\{app="fz",function="slow",outcome="cancelled"\} (\d+)/.exec(await res.body.text());
      return m === null ? 0 : Number(m[1]);
    };
    const before = await metric();
    const abort = new AbortController();
    const pending = request(`${t.url}/v1/apps/fz/functions/slow/call`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ args: [60] }),
      signal: abort.signal,
    }).catch((e: Error) => e);
    await until("the call running", async () => {
      const res = await request(`${t.url}/v1/apps/fz/functions/slow`, {
        headers: { authorization: `Bearer ${t.token}` },
      });
      return ((await res.body.json()) as { status: { inFlight: number } }).status.inFlight === 1;
    });
    abort.abort();
    await pending;
    await until("the call cancelled", async () => (await metric()) === before + 1, 10_000);
  });

  test("(6) the spec file's app cannot be replaced over the API", async () => {
    const doc = JSON.stringify({
      functions: { echo: { handler: "recorder:echo" } },
    });
    const o = await send(t, `PUT /v1/apps/fz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nContent-Type: application/json\r\nContent-Length: ${doc.length}\r\n\r\n${doc}`);
    expect(o.responses[0]?.status).toBe(409);
    expect(json(o).error?.code).toBe("WP_ERR_NOT_STANDALONE");
    const apps = await request(`${t.url}/v1/apps/fz`, {
      headers: { authorization: `Bearer ${t.token}` },
    });
    expect(((await apps.body.json()) as { functions: string[] }).functions).toEqual(["site", "echo", "cold", "slow"]);
  });
});

test("(5) at a 1,024 open-file limit, 1,000 connections at once are all answered (200 or a JSON 503), and a container still starts", async () => {
  const t = await startTarget("agent", { fdLimit: 1024, defaultCap: true });
  try {
    const held: net.Socket[] = [];
    const answers = await Promise.all(
      Array.from(
        { length: 1000 },
        () =>
          new Promise<number | string>((resolve) => {
            const s = net.connect({ host: t.host, port: t.port }, () => s.write("GET /web/fz/flood HTTP/1.1\r\nHost: x\r\n\r\n"));
            held.push(s);
            let text = "";
            const timer = setTimeout(() => resolve("hang"), 30_000);
            s.on("data", (d: Buffer) => {
              text += d.toString("latin1");
              const r = parseResponses(text).responses[0];
              if (r === undefined) return;
              clearTimeout(timer);
              resolve(r.status === 503 ? (JSON.parse(r.body).error.code as string) : r.status);
            });
            s.on("error", (e: NodeJS.ErrnoException) => resolve(`error ${e.code}`));
            s.on("close", () => resolve(text === "" ? "closed unanswered" : text.slice(0, 60)));
          }),
      ),
    );
    const counts: Record<string, number> = {};
    for (const a of answers) counts[String(a)] = (counts[String(a)] ?? 0) + 1;
    // 1,024 fds: the default cap is 384 (a quarter kept back, the rest halved for upstream connections).
    expect(Object.keys(counts).sort()).toEqual(["200", "WP_ERR_OVERLOADED"]);
    expect(counts["200"]).toBeGreaterThanOrEqual(300);
    // Still holding what it accepted: free a few, and start a container from zero.
    for (const s of held.splice(0, 10)) s.destroy();
    const call = await request(`${t.url}/v1/apps/fz/functions/cold/call`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.token}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({
        args: [{ method: "GET", path: "/", headers: {} }],
      }),
    });
    const result = (await call.body.json()) as { status: string };
    expect([call.statusCode, result.status]).toEqual([200, "succeeded"]);
    for (const s of held) s.destroy();
    expect(t.alive()).toBe(true);
  } finally {
    await t.stop();
  }
}, 120_000);

test("(5) the soft open-file limit is raised to the hard one at start", async () => {
  const t = await startTarget("agent", { softFdLimit: 512 });
  try {
    const limits = fs
      .readFileSync(`/proc/${t.pid}/limits`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files")) as string;
    const [soft, hard] = limits.split(/\s{2,}/).slice(1, 3);
    expect(Number(soft)).toBeGreaterThan(512);
    expect(soft).toBe(hard);
  } finally {
    await t.stop();
  }
});
