/**
 * Whether the sandbox's user can read a directory. When the agent runs as root its workers run as an
 * unprivileged user (65534 by default), so an app dir made by `mktemp -d` (mode 0700, owner root)
 * cannot be read by them: the worker would die at import with a bare PermissionError. Checked before
 * the start instead, so the failure names the dir, its mode and the fix.
 *
 * Only the dir itself counts: inside the sandbox its parents are dirs bwrap made with mode 0755.
 */
import * as fs from "node:fs";

export interface User {
  uid: number;
  gid: number;
}

/** The reason `user` cannot list and enter `dir`, or null when it can. */
export function unreadableBy(dir: string, user: User, stat: (p: string) => fs.Stats = fs.statSync): string | null {
  let st: fs.Stats;
  try {
    st = stat(dir);
  } catch (err) {
    return `${dir} cannot be read (${(err as Error).message})`;
  }
  // Permission bits apply as owner, else as group, else as other (the first class that matches).
  const bits = st.uid === user.uid ? (st.mode >> 6) & 7 : st.gid === user.gid ? (st.mode >> 3) & 7 : st.mode & 7;
  if ((bits & 5) === 5) return null;
  const mode = (st.mode & 0o777).toString(8).padStart(4, "0");
  return (
    `${dir} is not readable by the sandbox user ${user.uid}:${user.gid} (mode ${mode}, owner ${st.uid}:${st.gid}); ` +
    `the agent runs as root, so its workers run as that user: make the dir readable (chmod o+rx ${dir}) or choose another user (--sandbox-user)`
  );
}
