"""Overlap database work with hashing and file I/O on a second thread.

Database drivers, hashlib and file writes all release the GIL, so a chunk can be fetched (or
stored) while the previous one is hashed and written (or the next one read and hashed). The queue
between the two threads is bounded: memory stays a few chunks whatever the file size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator
from typing import Generic, TypeVar

T = TypeVar("T")
_POLL = 0.1  # seconds between checks that the other side is still there
THREAD_PREFIX = "mlflow-artifacts-sql-"


class Stopped(Exception):
    """Raised inside a worker's `put`/`get` when the other side gave up."""


class _End:
    pass


END = _End()


class Channel(Generic[T]):
    """A bounded queue between one producer and one consumer, either of which may stop early."""

    def __init__(self, depth: int) -> None:
        self._q: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self.closed = threading.Event()  # the consumer gave up, or the producer failed

    def put(self, item: T | _End) -> None:
        while True:
            if self.closed.is_set():
                raise Stopped
            try:
                self._q.put(item, timeout=_POLL)
                return
            except queue.Full:
                continue

    def get(self, timeout: float | None = None) -> T | _End:
        """The next item; `queue.Empty` after `timeout` seconds (None: wait for ever)."""
        waited = 0.0
        while True:
            if self.closed.is_set() and self._q.empty():
                raise Stopped
            step = _POLL if timeout is None else min(_POLL, max(timeout - waited, 0.0))
            try:
                return self._q.get(timeout=step) if step > 0 else self._q.get_nowait()
            except queue.Empty:
                waited += step
                if timeout is not None and waited >= timeout:
                    raise

    def close(self) -> None:
        """Stop both sides and drop what is queued (frees its memory)."""
        self.closed.set()
        while True:
            try:
                self._q.get_nowait()
            except queue.Empty:
                return


def prefetch(produce: Callable[[Callable[[T], None]], None], depth: int, name: str) -> Generator[T, None, None]:
    """Items that `produce(put)` makes on a second thread, in order; its errors are raised here.

    Leaving the loop early (an error while consuming, `break`) stops the producer and waits for
    its thread to end: no thread outlives the iteration.
    """
    channel: Channel[T] = Channel(depth)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            produce(channel.put)
            channel.put(END)
        except Stopped:
            pass
        except BaseException as e:  # handed to the consumer
            failure.append(e)
            channel.closed.set()

    thread = threading.Thread(target=run, name=THREAD_PREFIX + name, daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = channel.get()
            except Stopped:
                break
            if isinstance(item, _End):
                break
            yield item
    finally:
        channel.close()
        thread.join()
    if failure:
        raise failure[0]
