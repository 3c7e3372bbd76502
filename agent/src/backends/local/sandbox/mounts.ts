/**
 * The file system a sandboxed worker sees, as bwrap arguments. It is a closed world: bwrap starts
 * from an empty tmpfs root, and only what is listed here appears in it.
 * - the system dirs, read-only (/usr, /etc, /lib*, ...; those that are symlinks stay symlinks);
 * - read-only: the interpreter's prefixes, the worker runtimes and the function's app dir;
 * - read-write: the function's volumes, at their mount paths;
 * - a fresh /proc (of the sandbox's own pid namespace), a minimal /dev (null, zero, random, tty, ...)
 *   with the GPUs' device nodes when it has GPUs, and a private tmpfs on /tmp and /dev/shm;
 * - hidden: the agent's private paths (state dir, token file) wherever something bound would show
 *   them, even when a bind names the very same path; and every other app's dir wherever it falls inside
 *   something bound (a bind of that same path, the function's own app dir, wins: it is the same files).
 *
 * bwrap applies its arguments in order and a later mount covers an earlier one, so mounts go in order
 * of depth (parents first; at one path, a hiding mount after the bind it hides). A mount point that
 * must be created in a tmpfs gets its parents created first with mode 0755: bwrap would otherwise
 * copy the host's mode (0700 for /root), and the worker's user could not walk to /root/.pyenv/... .
 *
 * Pure: paths must be absolute and real (symlinks resolved), which the caller sees to.
 */
import * as path from "node:path";

export interface MountRequest {
  /** System dirs that exist; `symlink` is the link's target when the dir is a symlink (/bin → usr/bin). */
  system: Array<{ path: string; symlink?: string }>;
  readOnly: string[];
  volumes: Array<{ source: string; path: string }>;
  /** Device nodes (and dirs of them) bound with device access. */
  devices: string[];
  /** The agent's own paths: hidden wherever they would be visible. `dir` false for a file. */
  private: Array<{ path: string; dir: boolean }>;
  /** Other apps' dirs: hidden wherever they would be visible, unless bound themselves. */
  otherApps: string[];
}

export type Mount =
  | { kind: "ro-bind" | "bind" | "dev-bind"; path: string; source: string }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "tmpfs"; path: string; mode: string }
  | { kind: "proc" | "dev"; path: string }
  /** A file hidden behind an empty read-only one. */
  | { kind: "hide-file"; path: string }
  /** A directory made in a tmpfs, mode 0755: the parent of a mount point. */
  | { kind: "dir"; path: string };

const SHOWS = new Set<Mount["kind"]>(["ro-bind", "bind", "dev-bind"]);

export function planMounts(req: MountRequest): Mount[] {
  const mounts: Mount[] = [];
  for (const s of req.system) mounts.push(s.symlink === undefined ? { kind: "ro-bind", path: s.path, source: s.path } : { kind: "symlink", path: s.path, target: s.symlink });
  mounts.push({ kind: "proc", path: "/proc" }, { kind: "dev", path: "/dev" }, { kind: "tmpfs", path: "/tmp", mode: "1777" }, { kind: "tmpfs", path: "/dev/shm", mode: "1777" });
  const bound = new Set(mounts.map((m) => m.path));
  const bind = (m: Mount): void => {
    if (bound.has(m.path)) return;
    bound.add(m.path);
    mounts.push(m);
  };
  for (const p of req.readOnly) bind({ kind: "ro-bind", path: p, source: p });
  for (const v of req.volumes) bind({ kind: "bind", path: v.path, source: v.source });
  for (const d of req.devices) bind({ kind: "dev-bind", path: d, source: d });
  // Hidden only where visible: a path nothing shows needs no mount (and /tmp's tmpfs hides the rest).
  for (const p of req.private) {
    if (visible(mounts, p.path, true)) mounts.push(p.dir ? { kind: "tmpfs", path: p.path, mode: "0755" } : { kind: "hide-file", path: p.path });
  }
  for (const p of req.otherApps) {
    if (!bound.has(p) && visible(mounts, p, false)) mounts.push({ kind: "tmpfs", path: p, mode: "0755" });
  }
  return withParents(sortByDepth(mounts));
}

/** Whether `p` shows through `mounts` as they stand: its deepest covering mount shows host files. */
function visible(mounts: readonly Mount[], p: string, samePathCounts: boolean): boolean {
  let best: Mount | undefined;
  for (const m of mounts) {
    if (!within(p, m.path) || (m.path === p && !samePathCounts)) continue;
    if (best === undefined || depth(m.path) >= depth(best.path)) best = m;
  }
  return best !== undefined && SHOWS.has(best.kind);
}

function sortByDepth(mounts: Mount[]): Mount[] {
  // Array.prototype.sort is stable: at one path the hiding mount (pushed later) stays after the bind.
  return [...mounts].sort((a, b) => depth(a.path) - depth(b.path));
}

/** Inserts `dir` entries (mode 0755) for parents that would be created in a tmpfs, before their first use. */
function withParents(mounts: Mount[]): Mount[] {
  const out: Mount[] = [];
  const made = new Set<string>();
  for (const m of mounts) {
    for (const parent of ancestors(m.path)) {
      if (made.has(parent) || out.some((o) => o.path === parent)) continue;
      // Inside a bind the parent is the host's own dir; anywhere else (a tmpfs, or bwrap's root) it is made.
      const cover = coverOf(out, parent);
      if (cover === undefined || !SHOWS.has(cover.kind)) {
        made.add(parent);
        out.push({ kind: "dir", path: parent });
      }
    }
    out.push(m);
  }
  return out;
}

function coverOf(mounts: readonly Mount[], p: string): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts) if (within(p, m.path) && (best === undefined || depth(m.path) >= depth(best.path))) best = m;
  return best;
}

/** bwrap's arguments for `mounts`. */
export function mountArgs(mounts: readonly Mount[]): string[] {
  const args: string[] = [];
  for (const m of mounts) {
    switch (m.kind) {
      case "ro-bind":
      case "bind":
      case "dev-bind":
        args.push(`--${m.kind}`, m.source, m.path);
        break;
      case "symlink":
        args.push("--symlink", m.target, m.path);
        break;
      case "tmpfs":
        args.push("--perms", m.mode, "--tmpfs", m.path);
        break;
      case "proc":
      case "dev":
        args.push(`--${m.kind}`, m.path);
        break;
      case "hide-file":
        args.push("--ro-bind", "/dev/null", m.path);
        break;
      case "dir":
        args.push("--perms", "0755", "--dir", m.path);
        break;
    }
  }
  return args;
}

export function within(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir === "/" ? "/" : `${dir}/`);
}

function depth(p: string): number {
  return p === "/" ? 0 : p.split("/").length - 1;
}

/** `/a/b/c` → `/a`, `/a/b`. */
function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let dir = path.dirname(p); dir !== "/" && dir !== "."; dir = path.dirname(dir)) out.unshift(dir);
  return out;
}
