"""The LLM server (`chat.server:Model.generate`): loads once per container, then answers prompts."""

import os
import time

from warmpool import enter, method

from ._env import container, fingerprint, record


class Model:
    @enter
    def load(self):
        self.model_id = os.environ.get("MODEL_ID", "")
        self.container = container()

    @method
    def generate(self, prompt, seconds=0):
        # Through a function endpoint the argument is the HTTP request; its JSON body carries the prompt.
        if isinstance(prompt, dict) and "body" in prompt:
            body = prompt["body"] or {}
            prompt, seconds = body.get("prompt", ""), body.get("seconds", 0)
        record("generate.log", str(prompt))
        time.sleep(float(seconds))
        return {
            "text": f"[{self.model_id}] {prompt}",
            "container": self.container,
            "hfToken": fingerprint("HF_TOKEN"),
        }
