/**
 * The bubblewrap sandbox of a worker. What it holds the worker to, and why each flag:
 * - `--unshare-pid` and a fresh /proc: the worker sees only its sandbox's processes, so neither
 *   /proc/<ppid>/environ (the agent's environment), /proc/<ppid>/cmdline (the path of the token file)
 *   nor another worker's environment (another function's secrets) exists for it. `--unshare-ipc` and
 *   `--unshare-uts`: no shared SysV IPC or POSIX queues, and a hostname change stays inside.
 * - a closed-world file system (mounts.ts): the agent's state dir (database, token, logs of every
 *   function) and other apps' dirs are not there; the app dir and interpreter are read-only.
 * - `--die-with-parent`: when the agent dies (kill -9 included), the kernel kills bwrap, whose pid-1
 *   reaper dies with it, and the end of a pid namespace's init kills everything in it. Measured on a
 *   loaded 2-core machine: every process gone 10–45 ms after the kill (agent-death.test.ts), the
 *   workers' last writes landing up to 12 ms after it (durability.test.ts).
 * - `--new-session`: no controlling terminal, so the worker cannot push keystrokes into the agent's
 *   terminal (TIOCSTI).
 * - the user. Agent not root: `--unshare-user` maps the agent's uid to itself (bwrap needs no
 *   privilege) and `--disable-userns` keeps the worker from nesting user namespaces. Agent root:
 *   bwrap runs privileged (a user namespace would map the worker to host root, the owner of most files,
 *   so it could read any root-owned 0600 file it can see); the worker is then switched by setpriv to
 *   the unprivileged `user` with no groups, no capabilities (the bounding set dropped too) and
 *   no_new_privs (a set-user-ID binary cannot give root back). File permissions protect as well then.
 *   (It can still make user namespaces of its own: there is no user namespace here to disable them in.)
 * - the options go through fd 3 (`--args 3`), not argv: the reaper inside is a copy of bwrap, and its
 *   /proc/1/cmdline would otherwise list the host paths of the state dir and of the other apps.
 * - `env -u PWD`: bwrap sets PWD after its --chdir, and the worker's environment is PROTOCOL.md's list.
 * The network stays the host's: workers listen on loopback and the agent connects to them.
 *
 * `container exec` enters the worker's namespaces (mount, pid, IPC, UTS) at the worker's root and
 * working dir, as its user: with nsenter when the agent is root (then setpriv, as for the worker), and
 * through the user namespaces bwrap made when it is not (enter-nested.ts). The command sees what the
 * worker sees, nothing more. Entering the pid
 * namespace also ties the command to the container: when the sandbox ends, so does it.
 *
 * Signals: the agent's child is bwrap, which does not forward them. SIGKILL goes to the reaper (pid 1
 * inside), whose end takes the whole namespace down before bwrap reports the exit, so a container's
 * `exited` means every process of it is gone. Other signals go to the worker itself, the reaper's
 * oldest child. bwrap reports a death by signal n as status 128 + n, read back as `killed by`.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { oldestChild, childrenOf } from "../../../proc/tree";
import { unreadableBy, type User } from "./access";
import { ENTER_NESTED_PY } from "./enter-nested";
import { Interpreters } from "./interpreter";
import { mountArgs, planMounts, within, type MountRequest } from "./mounts";
import type { Entry, Sandbox, SandboxOptions, Spawnable, WorkerLaunch } from "./sandbox";

export const BWRAP = "bwrap";

const MISSING =
  "warmpool agent: the local backend runs each worker in a bubblewrap sandbox, and bwrap is not installed (not found on PATH). " +
  "Install it (Debian/Ubuntu: apt-get install bubblewrap), or run the workers without isolation: --sandbox none";

/** System dirs shown read-only when they exist. /opt: vendor installs (CUDA) live there. */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"];

export class BwrapSandbox implements Sandbox {
  readonly name = "bwrap";
  private readonly system: MountRequest["system"];
  /** Extra read-only paths every worker needs (resolv.conf's target when it is a link out of /etc). */
  private readonly always: string[];
  private readonly interpreters: Interpreters;
  /** null: the agent is not root, and the worker keeps its uid inside a user namespace. */
  readonly user: User | null;
  private readonly setpriv: string;
  private readonly env: string;
  private nsenter: string | undefined;
  private python: string | undefined;

