"""A script with no app that uses an ephemeral queue, as Modal's misc/queue_simple.py does:
run with `python` and no server named, the queue lives on a `fnhost serve` started for its
block. Every line it prints is deterministic.
"""

import asyncio

import fnhost


async def one_by_one(q: fnhost.Queue) -> None:
    await q.put.aio(42)
    first = await q.get.aio()
    await q.put_many.aio([42, 43, 44, 45, 46])
    await q.put_many.aio([47, 48, 49, 50, 51])
    print("items:", first, await q.get_many.aio(3), await q.get_many.aio(99))


async def many_consumers(q: fnhost.Queue) -> None:
    getters = [asyncio.create_task(q.get.aio()) for _ in range(20)]
    await q.put_many.aio(list(range(10)))
    # Each item goes to one getter: wait until ten have one (every getter waits on the server).
    while sum(getter.done() for getter in getters) < 10:
        waiting = [getter for getter in getters if not getter.done()]
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED, timeout=30)
        if not done:
            raise SystemExit("no getter got an item in 30 s")
    done_after_first = sum(getter.done() for getter in getters)
    await q.put_many.aio(list(range(10, 20)))
    got = await asyncio.wait_for(asyncio.gather(*getters), timeout=60)
    print("consumers:", done_after_first, sorted(got) == list(range(20)))


async def main() -> None:
    with fnhost.Queue.ephemeral() as q:
        await one_by_one(q)
        await many_consumers(q)
        print("name:", q.name, q.object_id.startswith("qu-"))


if __name__ == "__main__":
    asyncio.run(main())
