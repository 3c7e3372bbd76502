"""A stand-in for a language model, shaped like a Modal port: `@enter` loads weights from a file,
two `@method`s use them, and `size` (a parameter, like `modal.parameter`) picks which weights.

The "weights" are a bigram table (word -> most likely next word), so the example runs anywhere in
milliseconds; swap `load` for a real checkpoint and the rest stays as it is."""
import json
import os

from warmpool import enter, exit, method, parameter

WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights")


class LLM:
    size = parameter(default="small")

    @enter
    def load(self):
        # Once per size in each container, before the first input of that size runs.
        with open(os.path.join(WEIGHTS, f"{self.size}.json"), encoding="utf-8") as f:
            self.next_word = json.load(f)["next"]

    @method
    def generate(self, prompt, max_tokens=5):
        words = prompt.split()
        for _ in range(max_tokens):
            following = self.next_word.get(words[-1]) if words else None
            if following is None:
                break
            words.append(following)
        return " ".join(words)

    @method
    def score(self, text):
        """How many adjacent word pairs of `text` this model would have generated itself."""
        words = text.split()
        return sum(self.next_word.get(a) == b for a, b in zip(words, words[1:]))

    @exit
    def unload(self):
        self.next_word = None
