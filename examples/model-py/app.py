"""A model served the way Modal serves one: a class whose snap `enter` hook builds a large
table once (captured in a snapshot every container starts from), whose other `enter` hook runs
once per container, with a parametrized `predict`, a batched `embed` and a generator `tokens`.
`fnhost run examples/model-py/app.py` calls `predict` 100 times and prints how many containers
served and how many times a container entered: each enters exactly once."""

import random

import fnhost

app = fnhost.App()

#: How many times this container ran `Model`'s per-container `enter` hook.
ENTERS = [0]

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dogs"]


@app.cls(max_containers=4)
class Model:
    size: int = fnhost.parameter()

    @fnhost.enter(snap=True)
    def load(self):
        """Builds the table: ~200 ms of work, done once and captured in the snapshot."""
        state = 0x9E3779B9
        weights = []
        for _ in range(self.size):
            state = (state * 1103515245 + 12345) % 2**31
            weights.append(state >> 8)
        self.weights = weights

    @fnhost.enter()
    def connect(self):
        """Runs in every container, after it started from the snapshot."""
        ENTERS[0] += 1
        self.container = random.getrandbits(63)

    @fnhost.method()
    def predict(self, x):
        weight = self.weights[x % len(self.weights)]
        return [weight * x % 1000, self.container, ENTERS[0]]

    @fnhost.method()
    @fnhost.batched(max_batch_size=16, wait_ms=10)
    def embed(self, texts):
        return [[self.weights[byte % len(self.weights)] % 100 for byte in text.encode()[:4]] for text in texts]

    @fnhost.method()
    def tokens(self, n):
        for i in range(n):
            yield WORDS[i % len(WORDS)]


@app.local_entrypoint()
def main():
    model = Model(size=200_000)
    enters = {}
    total = 0
    for x in range(100):
        prediction, container, entered = model.predict.remote(x)
        total += prediction
        enters[container] = entered
    print(f"predict: 100 calls, predictions summing to {total}")
    print(f"embed: {model.embed.remote('hello')}")
    print(f"tokens: {' '.join(model.tokens.remote_gen(5))}")
    containers = model.predict.get_current_stats().containers_started
    print(f"containers: {containers}, enters: {sum(enters.values())}")
