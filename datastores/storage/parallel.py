"""Bounded, in-order parallelism for transfers: a few requests to the storage service at once,
results handed on in their original order, and never more than `window` of them held."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice


def in_order[T](tasks: Iterable[Callable[[], T]], *, window: int) -> Generator[T]:
    """Run `tasks` up to `window` at a time and yield their results in the order of `tasks`.

    `tasks` is consumed lazily: the next task is taken only when a result has been handed
    on, so a generator of tasks that reads its input (a request body) reads ahead by at
    most `window` tasks. The first failure is raised in order; closing the iterator early
    (a client that went away) cancels what has not started and waits for what has.
    """
    tasks = iter(tasks)
    with ThreadPoolExecutor(max_workers=window) as pool:
        pending: deque[Future[T]] = deque(pool.submit(task) for task in islice(tasks, window))
        try:
            while pending:
                result = pending.popleft().result()
                pending.extend(pool.submit(task) for task in islice(tasks, 1))
                yield result
        finally:
            for future in pending:
                future.cancel()
