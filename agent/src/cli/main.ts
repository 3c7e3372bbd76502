#!/usr/bin/env node
/**
 * `warmpool`: run the agent (`agent`, `dev`, `serve`) or talk to one (`call`, `spawn`, `get`, `cancel`,
 * `map`, `status`, `logs`, `schedules`, `apps`, `deploy`, `stop`, `run`, `container`). Client commands find the agent as client/config.ts
 * says: --url/--token, WARMPOOL_URL/WARMPOOL_TOKEN, a profile of ~/.warmpool/config.toml (which
 * `warmpool dev` writes), or the local default. Exit status: 0, 1 when a remote function failed, 2 for
 * anything else (a usage error, an agent that cannot be reached or refuses the token).
 */
import { AGENT_ENV, AGENT_FLAGS as F } from "@warmpool/schema";
import { Command, CommanderError, Option } from "commander";
import { schedulesCommand } from "./schedules";
import { appsCommand, callCommand, cancelCommand, getCommand, spawnCommand, type ClientFlags, type Context } from "./commands";
import { containerExecCommand, containerListCommand } from "./containers";
import { deployCommand, runCommand, stopCommand } from "./lifecycle";
import { logsCommand } from "./logs";
import { EXIT, guard } from "./errors";
import { duration, jsonObject, seconds, wholeNumber } from "./flags";
import { mapCommand } from "./map";
import { exitQuietlyOnEpipe, FORMATS, Output } from "./output";
import { statusCommand } from "./status";

// The agent's modules (fastify, SQLite, ...) load only for `agent` and `dev`: client commands start fast.
const serve: typeof import("./serve").serve = async (spec, flags) => (await import("./serve")).serve(spec, flags);

/** The CLI; exported so that the contract test parses what the provider renders with this very program. */
export const program = new Command();
program.name("warmpool").description("Serverless GPU functions on your own cloud: the agent and its client").version("0.1.0");
// Usage errors exit 2, like every other error that is not a remote function's (errors.ts); set before
// the commands are added, which inherit it.
program.exitOverride();
program.option("--no-color", "no colour (also: NO_COLOR set, or output that is not a terminal)");

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
    .option(`${F.metricsPort} <port>`, "also serve GET /metrics without the token on this port (0: any free one), for Prometheus; the API's /metrics needs the token")
    .addOption(
      new Option(
        "--log-format <format>",
        "json: one JSON object per line, ISO times and level names (default; dev: when stderr is not a terminal); pretty: readable lines (dev on a terminal)",
      ).choices(["json", "pretty"]),
    )
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
      new Option(
        "--sandbox <name>",
        "how local workers are isolated: bwrap (default: bubblewrap, each worker sees only its app, runtime and volumes), or none (plain processes that can read everything the agent can)",
      )
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
serverFlags(
  program
    .command("dev <spec>")
    .description("run the agent with the local backend and the App of a spec file (state in .warmpool/); reloads when the spec or a handler file changes")
    .option("--no-watch", "do not reload on changes"),
).action((spec: string, flags) => serve(spec, { logFormat: process.stderr.isTTY === true ? "pretty" : "json", ...flags }));

/** The flags of every client command: which agent (client/config.ts), and how to print. */
const clientFlags = (cmd: Command): Command =>
  cmd
    .option("--url <url>", "agent URL (default: $WARMPOOL_URL, the profile's url, or http://127.0.0.1:8765)")
    .option("--token <token>", "API token (default: $WARMPOOL_TOKEN, the profile's token, or the state dir's token file)")
    .option("--profile <name>", "a profile of ~/.warmpool/config.toml ($WARMPOOL_CONFIG): the agent `warmpool dev` wrote, or one added by hand (default: $WARMPOOL_PROFILE, else the active one)")
    .addOption(new Option("-o, --output <format>", "json, yaml (for programs), or wide (more columns)").choices(FORMATS))
    .addOption(new Option("--json", "same as -o json").hideHelp());

/** A client command's action: its flags and Output in, errors turned into a message and exit status. */
function clientAction<F extends ClientFlags, A extends unknown[]>(action: (ctx: Context<F>, ...args: A) => Promise<void>) {
  return (...params: unknown[]): Promise<void> => {
    const cmd = params[params.length - 1] as Command;
    const flags = cmd.opts<F>();
    const out = new Output(flags, program.opts<{ color: boolean }>().color);
    return guard(out, () => action({ flags, out }, ...(params.slice(0, -2) as A)));
  };
}

