/**
 * Volumes on the local backend: the only place a sandboxed worker can write that outlives it (/tmp is
 * its own, and goes with it). A function declares them as on Kubernetes, `volumes: {<mount path>:
 * <volume name>}`; here volume `name` of app `app` is the directory `<stateDir>/volumes/<app>/<name>`,
 * made on first use and kept across restarts, shared by every container of the app that mounts it
 * (like a ReadWriteMany claim), and shown read-write at the mount path. It is owned by the sandbox's
 * user when the agent runs as root, so that user can write in it; nothing else of the state dir is
 * shown.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { User } from "./sandbox/access";

export function volumeDir(stateDir: string, app: string, name: string): string {
  return path.join(stateDir, "volumes", app, name);
}

/** The volumes of a function's spec, their dirs made (and, as root, given to `owner`). */
export function functionVolumes(stateDir: string, app: string, volumes: Readonly<Record<string, string>>, owner: User | null): Array<{ source: string; path: string }> {
  return Object.entries(volumes).map(([mountPath, name]) => {
    const source = volumeDir(stateDir, app, name);
    fs.mkdirSync(source, { recursive: true, mode: 0o700 });
    if (owner !== null) fs.chownSync(source, owner.uid, owner.gid);
    return { source, path: mountPath };
  });
}
