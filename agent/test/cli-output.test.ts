/**
 * CLI behaviour a script can trust, through real processes against a real agent, on pipes and, where
 * a terminal changes things, on a pseudo-terminal: every result line of `map` reaches stdout whatever
 * the progress bar does; failures come with their error; a reader that leaves (`| head -3`) ends the
 * command quietly; bad flag values and arguments that are not JSON are errors naming what was typed;
 * `-o json|yaml|wide` on every client command; colour only on a terminal, and not with NO_COLOR or
 * --no-color; plain columns; `status` says why desired and ready differ and shows start failures.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { cli, onTerminal, warmpool } from "./cli-process";
import { FIXTURES, ndjson, startProcess, tempDir, until, type Running } from "./helpers";

jest.setTimeout(60_000);

const ESC = "\u001b[";

let dir: string;
let agent: Running;

beforeAll(async () => {
  dir = tempDir("cli-output");
  fs.copyFileSync(path.join(FIXTURES, "handlers.py"), path.join(dir, "handlers.py"));
  fs.writeFileSync(
    path.join(dir, "app.yaml"),
    [
      "name: demo",
      "functions:",
      "  square:",
      '    handler: "handlers:square"',
      "    concurrency: {maxInputs: 8}",
      "  echo:",
      '    handler: "handlers:echo"',
      "  boom:",
      '    handler: "handlers:boom"',
      "  idle:",
      '    handler: "handlers:square"',
      "    autoscaler: {scaledownWindow: 600}",
      "  broken:",
      '    handler: "no_such_module:f"',
      "",
    ].join("\n"),
  );
  agent = await startProcess(dir); // its profile is this file's WARMPOOL_CONFIG: commands need no flags
});

afterAll(async () => {
  agent?.child.kill("SIGTERM");
  await agent?.exited;
});

describe("map", () => {
  test("redirected to a file on a terminal: every line in the file, the bar and the summary on the terminal", async () => {
    const r = await onTerminal(dir, `${warmpool("map", "demo/square", "--range", "200")} > out.ndjson`);
    expect(r.code).toBe(0);
    expect(ndjson(fs.readFileSync(path.join(dir, "out.ndjson"), "utf8"))).toEqual(Array.from({ length: 200 }, (_, i) => ({ index: i, result: i * i })));
    expect(r.output).toMatch(/map \S+ 200\/200 \| 0 failed/);
    expect(r.output).toContain("200 inputs, 200 succeeded, 0 failed");
  });

  test("on a terminal: the lines above the bar, failed ones in red; in a pipe: the same lines, no colour; failures listed again with their error, exit 1", async () => {
    const term = await onTerminal(dir, warmpool("map", "demo/boom", "1", "2"));
    expect(term.code).toBe(1);
    expect(term.output).toContain(`${ESC}31m{"index":0,"status":"failed","error":{"type":"ValueError","message":"bad input 1"`);
    expect(term.output).toMatch(/map \S+ 2\/2 \| 2 failed/);

    const piped = await cli(dir, ["map", "demo/boom", "1", "2"]);
    expect(piped.code).toBe(1);
    expect(ndjson(piped.stdout)).toEqual([
      { index: 0, status: "failed", error: expect.objectContaining({ type: "ValueError", message: "bad input 1" }) },
      { index: 1, status: "failed", error: expect.objectContaining({ type: "ValueError", message: "bad input 2" }) },
    ]);
    expect(piped.stderr).toBe("2 inputs, 0 succeeded, 2 failed\n  input 0: ValueError: bad input 1\n  input 1: ValueError: bad input 2\n");
    expect(piped.stdout + piped.stderr).not.toContain(ESC);
  });

  test("a reader that leaves early (| head -3) ends it quietly, exit 0", async () => {
    // pipefail: the pipeline's status is the CLI's, not head's.
    const run = await promisify(execFile)("bash", ["-o", "pipefail", "-c", `${warmpool("map", "demo/square", "--range", "20000")} 2> err.txt | head -3`], { cwd: dir, env: process.env });
    expect(run.stdout).toBe('{"index":0,"result":0}\n{"index":1,"result":1}\n{"index":2,"result":4}\n');
    expect(fs.readFileSync(path.join(dir, "err.txt"), "utf8")).toBe("");
  });

  test("--file: one JSON argument a line; a line that is not JSON stops it, naming the file and line; --raw sends lines as strings", async () => {
    fs.writeFileSync(path.join(dir, "in.ndjson"), '{"a": 1}\n\n[2]\n"three"\n');
    expect(ndjson((await cli(dir, ["map", "demo/echo", "--file", "in.ndjson"])).stdout).map((l) => l.result.args[0])).toEqual([{ a: 1 }, [2], "three"]);
    fs.writeFileSync(path.join(dir, "bad.ndjson"), "1\nfour\n");
    const bad = await cli(dir, ["map", "demo/echo", "--file", "bad.ndjson"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: --file bad.ndjson line 2: "four" is not valid JSON');
    const raw = await cli(dir, ["map", "demo/echo", "--file", "bad.ndjson", "--raw"]);
    expect(ndjson(raw.stdout).map((l) => l.result.args[0])).toEqual(["1", "four"]);
  });
});

test.each([
  ["map --range abc", ["map", "demo/square", "--range", "abc"], "error: option '--range <n>' argument 'abc' is invalid. must be a whole number ≥ 0."],
  ["map --range -1", ["map", "demo/square", "--range", "-1"], "error: option '--range <n>' argument '-1' is invalid. must be a whole number ≥ 0."],
  ["get --wait abc", ["get", "fc-0", "--wait", "abc"], "error: option '--wait <seconds>' argument 'abc' is invalid. must be a number of seconds ≥ 0."],
  [
    "call --kwargs '{x:3}'",
    ["call", "demo/echo", "--kwargs", "{x:3}"],
    "error: option '--kwargs <json>' argument '{x:3}' is invalid. not valid JSON (Expected property name or '}' in JSON at position 1)",
  ],
  ["call --kwargs '[3]'", ["call", "demo/echo", "--kwargs", "[3]"], "error: option '--kwargs <json>' argument '[3]' is invalid. must be a JSON object"],
  ["logs --tail 0", ["logs", "demo/square", "--tail", "0"], "error: option '--tail <n>' argument '0' is invalid. must be a whole number ≥ 1."],
  ["-o xml", ["apps", "-o", "xml"], "error: option '-o, --output <format>' argument 'xml' is invalid. Allowed choices are json, yaml, wide."],
  [
    "an argument that is not JSON",
    ["call", "demo/echo", "1", "hello"],
    `error: argument 2 "hello" is not valid JSON (Unexpected token 'h', "hello" is not valid JSON): quote a string as '"hello"', or pass --raw to send every argument as a string`,
  ],
  ["a map value that is not JSON", ["map", "demo/echo", "1", "two"], 'error: value 2 "two" is not valid JSON'],
  ["a target that is not app/function", ["call", "square", "1"], 'error: "square" is not app/function'],
  ["map with no inputs", ["map", "demo/square"], "error: no inputs: give values, --range <n> or --file <ndjson>"],
  ["map with inputs two ways", ["map", "demo/square", "1", "--range", "3"], "error: inputs given more than one way: give values, --range <n> or --file <ndjson>"],
])("%s: exit 2, naming the flag or argument and what was typed, nothing sent", async (_name, args, message) => {
  const r = await cli(dir, args);
  expect(r).toMatchObject({ code: 2, stdout: "" });
  expect(r.stderr).toContain(message);
});

test("arguments are JSON; --raw sends each as a string", async () => {
  expect(JSON.parse((await cli(dir, ["call", "demo/echo", "1", '"two"', "[3]", "--kwargs", '{"x": null}'])).stdout)).toEqual({ args: [1, "two", [3]], kwargs: { x: null } });
  expect(JSON.parse((await cli(dir, ["call", "demo/echo", "1", "two", "--raw"])).stdout)).toEqual({ args: ["1", "two"], kwargs: {} });
});

describe("-o json, yaml and wide on every client command", () => {
  let callId: string;

  beforeAll(async () => {
    callId = (await cli(dir, ["spawn", "demo/square", "9"])).stdout.trim();
  });

  const commands: Array<[string, () => string[], (doc: any) => void]> = [
    ["call", () => ["call", "demo/square", "5"], (d) => expect(d).toMatchObject({ status: "succeeded", result: 25, callId: expect.stringMatching(/^fc-/) })],
    ["spawn", () => ["spawn", "demo/square", "6"], (d) => expect(d).toEqual({ callId: expect.stringMatching(/^fc-/) })],
    ["get", () => ["get", callId], (d) => expect(d).toMatchObject({ callId, status: "succeeded", result: 81 })],
    ["cancel", () => ["cancel", callId], (d) => expect(d).toEqual({ callId, status: "succeeded", cancelled: false })],
    ["status", () => ["status", "demo/square"], (d) => expect(d).toMatchObject({ app: "demo", name: "square", status: expect.objectContaining({ replicas: expect.any(Number) }) })],
    ["logs", () => ["logs", "demo/square", "--tail", "2"], (d) => expect(d.containers[0]).toMatchObject({ container: expect.stringMatching(/^square-/), lines: expect.any(Array) })],
    ["schedules", () => ["schedules"], (d) => expect(d).toEqual([])],
    ["apps", () => ["apps"], (d) => expect(d[0]).toMatchObject({ name: "demo", functions: expect.arrayContaining([expect.objectContaining({ name: "square" })]) })],
  ];

  test.each(commands)("%s", async (_name, args, check) => {
    const json = await cli(dir, [...args(), "-o", "json"]);
    expect(json.code).toBe(0);
    check(JSON.parse(json.stdout));
    const yaml = await cli(dir, [...args(), "-o", "yaml"]);
    expect(yaml.code).toBe(0);
    check(parseYaml(yaml.stdout));
    const wide = await cli(dir, [...args(), "-o", "wide"]);
    expect(wide).toMatchObject({ code: 0, stderr: "" });
  });

  test("map: -o json is NDJSON, -o yaml a document per input, -o wide every field of the line", async () => {
    expect(ndjson((await cli(dir, ["map", "demo/square", "2", "3", "-o", "json"])).stdout)).toEqual([
      { index: 0, result: 4 },
      { index: 1, result: 9 },
    ]);
    const yaml = await cli(dir, ["map", "demo/square", "2", "3", "-o", "yaml"]);
    expect(parseAllDocuments(yaml.stdout).map((d) => d.toJS())).toEqual([
      { index: 0, result: 4 },
      { index: 1, result: 9 },
    ]);
    expect(ndjson((await cli(dir, ["map", "demo/square", "2", "-o", "wide"])).stdout)).toEqual([{ index: 0, callId: expect.stringMatching(/^fc-/), status: "succeeded", result: 4 }]);
  });

  test("a failed call with -o json: its record on stdout, the exception on stderr, exit 1", async () => {
    const r = await cli(dir, ["call", "demo/boom", "1", "-o", "json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "failed", error: { type: "ValueError", message: "bad input 1" } });
    expect(r.stderr).toMatch(/^remote ValueError: bad input 1\nTraceback/);
  });
});

describe("colour and columns", () => {
  const status = warmpool("status", "demo/square");

  test("plain columns: upper-case head, aligned, no borders", async () => {
    const r = await cli(dir, ["apps"]);
    const [head, ...rows] = r.stdout.trimEnd().split("\n") as [string, ...string[]];
    // Each column starts where its head does, three spaces after the widest cell before it.
    expect(head).toBe("APP    FUNCTION   RUNTIME   HANDLER            CONTAINERS   QUEUED   IN FLIGHT");
    const starts = [...head.matchAll(/(?:^| {3})(\S)/g)].map((m) => (m.index ?? 0) + m[0].length - 1);
    expect(starts).toEqual([0, 7, 18, 28, 47, 60, 69]);
    for (const row of rows) for (const at of starts) expect([row[at - 1] ?? " ", row[at]]).toEqual([" ", expect.stringMatching(/\S/)]);
    expect(rows).toContainEqual(expect.stringMatching(/^demo {3}broken {5}python {4}no_such_module:f {3}\d+ +0 {8}0$/));
    expect(r.stdout).not.toMatch(/[─│┌┐└┘├┤]/);
    const wide = (await cli(dir, ["apps", "-o", "wide"])).stdout.split("\n")[0];
    expect(wide).toContain("IN FLIGHT   DESIRED   READY   DELAYED   ENVIRONMENT");
  });

  test("on a terminal, container states are coloured; not with NO_COLOR, --no-color or into a pipe", async () => {
    await cli(dir, ["call", "demo/square", "1"]); // a ready container to show
    expect((await onTerminal(dir, status)).output).toContain(`${ESC}32mready${ESC}39m`);
    expect((await onTerminal(dir, status, { NO_COLOR: "1" })).output).not.toContain(ESC);
    expect((await onTerminal(dir, `${status} --no-color`)).output).not.toContain(ESC);
    expect((await onTerminal(dir, `${status} | cat`)).output).not.toContain(ESC);
    const piped = await cli(dir, ["status", "demo/square"]);
    expect(piped.stdout).toMatch(/square-[0-9a-f]+ +ready/);
    expect(piped.stdout).not.toContain(ESC);
  });

  test("errors are red on a terminal (whatever stdout is), plain in a pipe", async () => {
    expect((await onTerminal(dir, warmpool("call", "demo/square", "x"))).output).toContain(`${ESC}31merror:${ESC}39m argument 1 "x"`);
    expect((await onTerminal(dir, `${warmpool("call", "demo/square", "x")} | cat`)).output).toContain(`${ESC}31merror:${ESC}39m argument 1 "x"`);
    expect((await cli(dir, ["call", "demo/square", "x"])).stderr).toMatch(/^error: argument 1 "x"/);
  });
});

describe("status", () => {
  test("desired 0 with a container still ready: why, and when it stops", async () => {
    expect((await cli(dir, ["call", "demo/idle", "3"])).stdout).toBe("9\n");
    // The autoscaler's next tick lowers desired to 0; the container stays for its scaledownWindow.
    await until("desired 0", async () => JSON.parse((await cli(dir, ["status", "demo/idle", "-o", "json"])).stdout).status.replicas === 0);
    const r = await cli(dir, ["status", "demo/idle"]);
    expect(r.stdout).toMatch(/^FUNCTION {4}DESIRED {3}READY {3}STARTING {3}QUEUED {3}DELAYED {3}IN FLIGHT\ndemo\/idle {3}0 {9}1 {7}0 {10}0 {8}0 {9}0\n/);
    expect(r.stdout).toContain("desired 0: the containers the autoscaler wants for 0 in flight + 0 queued, within [0, 10].");
    expect(r.stdout).toMatch(/ready 1 > desired 0: the container over desired stops once idle for scaledownWindow \(600 s\); the next in (59\d|600) s\./);
    expect(r.stdout).toContain("last decision (");
  });

  test("a function whose containers fail to start: the failures and the last error", async () => {
    const id = (await cli(dir, ["spawn", "demo/broken", "1"])).stdout.trim();
    await until("a failed start", async () => JSON.parse((await cli(dir, ["status", "demo/broken", "-o", "json"])).stdout).status.startFailures >= 1);
    const r = await cli(dir, ["status", "demo/broken"]);
    // An import error fails the same way each time: said so, with the worker's traceback less the runtime's frames.
    expect(r.stdout).toMatch(
      /start failures: 1 in a row; the start fails the same way each time \(an import error, a missing handler, @enter raising\), so the waiting inputs failed at once and it is not retried until the next input arrives; last error:\n {2}ModuleNotFoundError: No module named 'no_such_module'\n/,
    );
    expect(JSON.parse((await cli(dir, ["get", id, "-o", "json"])).stdout)).toMatchObject({ status: "failed", error: { type: "ContainerStartupError" } });
    expect(r.stdout).toContain("(`warmpool logs demo/broken` shows what the containers printed)");
    expect((await cli(dir, ["logs", "demo/broken"])).stdout).toContain("No module named 'no_such_module'");
    await cli(dir, ["cancel", id]);
  });
});
