/** `GET /v1/schedules` (every schedule, or `?app=`): timing, policies, last/next run, last call and its outcome. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Agent } from "../agent";

export function registerSchedules(app: FastifyInstance, agent: Agent): void {
  app.get("/v1/schedules", async function listSchedules(req: FastifyRequest<{ Querystring: { app?: string } }>) {
    return { schedules: agent.schedules.list(req.query.app) };
  });
}