const invokeFlags = (cmd: Command): Command =>
  cmd.option("--kwargs <json>", "keyword arguments as a JSON object", jsonObject).option("--raw", "send every argument as a string instead of parsing it as JSON");

clientFlags(invokeFlags(program.command("call <target> [args...]").description("call app/fn with JSON arguments and print its result"))).action(clientAction(callCommand));
clientFlags(invokeFlags(program.command("spawn <target> [args...]").description("queue a durable call and print its id"))).action(clientAction(spawnCommand));
clientFlags(program.command("get <callId>").description("wait for a spawned call and print its result").option("--wait <seconds>", "give up after this long", seconds)).action(
  clientAction(getCommand),
);
clientFlags(program.command("cancel <callId>").description("cancel a call")).action(clientAction(cancelCommand));
clientFlags(
  program
    .command("map <target> [values...]")
    .description("run app/fn over many inputs (each one JSON argument), one result line each on stdout; a progress bar on stderr when it is a terminal")
    .option("--file <ndjson>", "read one JSON argument per line")
    .option("--range <n>", "inputs 0 .. n-1", wholeNumber(0))
    .option("--raw", "each value or line is a string, not JSON")
    .option("--unordered", "results as they finish")
    .option("--quiet", "print only failures"),
).action(clientAction(mapCommand));
clientFlags(program.command("status <target>").description("desired and ready containers and why they differ, start failures, containers and autoscaler decisions of app/fn")).action(
  clientAction(statusCommand),
);
clientFlags(
  program
    .command("logs <target>")
    .description("captured output of app/fn's containers")
    .option("--tail <n>", "lines per container (default 200)", wholeNumber(1))
    .option("-f, --follow", "keep printing lines as the containers write them, until Ctrl-C")
    .option("--since <duration>", "only containers whose output changed within this long: 30s, 10m, 2h, 1d (a bare number is seconds)", duration)
    .option("--timestamps", "prefix each line with when the agent read it from the container (- where the backend keeps no times)"),
).action(clientAction(logsCommand));
clientFlags(program.command("deploy <spec>").description("deploy (or update) the App of a spec file on the agent, which keeps it across restarts")).action(clientAction(deployCommand));
clientFlags(program.command("stop <app>").description("stop an app deployed with `deploy`: its containers and schedules stop, its waiting inputs fail")).action(clientAction(stopCommand));
clientFlags(
  invokeFlags(program.command("run <spec> <function> [args...]").description("one-shot: deploy the spec's app, call the function with JSON arguments (after --), print its result, stop the app")),
).action(clientAction(runCommand));
const container = program.command("container").description("the containers of deployed functions");
clientFlags(container.command("list [target]").description("containers (of app/fn, or all), their state and what they run")).action(clientAction(containerListCommand));
clientFlags(
  container
    .command("exec <container> [command...]")
    .description("run a command (after --) inside a container (an id, or app/fn: its oldest ready one), as its worker runs; exits with the command's status (local backend; kubernetes: kubectl exec)")
    .option("--timeout <seconds>", "kill the command after this long (default 60, at most 3600)", seconds),
).action(clientAction(containerExecCommand));
clientFlags(program.command("schedules").description("schedules: timing, next and last run, last outcome and failures").option("--app <app>", "only this app")).action(clientAction(schedulesCommand));
clientFlags(program.command("apps").description("deployed apps, their functions and endpoints")).action(clientAction(appsCommand));

/** Runs the command line (bin/warmpool.js calls it; tests import `program` without running it). */
export function run(argv: string[] = process.argv): void {
  exitQuietlyOnEpipe(process.stdout);
  exitQuietlyOnEpipe(process.stderr);
  program.parseAsync(argv).catch((err: Error) => {
    // commander has printed its own errors (an unknown flag, a bad value); the others are said here.
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EXIT.error;
      return;
    }
    process.stderr.write(`${err.message}\n`);
    process.exit(EXIT.error);
  });
}

if (require.main === module) run();
