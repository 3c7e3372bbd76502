/**
 * A cap on the gateway's open connections. Past it a new connection is answered `503
 * WP_ERR_OVERLOADED` (JSON, `Retry-After: 1`) and closed, rather than accepted into a process that
 * then runs out of file descriptors: at 1,024 fds a 2,000-connection burst left 1,002 connections
 * unanswered and containers failing to start ("too many open files"), since worker processes, log
 * files and the database need descriptors of their own.
 *
 * The default cap is config/limits.ts `defaultMaxConnections`.
 */
import type * as http from "node:http";
import type * as net from "node:net";
import { AgentError, rawResponse } from "../errors";

/**
 * How long a refused connection may stay open to take its 503 (the client may still be sending: closing
 * on unread bytes would reset the connection before the answer is read), and how many may linger at
 * once. Past that many a refused connection is closed as soon as its answer is written: lingering ones
 * hold descriptors too, and at 1,024 fds a 1,000-connection burst would otherwise run out of them.
 */
const LINGER_MS = 1000;
const MAX_LINGERING = 64;

/**
 * Puts the cap in front of `server`'s own connection handling. Returns what stops new connections
 * for the gateway's close (node:http's close would otherwise wait on one accepted meanwhile).
 */
export function limitConnections(server: http.Server, max: number): { open(): number; close(): void } {
  const accept = server.listeners("connection") as Array<(socket: net.Socket) => void>;
  server.removeAllListeners("connection");
  const sockets = new Set<net.Socket>();
  let lingering = 0;
  let closing = false;
  const refusal = rawResponse(new AgentError("WP_ERR_OVERLOADED", [`the agent already holds ${max} connections (--max-connections); retry later`]), { "retry-after": "1" });
  const refuse = (socket: net.Socket): void => {
    if (lingering >= MAX_LINGERING) return void socket.end(refusal, () => socket.destroy());
    lingering++;
    socket.once("close", () => lingering--);
    socket.end(refusal);
    socket.resume();
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  server.on("connection", (socket: net.Socket) => {
    socket.on("error", () => socket.destroy());
    if (closing) return void socket.destroy();
    if (sockets.size >= max) return refuse(socket);
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    for (const listener of accept) listener.call(server, socket);
  });
  return {
    open: () => sockets.size,
    close: () => {
      closing = true;
    },
  };
}
