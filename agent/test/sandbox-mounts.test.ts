/**
 * The sandbox's file system plan (backends/local/sandbox/mounts.ts) as plain data, one labelled case per
 * rule, checked through the one thing that matters: what a path shows in the plan's end state (the
 * deepest mount covering it, later mounts at the same depth winning, as bwrap applies them). Beside it,
 * the permission check of the sandbox's user (access.ts) and how a sandboxed exit reads.
 */
import type * as fs from "node:fs";
import { mountArgs, planMounts, within, type Mount, type MountRequest } from "../src/backends/local/sandbox/mounts";
import { unreadableBy } from "../src/backends/local/sandbox/access";
import { BwrapSandbox } from "../src/backends/local/sandbox/bwrap";

const SYSTEM: MountRequest["system"] = [{ path: "/usr" }, { path: "/bin", symlink: "usr/bin" }, { path: "/etc" }, { path: "/opt" }];

function request(over: Partial<MountRequest>): MountRequest {
  return { system: SYSTEM, readOnly: [], volumes: [], devices: [], private: [], otherApps: [], ...over };
}

/** What `p` shows after the plan: the host path it shows (ro:, rw:, dev:), "hidden" (a tmpfs or an empty file over it), or "absent". */
function shows(plan: readonly Mount[], p: string): string {
  let best: Mount | undefined;
  let bestIndex = -1;
  plan.forEach((m, i) => {
    if (!within(p, m.path)) return;
    if (best === undefined || m.path.length > best.path.length || (m.path === best.path && i > bestIndex)) {
      best = m;
      bestIndex = i;
    }
  });
  const m = best as Mount | undefined;
  if (m === undefined || m.kind === "dir") return "absent";
  if (m.kind === "ro-bind" || m.kind === "bind" || m.kind === "dev-bind") return `${{ "ro-bind": "ro", bind: "rw", "dev-bind": "dev" }[m.kind]}:${m.source}${p.slice(m.path.length)}`;
  if (m.kind === "hide-file" || (m.kind === "tmpfs" && !["/tmp", "/dev/shm"].includes(m.path))) return "hidden";
  return "absent";
}

