/** `GET /v1/schedules` (every schedule, or `?app=`): timing, policies, last/next run, last call and its outcome. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ScheduleStatus } from "../schedules/scheduler";

/** What the route reads of the scheduler. */
export interface ScheduleList {
  list(app?: string): ScheduleStatus[];
}

export function registerSchedules(app: FastifyInstance, schedules: ScheduleList): void {
  app.get("/v1/schedules", async function listSchedules(req: FastifyRequest<{ Querystring: { app?: string } }>) {
    return { schedules: schedules.list(req.query.app) };
  });
}
