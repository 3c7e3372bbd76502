/**
 * `warmpool container list [app/fn]` and `warmpool container exec <id> -- <command>`.
 *
 * exec needs a way into a running container that the backend offers; neither does today. A local
 * container is a sandboxed worker process (bubblewrap: its own pid and mount namespaces, the agent's
 * state hidden) with no way in, and a kubernetes container is a Pod that `kubectl exec` reaches with
 * the cluster's credentials, which the agent does not hand out. So exec says that, with the command
 * to use, instead of pretending.
 */
import { clientFrom, type Context } from "./commands";
import { target, UsageError } from "./flags";

export async function containerListCommand(ctx: Context, t: string | undefined): Promise<void> {
  const only = t === undefined ? null : target(t);
  const { containers } = await clientFrom(ctx.flags).containers();
  const list = only === null ? containers : containers.filter((c) => c.app === only[0] && c.function === only[1]);
  const wide = ctx.out.format === "wide";
  ctx.out.document(list, () =>
    ctx.out.table(
      ["container", "app", "function", "state", "in flight", "served", "ref", "created", ...(wide ? ["ready", "idle since", "port", "gpus"] : [])],
      list.map((c) => [
        String(c.id),
        String(c.app),
        String(c.function),
        String(c.state),
        String(c.inFlight),
        String(c.served),
        String(c.ref ?? "-"),
        String(c.createdAt),
        ...(wide ? [String(c.readyAt ?? "-"), String(c.idleSince ?? "-"), String(c.port ?? "-"), (c.gpus as string[]).join(",") || "-"] : []),
      ]),
    ),
  );
}

export async function containerExecCommand(ctx: Context, id: string, command: string[]): Promise<void> {
  if (command.length === 0) throw new UsageError("container exec needs a command after --, e.g. `warmpool container exec <id> -- ls /`");
  const { containers } = await clientFrom(ctx.flags).containers();
  const c = containers.find((x) => x.id === id);
  if (c === undefined) throw new UsageError(`no container ${JSON.stringify(id)} (\`warmpool container list\` lists them)`);
  const ref = String(c.ref ?? "");
  if (ref.startsWith("pid ")) {
    throw new UsageError(
      `container exec is not supported by the local backend: container ${id} is a sandboxed worker process (${ref}) with no way in. Its files are its app dir on the agent's machine, and its output is \`warmpool logs ${String(c.app)}/${String(c.function)}\`; exec works with kubernetes Pods, through kubectl.`,
    );
  }
  throw new UsageError(`container exec goes through the cluster's credentials, which the agent does not hand out: run \`kubectl exec ${ref} -- ${command.join(" ")}\` (in the Function's namespace)`);
}