describe("planMounts", () => {
  const cases: Array<{ name: string; req: Partial<MountRequest>; expect: Record<string, string> }> = [
    {
      name: "a closed world: system dirs read-only, nothing else of the host",
      req: { readOnly: ["/srv/app"] },
      expect: { "/usr/lib/x": "ro:/usr/lib/x", "/srv/app/h.py": "ro:/srv/app/h.py", "/srv/other": "absent", "/home/me": "absent", "/var/lib/x": "absent", "/tmp/x": "absent" },
    },
    {
      name: "the state dir inside the app dir is hidden, and so is the token in it",
      req: {
        readOnly: ["/srv/app"],
        private: [
          { path: "/srv/app/.warmpool", dir: true },
          { path: "/srv/app/.warmpool/token", dir: false },
        ],
      },
      expect: { "/srv/app/h.py": "ro:/srv/app/h.py", "/srv/app/.warmpool/state.db": "hidden", "/srv/app/.warmpool/token": "hidden" },
    },
    {
      name: "a private path wins over a bind of the very same path",
      req: { readOnly: ["/srv/app"], private: [{ path: "/srv/app", dir: true }] },
      expect: { "/srv/app/h.py": "hidden" },
    },
    {
      name: "a token file outside the state dir, inside a bind: an empty file over it",
      req: { readOnly: ["/srv"], private: [{ path: "/srv/token", dir: false }] },
      expect: { "/srv/token": "hidden", "/srv/app": "ro:/srv/app" },
    },
    {
      name: "private paths nothing shows need no mount",
      req: { readOnly: ["/srv/app"], private: [{ path: "/var/lib/warmpool", dir: true }] },
      expect: { "/var/lib/warmpool/state.db": "absent" },
    },
    {
      name: "another app's dir inside this one is hidden; the same dir as this one's is not (it is this one's)",
      req: { readOnly: ["/srv/app"], otherApps: ["/srv/app/neighbour", "/srv/app"] },
      expect: { "/srv/app/neighbour/secret": "hidden", "/srv/app/h.py": "ro:/srv/app/h.py" },
    },
    {
      name: "another app's dir around this one, under /opt: hidden, and this one's bound again inside it",
      req: { readOnly: ["/opt/apps/b"], otherApps: ["/opt/apps"] },
      expect: { "/opt/apps/a/secret": "hidden", "/opt/apps/b/h.py": "ro:/opt/apps/b/h.py", "/opt/cuda/lib": "ro:/opt/cuda/lib" },
    },
    {
      name: "another app's dir outside anything bound needs no mount",
      req: { readOnly: ["/srv/app"], otherApps: ["/home/me/other"] },
      expect: { "/home/me/other/x": "absent" },
    },
    {
      name: "a volume inside the hidden state dir shows at its mount path, read-write",
      req: {
        readOnly: ["/srv/app"],
        private: [{ path: "/srv/app/.warmpool", dir: true }],
        volumes: [
          { source: "/srv/app/.warmpool/volumes/a/data", path: "/data" },
          { source: "/srv/app/.warmpool/volumes/a/fx", path: "/srv/app/.warmpool/volumes/a/fx" },
        ],
      },
      expect: {
        "/data/f": "rw:/srv/app/.warmpool/volumes/a/data/f",
        "/srv/app/.warmpool/volumes/a/fx/f": "rw:/srv/app/.warmpool/volumes/a/fx/f",
        "/srv/app/.warmpool/token": "hidden",
      },
    },
    {
      name: "GPU device nodes, with device access",
      req: { devices: ["/dev/nvidia0", "/dev/nvidiactl"] },
      expect: { "/dev/nvidia0": "dev:/dev/nvidia0", "/dev/nvidia1": "absent" },
    },
  ];
  test.each(cases)("$name", ({ req, expect: want }) => {
    const plan = planMounts(request(req));
    expect(Object.fromEntries(Object.keys(want).map((p) => [p, shows(plan, p)]))).toEqual(want);
  });

  test("parents first, and parents made in a tmpfs get mode 0755 (bwrap would copy /root's 0700)", () => {
    const args = mountArgs(planMounts(request({ readOnly: ["/root/.pyenv/versions/3.11.7"] })));
    const at = (s: string) => args.indexOf(s);
    expect(args.join(" ")).toContain(
      "--perms 0755 --dir /root --perms 0755 --dir /root/.pyenv --perms 0755 --dir /root/.pyenv/versions --ro-bind /root/.pyenv/versions/3.11.7 /root/.pyenv/versions/3.11.7",
    );
    expect(at("/proc")).toBeLessThan(at("/root"));
    // A mount point inside a read-only bind is the host's own dir: nothing to make there.
    expect(mountArgs(planMounts(request({ readOnly: ["/opt/apps/b"] }))).join(" ")).not.toContain("--dir /opt");
  });

  test("fresh /proc, a minimal /dev, private /tmp and /dev/shm (sticky, writable by all)", () => {
    const args = mountArgs(planMounts(request({}))).join(" ");
    expect(args).toContain("--proc /proc");
    expect(args).toContain("--dev /dev");
    expect(args).toContain("--perms 1777 --tmpfs /tmp");
    expect(args).toContain("--perms 1777 --tmpfs /dev/shm");
    expect(args).toContain("--symlink usr/bin /bin");
  });
});

describe("unreadableBy", () => {
  const stat =
    (mode: number, uid = 0, gid = 0) =>
    () =>
      ({ mode: 0o40000 | mode, uid, gid }) as fs.Stats;
  const user = { uid: 65534, gid: 65534 };
  test.each([
    ["0755 owned by root: readable as other", stat(0o755), null],
    ["0700 owned by root (mktemp -d)", stat(0o700), "mode 0700, owner 0:0"],
    ["0750 with the user's group", stat(0o750, 0, 65534), null],
    ["0705 with the user's group: group bits apply, not other's", stat(0o705, 0, 65534), "mode 0705"],
    ["0700 owned by the user", stat(0o700, 65534, 65534), null],
  ])("%s", (_, s, problem) => {
    const got = unreadableBy("/srv/app", user, s);
    if (problem === null) expect(got).toBeNull();
    else expect(got).toContain(problem);
  });
  test("the message says what to do", () => {
    expect(unreadableBy("/srv/app", user, stat(0o700))).toContain("chmod o+rx /srv/app");
  });
});

test("a sandboxed exit: bwrap reports death by signal n as status 128 + n", () => {
  const describe = BwrapSandbox.prototype.describeExit;
  expect(describe(137, null)).toBe("killed by SIGKILL");
  expect(describe(143, null)).toBe("killed by SIGTERM");
  expect(describe(3, null)).toBe("exited with status 3");
  expect(describe(null, "SIGKILL")).toBe("killed by SIGKILL");
});