  private constructor(private readonly options: SandboxOptions) {
    this.system = systemDirs();
    this.always = resolvConf(this.system);
    this.interpreters = new Interpreters(options.env);
    this.user = process.getuid?.() === 0 ? options.user : null;
    this.setpriv = this.user === null ? "" : findTool("setpriv", "the agent runs as root, so its sandboxed workers switch to an unprivileged user with setpriv", "util-linux");
    this.env = findTool("env", "the sandbox clears the PWD that bwrap sets with env", "coreutils");
  }

  /** A sandbox known to work here: one empty sandbox is run first, so a missing or unusable bwrap refuses the start. */
  static create(options: SandboxOptions): BwrapSandbox {
    if (onPath(BWRAP) === undefined) throw new Error(MISSING);
    const sandbox = new BwrapSandbox(options);
    sandbox.probe();
    return sandbox;
  }

  private baseArgs(): string[] {
    const args = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session"];
    if (this.user === null) args.push("--unshare-user", "--disable-userns");
    else args.push("--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP");
    return args;
  }

  /** `command` as the worker's user (root: through setpriv; otherwise already), without bwrap's PWD. */
  private asUser(command: string[]): string[] {
    const clean = [this.env, "-u", "PWD", ...command];
    if (this.user === null) return clean;
    const { uid, gid } = this.user;
    return [this.setpriv, "--reuid", String(uid), "--regid", String(gid), "--clear-groups", "--inh-caps", "-all", "--bounding-set", "-all", "--no-new-privs", "--", ...clean];
  }

  private probe(): void {
    const mounts = mountArgs(planMounts({ system: this.system, readOnly: [], volumes: [], devices: [], private: [], otherApps: [] }));
    try {
      execFileSync(BWRAP, [...this.baseArgs(), ...mounts, "--", ...this.asUser(["true"])], { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === "ENOENT") throw new Error(MISSING);
      const why = e.stderr?.toString().trim() || e.message;
      throw new Error(
        `warmpool agent: bwrap cannot make the workers' sandbox here (${why}). ` +
          "Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; Ubuntu 24.04: kernel.apparmor_restrict_unprivileged_userns=0), " +
          "run the agent as root, or run the workers without isolation: --sandbox none",
      );
    }
  }

  async prepare(launch: WorkerLaunch): Promise<Spawnable> {
    const interpreter = launch.runtime === "python" ? await this.interpreters.forPython(launch.interpreter, launch.appDir) : this.interpreters.forNode(launch.interpreter);
    const appDir = fs.realpathSync(launch.appDir);
    const runtimesDir = fs.realpathSync(this.options.runtimesDir);
    if (this.user !== null) {
      for (const dir of [appDir, runtimesDir]) {
        const problem = unreadableBy(dir, this.user);
        if (problem !== null) throw new Error(problem);
      }
    }
    const readOnly = [...interpreter.paths, runtimesDir, appDir, ...this.always];
    const volumes = launch.volumes.map((v) => ({ source: fs.realpathSync(v.source), path: path.resolve(v.path) }));
    for (const v of volumes) {
      const cover = [...this.system.map((s) => s.path), ...readOnly].find((p) => within(v.path, p));
      if (cover !== undefined && !fs.existsSync(v.path)) {
        throw new Error(`volume mount path ${v.path} lies inside ${cover}, which the sandbox shows read-only, and does not exist there: choose a mount path outside it`);
      }
    }
    const gpu = launch.gpus.length > 0;
    const mounts = planMounts({
      system: this.system,
      // NVML and CUDA read the GPUs' PCI topology under /sys.
      readOnly: gpu ? [...readOnly, "/sys"] : readOnly,
      volumes,
      devices: gpu ? nvidiaDevices() : [],
      private: privatePaths(this.options.privatePaths),
      otherApps: realDirs(this.options.appDirs()).filter((d) => d !== appDir),
    });
    const options = [...this.baseArgs(), ...mountArgs(mounts), "--chdir", appDir];
    return { command: BWRAP, args: ["--args", "3", "--", ...this.asUser([interpreter.executable, ...launch.args])], fd3: `${options.join("\0")}\0` };
  }

  signal(pid: number, signal: NodeJS.Signals): void {
    let target = pid;
    if (signal === "SIGKILL") target = childrenOf(pid)[0] ?? pid;
    else {
      const worker = workerOf(pid);
      // Not started yet (bwrap still mounting): there is no worker to stop gracefully.
      if (worker === undefined) return this.signal(pid, "SIGKILL");
      target = worker;
    }
    try {
      process.kill(target, signal);
    } catch {
      // Gone already.
    }
  }

  enter(pid: number, command: readonly string[]): Entry {
    const worker = workerOf(pid);
    if (worker === undefined) throw new Error(`its sandbox (pid ${pid}) has no worker running`);
    // Found when first needed: an agent whose containers nobody enters needs neither.
    if (this.user === null) {
      // The agent is not root: the worker's user namespace is nested in the one that owns the others.
      this.python ??= findTool("python3", "`warmpool container exec` enters a sandbox of an agent that is not root with a python3 script", "python3");
      return { command: this.python, args: ["-c", ENTER_NESTED_PY, String(worker), ...this.asUser([...command])], worker };
    }
    this.nsenter ??= findTool("nsenter", "`warmpool container exec` enters a sandbox with nsenter", "util-linux");
    return { command: this.nsenter, args: ["--target", String(worker), "--mount", "--pid", "--uts", "--ipc", "--root", "--wd", "--", ...this.asUser([...command])], worker };
  }

  describeExit(code: number | null, signal: NodeJS.Signals | null): string {
    if (signal !== null) return `killed by ${signal}`;
    if (code !== null && code > 128) {
      const name = Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0];
      if (name !== undefined) return `killed by ${name}`;
    }
    return `exited with status ${code}`;
  }
}

