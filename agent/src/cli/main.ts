#!/usr/bin/env node
/**
 * `warmpool`: run the agent (`agent`, `dev`) or talk to one (`call`, `spawn`, `get`, `cancel`, `map`,
 * `status`, `logs`, `apps`). Client commands find the agent through --url / WARMPOOL_URL and the token
 * through --token / WARMPOOL_TOKEN / `.warmpool/token`.
 */
import { AGENT_ENV, AGENT_FLAGS as F } from "@warmpool/schema";
import { Command, Option } from "commander";
import { schedulesCommand } from "./web";
import { appsCommand, callCommand, cancelCommand, getCommand, guard, logsCommand, mapCommand, spawnCommand, statusCommand } from "./commands";

// The agent's modules (fastify, SQLite, ...) load only for `agent` and `dev`: client commands start fast.
const serve: typeof import("./serve").serve = async (spec, flags) => (await import("./serve")).serve(spec, flags);

/** The CLI; exported so that the contract test parses what the provider renders with this very program. */
export const program = new Command();
program.name("warmpool").description("Serverless GPU functions on your own cloud: the agent and its client").version("0.1.0");

const serverFlags = (cmd: Command): Command =>
  cmd
    .option(`${F.stateDir} <dir>`, "directory of the database, token and logs")
    .option(`${F.tokenFile} <path>`, "read the API token from this file (e.g. a mounted Secret) instead of <state-dir>/token")
    .option(`${F.host} <host>`, "address to listen on (default 127.0.0.1)")
    .option(`${F.port} <port>`, "port to listen on (default 8765; 0 = any free port)")
    .option(`${F.maxPending} <n>`, "pending inputs per function before 429 (default 2000)")
    .option(`${F.payloadLimit} <MiB>`, "largest request body (default 16)")
    .option(`${F.resultTtl} <seconds>`, "how long results are kept (default 604800)")
    .option("--python <path>", "Python interpreter of the local backend (default python3)")
    .option(`${F.logLevel} <level>`, "debug, info, warn, error or silent (default info)")
    .option("--max-connections <n>", "open connections before new ones get 503 (default: the open-file limit less a quarter)")
    .option("--headers-timeout <seconds>", "time a client has to send a request's head (default 10)")
    .option("--body-timeout <seconds>", "time a request body has before it must keep up --body-min-rate (default 20)")
    .option("--body-min-rate <bytes>", "bytes per second a request body must average after --body-timeout (default 500)")
    .addOption(
      new Option(`${F.dataPlane} <name>`, "what proxies requests to web-server endpoints: agent (default), or haproxy (HAProxy 2.6+ on PATH in front of the agent, configured by it)")
        .choices(["agent", "haproxy"])
        .env(AGENT_ENV.dataPlane),
    )
    .addOption(
      new Option("--sandbox <name>", "how local workers are isolated: bwrap (default: bubblewrap, each worker sees only its app, runtime and volumes), or none (plain processes that can read everything the agent can)")
        .choices(["bwrap", "none"])
        .env(AGENT_ENV.sandbox),
    )
    .option("--sandbox-user <uid:gid>", "user the sandboxed workers run as when the agent runs as root (default 65534:65534)");

serverFlags(program.command("agent").description("run the agent standalone: apps are deployed with PUT /v1/apps/{app}, or from warmpool.dev resources with --backend kubernetes"))
  .option(`${F.backend} <name>`, "where containers run: local (default) or kubernetes (scales the worker Deployments of Function resources)")
  .option(`${F.kubeconfig} <path>`, "kubeconfig of the cluster (kubernetes backend; default: in-cluster service account)")
  .option(`${F.workerAddress} <host:port>`, "send worker requests here instead of to Pod IPs (kubernetes backend; an agent outside the cluster network)")
  .action((flags) => serve(undefined, flags));
serverFlags(program.command("serve <spec>").description("like dev, and prints the URLs of the app's web endpoints")).action((spec: string, flags) => serve(spec, flags));
serverFlags(program.command("dev <spec>").description("run the agent with the local backend and the App of a spec file (state in .warmpool/)")).action((spec: string, flags) => serve(spec, flags));

const clientFlags = (cmd: Command): Command => cmd.option("--url <url>", "agent URL (default $WARMPOOL_URL or http://127.0.0.1:8765)").option("--token <token>", "API token (default $WARMPOOL_TOKEN or .warmpool/token)");

clientFlags(program.command("call <target> [args...]").description("call app/fn and print its result").option("--kwargs <json>", "keyword arguments as a JSON object")).action((t: string, a: string[], f) => guard(() => callCommand(t, a, f)));
clientFlags(program.command("spawn <target> [args...]").description("queue a durable call and print its id").option("--kwargs <json>", "keyword arguments as a JSON object")).action((t: string, a: string[], f) => guard(() => spawnCommand(t, a, f)));
clientFlags(program.command("get <callId>").description("wait for a spawned call and print its result").option("--wait <seconds>", "give up after this long").option("--json", "print the whole status")).action((id: string, f) => guard(() => getCommand(id, f)));
clientFlags(program.command("cancel <callId>").description("cancel a call")).action((id: string, f) => guard(() => cancelCommand(id, f)));
clientFlags(
  program
    .command("map <target> [values...]")
    .description("run app/fn over many inputs (each one argument), streaming results")
    .option("--file <ndjson>", "read one JSON argument per line")
    .option("--range <n>", "inputs 0 .. n-1")
    .option("--unordered", "results as they finish")
    .option("--quiet", "print only failures"),
).action((t: string, v: string[], f) => guard(() => mapCommand(t, v, f)));
clientFlags(program.command("status <target>").description("containers, queue and autoscaler decisions of app/fn").option("--json", "print JSON")).action((t: string, f) => guard(() => statusCommand(t, f)));
clientFlags(program.command("logs <target>").description("captured output of app/fn's containers").option("--tail <n>", "lines per container (default 200)")).action((t: string, f) => guard(() => logsCommand(t, f)));
clientFlags(program.command("schedules").description("schedules: timing, next and last run, last outcome and failures").option("--app <app>", "only this app").option("--json", "print JSON")).action((f) => guard(() => schedulesCommand(f)));
clientFlags(program.command("apps").description("deployed apps and their functions").option("--json", "print JSON")).action((f) => guard(() => appsCommand(f)));

/** Runs the command line (bin/warmpool.js calls it; tests import `program` without running it). */
export function run(argv: string[] = process.argv): void {
  program.parseAsync(argv).catch((err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  });
}

if (require.main === module) run();
