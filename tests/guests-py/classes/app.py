"""The Python test app for classes, in Modal's spelling: a blocking class with parameters,
hooks, a batched method and a hook that can be made to fail; an async class whose methods
interleave on one instance; and functions that call them through the handles."""

import asyncio
import random

import fnhost

app = fnhost.App()

#: How many times this container ran `Table`'s `enter` hooks.
ENTERS = [0]


@app.cls(max_containers=4, scaledown_window=2)
class Table:
    size: int = fnhost.parameter()
    broken: bool = fnhost.parameter(default=False)

    @fnhost.enter()
    def build(self):
        if self.broken:
            print("entering a broken table")
            raise ValueError("the table is broken")
        ENTERS[0] += 1
        self.numbers = [n * 10 for n in range(self.size)]
        self.id = random.getrandbits(63)

    @fnhost.exit()
    def close(self):
        print(f"exit Table(size={self.size}) {self.id}")

    @fnhost.method()
    def lookup(self, index):
        if not 0 <= index < len(self.numbers):
            raise IndexError(f"no number at {index}")
        return self.numbers[index]

    @fnhost.method()
    def who(self):
        return [self.id, ENTERS[0]]

    # Batched, and so a method without `@fnhost.method()`, as on Modal.
    @fnhost.batched(max_batch_size=4, wait_ms=60000)
    def shifted(self, numbers):
        return [n + self.size for n in numbers]


@app.cls(max_containers=1)
@fnhost.concurrent(max_inputs=8)
class Meeting:
    @fnhost.enter()
    async def open(self):
        await asyncio.sleep(0.001)
        self.arrived = 0

    async def _wait_for(self, count):
        self.arrived += 1
        while self.arrived < count:
            await asyncio.sleep(0.001)
        return self.arrived

    @fnhost.method()
    async def join(self, count):
        return await self._wait_for(count)

    @fnhost.method()
    async def join_late(self, count):
        return await self._wait_for(count)


@app.function()
def lookup_in(size, index):
    table = Table(size=size)
    found = table.lookup.remote(index)
    return [found, table.lookup.get_current_stats().containers_started]


@app.function()
async def lookup_in_aio(size, index):
    return await Table(size=size).lookup.remote.aio(index)


@app.local_entrypoint()
def main():
    table = Table(size=3)
    enters = {}
    for index in range(100):
        table.lookup.remote(index % 3)
        instance, entered = table.who.remote()
        enters[instance] = entered
    containers = table.lookup.get_current_stats().containers_started
    print(f"containers: {containers}, enters: {sum(enters.values())}")


@app.function()
def count_to(n):
    yield from range(n)


@app.function()
@fnhost.concurrent(max_inputs=4)
async def count_to_aio(n):
    for i in range(n):
        await asyncio.sleep(0)
        yield i


@app.function()
def count_then_fail(fail_at):
    i = 0
    while True:
        if i >= fail_at:
            raise ValueError(f"failed at {i}")
        yield i
        i += 1


@app.function()
def sum_of_counts(n):
    return [sum(count_to.remote_gen(n)), sum(count_to_aio.remote_gen(n))]


@app.function()
async def sum_of_counts_aio(n):
    blocking = 0
    async for item in count_to.remote_gen.aio(n):
        blocking += item
    streamed = 0
    async for item in count_to_aio.remote_gen.aio(n):
        streamed += item
    return [blocking, streamed]


@app.function()
async def items_until_failure(fail_at):
    numbers = []
    try:
        async for number in count_then_fail.remote_gen.aio(fail_at):
            numbers.append(number)
    except fnhost.exception.Error as error:
        return [numbers, str(error)]
    return [numbers, "no error"]


@app.function()
def misuse_a_generator():
    messages = []
    # A spawn itself cannot fail: its error comes with `get`.
    for call in (lambda: count_to.spawn(3).get(), lambda: count_to.remote(3)):
        try:
            call()
            messages.append("")
        except fnhost.exception.Error as error:
            messages.append(str(error))
    return messages


@app.cls(max_containers=1)
@fnhost.concurrent(max_inputs=4)
class Producer:
    @fnhost.enter()
    def start(self):
        self.count = 0

    @fnhost.method()
    async def numbers(self):
        i = 0
        while True:
            self.count += 1
            yield i
            i += 1

    @fnhost.method()
    async def produced(self):
        return self.count


#: How many times this container's memory ran `Snapped`'s snap hook (a container started from
#: the snapshot counts the one run it inherited), and its other `enter` hook.
SNAP_ENTERS = [0]
LIVE_ENTERS = [0]


@app.cls(max_containers=4)
class Snapped:
    size: int = fnhost.parameter()
    call_out: bool = fnhost.parameter(default=False)
    spawn_out: bool = fnhost.parameter(default=False)
    call_quietly: bool = fnhost.parameter(default=False)

    @fnhost.enter(snap=True)
    def build(self):
        SNAP_ENTERS[0] += 1
        if self.call_out:
            lookup_in_aio.remote(1, 0)
        if self.spawn_out:
            self.pending = lookup_in_aio.spawn(1, 0)
        if self.call_quietly:
            try:
                lookup_in_aio.remote(1, 0)
            except fnhost.exception.Error:
                pass
        self.table = list(range(self.size))

    @fnhost.enter()
    def warm(self):
        LIVE_ENTERS[0] += 1

    @fnhost.method()
    def enters(self):
        return [SNAP_ENTERS[0], LIVE_ENTERS[0], sum(self.table)]
