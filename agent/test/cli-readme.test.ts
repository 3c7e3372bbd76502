/**
 * agent/README.md's CLI commands, typed as a user types them: `warmpool dev examples/quickstart/app.yaml`
 * in a copy of the quickstart (with `--port 0`, so that no fixed port is needed: the commands below
 * find the agent through the profile it wrote), then every line of the README's `cli-commands` block,
 * in its order, in another directory, on a terminal, each checked against what its comment says.
 * `npx warmpool` is the built CLI here (cli.test.ts checks that `npx warmpool` runs it).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { onTerminal, warmpool } from "./cli-process";
import { ndjson, startProcess, tempDir, type Running } from "./helpers";

jest.setTimeout(60_000);

const REPO = path.resolve(__dirname, "..", "..");
const README = fs.readFileSync(path.join(REPO, "agent", "README.md"), "utf8");
const DEV = "npx warmpool dev examples/quickstart/app.yaml";

/** A block's lines: [command, comment]. */
function block(name: string): Array<[string, string]> {
  return new RegExp(`<!-- ${name}[^>]*-->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n<!-- \\/${name} -->`)
    .exec(README)![1]!
    .trimEnd()
    .split("\n")
    .map((l) => l.split(/\s{2,}# /) as [string, string]);
}
const LINES = block("cli-commands");
const STANDALONE = block("cli-commands-standalone");

interface Seen {
  code: number;
  output: string;
  dir: string;
}

let callId = "";

/** What each command must do; the README and this table name the same commands. */
const EXPECT: Record<string, (r: Seen) => void> = {
  "npx warmpool call quickstart/square 7": (r) => expect(r.output).toBe("49\n"),
  "npx warmpool call quickstart/greet '\"world\"'": (r) => expect(r.output).toMatch(/^hello, world, from node v\d+\.\d+\.\d+\n$/),
  "npx warmpool spawn quickstart/square 8": (r) => {
    expect(r.output).toMatch(/^fc-[0-9a-f]+\n$/);
    callId = r.output.trim();
  },
  "npx warmpool get fc-…": (r) => expect(r.output).toBe("64\n"),
  "npx warmpool map quickstart/square --range 1000 > out.ndjson": (r) => {
    expect(ndjson(fs.readFileSync(path.join(r.dir, "out.ndjson"), "utf8"))).toEqual(Array.from({ length: 1000 }, (_, i) => ({ index: i, result: i * i })));
    expect(r.output).toMatch(/map \S+ 1000\/1000 \| 0 failed/);
    expect(r.output).toContain("1000 inputs, 1000 succeeded, 0 failed\n");
  },
  "npx warmpool map quickstart/square --range 1000 | head -3": (r) => {
    // head's lines and the progress bar (stderr) share the terminal: a slow machine draws the bar
    // between two lines, so the bar's redraws (from column 1 to an erase to the line's end) go first.
    const lines = r.output.replace(/\x1b\[\?7[lh]/g, "").replace(/(?:\x1b\[1G)+[^\n]*?\x1b\[0K/g, "");
    expect(lines).toContain('{"index":0,"result":0}\n{"index":1,"result":1}\n{"index":2,"result":4}\n');
    expect(r.output).not.toMatch(/EPIPE|Error|error/);
  },
  "npx warmpool status quickstart/square": (r) => {
    expect(r.output).toMatch(/^FUNCTION +DESIRED +READY +STARTING +QUEUED +DELAYED +IN FLIGHT\nquickstart\/square +\d+ +\d+/);
    expect(r.output).toMatch(/^desired \d+: the containers the autoscaler wants for/m);
    expect(r.output).toMatch(/^CONTAINER +STATE +IN FLIGHT/m);
    expect(r.output).toMatch(/^TIME +DESIRED +AUTOSCALER DECISION\n.*scale up 0 → /m);
  },
  "npx warmpool logs quickstart/square --tail 5": (r) => expect(r.output).toMatch(/^\[square-[0-9a-f]+\] /m),
  "npx warmpool apps -o wide": (r) => expect(r.output).toMatch(/^quickstart +square +python +functions:square +\d+ +\d+ +\d+ +\d+ +\d+ +\d+ +dev$/m),
  "npx warmpool apps -o json": (r) =>
    expect(JSON.parse(r.output)).toEqual([expect.objectContaining({ name: "quickstart", functions: expect.arrayContaining([expect.objectContaining({ name: "greet", runtime: "node" })]) })]),
};

/** What each command of the standalone block must do, typed in order in a copy of the repository's examples. */
const EXPECT_STANDALONE: Record<string, (r: Seen) => void> = {
  "npx warmpool run examples/quickstart/app.yaml square -- 12": (r) => expect(r.output).toBe("144\n"),
  "npx warmpool deploy examples/quickstart/app.yaml": (r) => expect(r.output).toBe("deployed app quickstart: square, tokenizer, greet, embed\n"),
  "npx warmpool call quickstart/square 5": (r) => expect(r.output).toBe("25\n"),
  "npx warmpool logs quickstart/square --since 10m --timestamps": (r) => expect(r.output).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[square-[0-9a-f]+\] /m),
  "npx warmpool container list": (r) => expect(r.output).toMatch(/^CONTAINER +APP +FUNCTION +STATE +IN FLIGHT +SERVED +REF +CREATED\nsquare-[0-9a-f]+ +quickstart +square +ready +0 +1 /),
  "npx warmpool container exec quickstart/square -- python3 -c 'import os; print(os.getcwd(), os.getuid())'": (r) =>
    expect(r.output).toBe(`${fs.realpathSync(path.join(r.dir, "examples", "quickstart"))} ${process.getuid?.() === 0 ? 65534 : process.getuid?.()}\n`),
  "npx warmpool stop quickstart": (r) => expect(r.output).toBe("stopped app quickstart\n"),
};

let agent: Running;
let elsewhere: string;
let standalone: Running;
let project: string;
/** The standalone agent writes its profile to a config file of its own, not the dev agent's. */
const standaloneEnv = { WARMPOOL_CONFIG: path.join(tempDir("readme-standalone-config"), "config.toml") };

beforeAll(async () => {
  project = tempDir("readme");
  fs.cpSync(path.join(REPO, "examples", "quickstart"), path.join(project, "examples", "quickstart"), { recursive: true });
  expect(README).toContain(`${DEV}     # prints the API token once`);
  agent = await startProcess(project, [...DEV.split(" ").slice(2), "--port", "0", "--log-level", "warn"]);
  elsewhere = tempDir("readme-elsewhere");
  standalone = await startProcess(project, ["agent", "--port", "0", "--state-dir", path.join(project, "standalone-state"), "--log-level", "warn"], { ...process.env, ...standaloneEnv });
});

afterAll(async () => {
  agent?.child.kill("SIGTERM");
  standalone?.child.kill("SIGTERM");
  await agent?.exited;
  await standalone?.exited;
});

test("the README and this test name the same commands", () => {
  expect(LINES.map(([command]) => command)).toEqual(Object.keys(EXPECT));
});

test.each(LINES)("%s  # %s", async (command) => {
  const typed = command.replace(/^npx warmpool /, `${warmpool()} `).replace("fc-…", callId);
  const r = await onTerminal(elsewhere, typed);
  expect(r.code).toBe(0);
  EXPECT[command]!({ code: r.code, output: r.output.replace(/\r\n/g, "\n"), dir: elsewhere });
});

describe("against a standalone agent", () => {
  test("the README and this test name the same commands", () => {
    expect(STANDALONE.map(([command]) => command)).toEqual(Object.keys(EXPECT_STANDALONE));
  });

  test.each(STANDALONE)("%s  # %s", async (command) => {
    const r = await onTerminal(project, command.replace(/^npx warmpool /, `${warmpool()} `), standaloneEnv);
    expect(r.code).toBe(0);
    EXPECT_STANDALONE[command]!({ code: r.code, output: r.output.replace(/\r\n/g, "\n"), dir: project });
  });
});
