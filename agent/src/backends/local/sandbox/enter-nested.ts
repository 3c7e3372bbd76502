/**
 * `container exec` into a bubblewrap sandbox made by an agent that is not root. bwrap then makes a
 * user namespace for the sandbox's other namespaces and, for `--disable-userns`, a second one nested
 * in it, where the worker runs. nsenter (util-linux 2.38) can only enter the worker's own user
 * namespace, where the caller has no capability over the namespaces the first one owns ("reassociate
 * to namespace 'ns/ipc' failed: Operation not permitted"). This script, run by the host's python3
 * with the agent's uid, enters the owning user namespace first (NS_GET_PARENT), then the worker's IPC,
 * UTS, mount and pid namespaces, then the nested user namespace, takes the worker's root and working
 * dir, and runs the command in a child (the pid namespace applies to children), exiting with its
 * status. Standard library only (ctypes for setns(2)).
 */
export const ENTER_NESTED_PY = `
import ctypes, fcntl, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def setns(fd, kind):
    if libc.setns(fd, kind) != 0:
        raise OSError(ctypes.get_errno(), "setns %#x: %s" % (kind, os.strerror(ctypes.get_errno())))
pid = int(sys.argv[1])
ns = {n: os.open("/proc/%d/ns/%s" % (pid, n), os.O_RDONLY) for n in ("user", "ipc", "uts", "mnt", "pid")}
root = os.open("/proc/%d/root" % pid, os.O_RDONLY)
cwd = os.open("/proc/%d/cwd" % pid, os.O_RDONLY)
setns(fcntl.ioctl(ns["user"], 0xB702), 0x10000000)  # NS_GET_PARENT, CLONE_NEWUSER
setns(ns["ipc"], 0x08000000)
setns(ns["uts"], 0x04000000)
setns(ns["mnt"], 0x00020000)
setns(ns["pid"], 0x20000000)
setns(ns["user"], 0x10000000)
os.fchdir(root)
os.chroot(".")
os.fchdir(cwd)
child = os.fork()
if child == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as error:
        sys.stderr.write("%s: %s\\n" % (sys.argv[2], error.strerror))
        os._exit(127)
_, status = os.waitpid(child, 0)
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
`;
