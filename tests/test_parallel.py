"""The bounded, in-order parallelism that Blob transfers use: order, bound, laziness and cancel."""

from __future__ import annotations

import threading
import time

import pytest

from datastores.storage.parallel import in_order


class Tracker:
    """Tasks that sleep (the later ones less, so they finish out of order) and count who runs."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = self.most_running = self.taken = 0
        self.started: list[int] = []

    def tasks(self, count: int):
        for number in range(count):
            self.taken += 1
            yield lambda number=number: self.run(number, count)

    def run(self, number: int, count: int) -> int:
        with self.lock:
            self.started.append(number)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        time.sleep(0.002 * (count - number % 5))
        with self.lock:
            self.running -= 1
        return number


def test_results_come_in_the_order_of_the_tasks_with_at_most_window_running():
    tracker = Tracker()
    assert list(in_order(tracker.tasks(30), window=4)) == list(range(30))
    assert tracker.most_running == 4


def test_tasks_are_taken_only_as_results_are_handed_on():
    tracker = Tracker()
    results = in_order(tracker.tasks(30), window=3)
    assert next(results) == 0
    assert tracker.taken == 4  # three to fill the window, then one for the slot the first result freed
    results.close()


def test_the_first_failure_is_raised_in_order_and_no_task_beyond_the_window_is_taken_after_it():
    tracker = Tracker()

    def tasks():
        yield from tracker.tasks(2)
        yield lambda: 1 / 0
        yield from tracker.tasks(50)

    results = in_order(tasks(), window=2)
    assert [next(results), next(results)] == [0, 1]
    with pytest.raises(ZeroDivisionError):
        next(results)
    # Two results handed on freed two slots: the failing task and one more were taken, nothing after.
    assert tracker.taken == 3
    assert len(tracker.started) <= 3