/** The worker in the sandbox bwrap `pid` runs: the oldest child of the sandbox's pid-1 reaper (bwrap's child); undefined before it starts. */
function workerOf(pid: number): number | undefined {
  const reaper = childrenOf(pid)[0];
  return reaper === undefined ? undefined : oldestChild(reaper);
}

function systemDirs(): MountRequest["system"] {
  const out: MountRequest["system"] = [];
  for (const dir of SYSTEM_DIRS) {
    try {
      const st = fs.lstatSync(dir);
      if (st.isSymbolicLink()) out.push({ path: dir, symlink: fs.readlinkSync(dir) });
      else if (st.isDirectory()) out.push({ path: dir });
    } catch {
      // Not on this system.
    }
  }
  return out;
}

/** /etc/resolv.conf often links into /run (systemd-resolved), which is not shown: name lookups would fail. */
function resolvConf(system: MountRequest["system"]): string[] {
  try {
    const real = fs.realpathSync("/etc/resolv.conf");
    return system.some((s) => s.symlink === undefined && within(real, s.path)) ? [] : [real];
  } catch {
    return [];
  }
}

/** The real path of `name` on PATH, if there. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(":")) {
    const candidate = path.join(dir, name);
    if (dir !== "" && fs.existsSync(candidate)) return fs.realpathSync(candidate);
  }
  return undefined;
}

/** A tool run inside the sandbox (where /usr is the host's), by its real path. */
function findTool(name: string, why: string, pkg: string): string {
  const found = onPath(name);
  if (found === undefined) throw new Error(`warmpool agent: ${why}, and ${name} is not installed; install ${pkg} (Debian/Ubuntu: apt-get install ${pkg})`);
  return found;
}

function nvidiaDevices(): string[] {
  try {
    return fs
      .readdirSync("/dev")
      .filter((name) => name.startsWith("nvidia"))
      .map((name) => `/dev/${name}`);
  } catch {
    return [];
  }
}

function privatePaths(paths: readonly string[]): MountRequest["private"] {
  const out: MountRequest["private"] = [];
  for (const p of paths) {
    try {
      out.push({ path: fs.realpathSync(p), dir: fs.statSync(p).isDirectory() });
    } catch {
      // Not there: nothing to hide.
    }
  }
  return out;
}

function realDirs(dirs: readonly string[]): string[] {
  const out = new Set<string>();
  for (const d of dirs) {
    try {
      out.add(fs.realpathSync(d));
    } catch {
      // Gone.
    }
  }
  return [...out];
}
