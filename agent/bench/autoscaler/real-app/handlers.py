"""The worker of the autoscaler benchmark's real-agent cross-check (agent/bench/autoscaler/real.ts).

``@enter`` sleeps the scaled cold start; each call sleeps the scaled service time and returns when it
began (``time.time()``), from which the harness computes how long the call waited for a container.
"""
import os
import time

from warmpool import enter


class Work:
    @enter
    def boot(self):
        time.sleep(float(os.environ["COLD_START_S"]))

    def run(self, i):
        started = time.time()
        time.sleep(float(os.environ["SERVICE_S"]))
        return {"i": i, "started": started}
