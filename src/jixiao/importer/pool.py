"""The importer's worker processes, supervised: one file at a time per worker, so a worker that
dies (killed by the out-of-memory killer, a poison file, a stray SIGKILL) costs exactly the file
it held -- reported as `WorkerDied` -- and is replaced; the other files go on.

`concurrent.futures.ProcessPoolExecutor` cannot do this: one dead worker breaks the whole pool
(`BrokenProcessPool`) and fails every file in flight.  And its workers outlive a main process
killed with SIGKILL, blocked forever on a queue whose other end every sibling still holds open.
Here every worker watches its parent: on Linux the kernel kills it when the parent dies
(PR_SET_PDEATHSIG), elsewhere (and as a backstop) a thread notices that its parent changed."""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

__all__ = ["CheckPool", "WorkerDied"]

PR_SET_PDEATHSIG = 1
PARENT_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class WorkerDied:
    """The worker checking a file ended without a result (its exit code; negative: a signal),
    or was stopped after `timeout` seconds."""

    exitcode: int | None
    timed_out: bool = False

    @property
    def message(self) -> str:
        if self.timed_out:
            return "检查超时，已中止（文件可能异常复杂或为恶意构造）；请在 Excel 或 WPS 中打开后重新另存为 .xlsx 再提交"
        if self.exitcode is not None and self.exitcode < 0:
            try:
                how = f"被信号 {signal.Signals(-self.exitcode).name} 终止"
            except ValueError:
                how = f"被信号 {-self.exitcode} 终止"
        else:
            how = f"异常退出（退出码 {self.exitcode}）"
        return (f"检查此文件的进程{how}（可能内存不足，或文件异常）：未能检查；"
                "其他文件不受影响，请单独用 jixiao check 检查此文件")


def _die_with_parent(parent: int, kernel: bool) -> None:
    if kernel and sys.platform.startswith("linux"):
        try:
            # the process's own symbols, libc's among them (find_library would run `ldconfig -p`
            # in every worker)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    if os.getppid() != parent:  # died before we got here
        os._exit(1)
    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def _worker(conn: Connection, parent: int, kernel: bool, initializer: Callable[[], None] | None,
            func: Callable[..., Any]) -> None:
    _die_with_parent(parent, kernel)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the main process to handle
    if initializer is not None:
        initializer()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        ticket, args = message
        conn.send((ticket, None, None))  # received: a death from now on is this file's
        try:
            reply = (ticket, True, func(*args))
        except Exception as exc:  # noqa: BLE001 - reported for the one file
            reply = (ticket, False, f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except Exception as exc:  # noqa: BLE001 - e.g. a result that does not pickle
            conn.send((ticket, False, f"{type(exc).__name__}: {exc}"))


class _Slot:
    def __init__(self, pool: CheckPool):
        ctx = pool._ctx
        self.conn, child = ctx.Pipe()
        kernel = threading.current_thread() is threading.main_thread()  # PDEATHSIG follows the forking thread
        self.process = ctx.Process(target=_worker, args=(child, os.getpid(), kernel, pool._initializer, pool._func),
                                   daemon=True, name="jixiao-check")
        # frozen while forking, the parent's objects (a preloaded warm-up's) are left alone by
        # the worker's garbage collector, so their pages stay shared; the parent's are thawed
        freeze = pool._preloaded and gc.get_freeze_count() == 0
        if freeze:
            gc.freeze()
        try:
            self.process.start()
        finally:
            if freeze:
                gc.unfreeze()
        child.close()
        self.ticket: int | None = None
        self.args: tuple[Any, ...] = ()
        self.acked = False
        self.started = 0.0

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                self.process.kill()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class CheckPool:
    """`submit(*args)` → a ticket; `wait_any()` → finished (ticket, result) pairs, where a result
    is what `func` returned, or `WorkerDied`.  An exception raised in `func` is re-raised here
    as RuntimeError (the importer's `_check` catches everything itself)."""

    def __init__(self, jobs: int, func: Callable[..., Any], initializer: Callable[[], None] | None = None,
                 timeout: float | None = None, preload: bool = False):
        # fork on Linux (a worker's parent is then this process, which it watches); spawn
        # elsewhere -- never forkserver, whose workers' parent would be the fork server
        fork = sys.platform.startswith("linux")
        self._ctx = multiprocessing.get_context("fork" if fork else "spawn")
        self._preloaded = preload and fork and initializer is not None
        if self._preloaded:
            # `preload`: the initializer runs once, here, and every worker (replacements too)
            # inherits its imports and caches instead of repeating them
            initializer()
            initializer = None
        self._func, self._initializer, self._timeout = func, initializer, timeout
        self._slots = [_Slot(self) for _ in range(max(1, jobs))]
        self._queue: deque[tuple[int, tuple[Any, ...]]] = deque()
        self._retried: set[int] = set()
        self._next = 0

    def __enter__(self) -> CheckPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(kill=exc[0] is not None)

    def close(self, kill: bool = False) -> None:
        for slot in self._slots:
            slot.stop(kill=kill or slot.ticket is not None)
        self._slots = []

    @property
    def pids(self) -> list[int]:
        return [s.process.pid for s in self._slots if s.process.pid is not None]

    def submit(self, *args: Any) -> int:
        self._next += 1
        self._queue.append((self._next, args))
        self._dispatch()
        return self._next

    def _dispatch(self) -> None:
        for i, slot in enumerate(self._slots):
            if slot.ticket is None and self._queue:
                if not slot.process.is_alive():  # died idle: nobody's file, just replace it
                    slot.conn.close()
                    slot = self._slots[i] = _Slot(self)
                ticket, args = self._queue.popleft()
                slot.ticket, slot.args, slot.acked, slot.started = ticket, args, False, time.monotonic()
                try:
                    slot.conn.send((ticket, args))
                except OSError:
                    pass  # it died meanwhile: its sentinel says so in wait_any

    def service(self) -> list[tuple[int, Any]]:
        """Without blocking: what has finished since, and the next queued files handed to the
        workers that are free (called between other work, so that no worker waits for it)."""
        busy = [s for s in self._slots if s.ticket is not None]
        if not busy:
            return []
        ready = wait([s.conn for s in busy] + [s.process.sentinel for s in busy], 0)
        done = list(self._collect(busy, set(ready))) if ready else []
        self._dispatch()
        return done

    def wait_any(self) -> list[tuple[int, Any]]:
        """Block until at least one submitted file is finished (or its worker died)."""
        while True:
            busy = [s for s in self._slots if s.ticket is not None]
            if not busy:
                return []
            timeout = None
            if self._timeout is not None:
                timeout = max(0.0, min(s.started for s in busy) + self._timeout - time.monotonic())
            ready = wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout)
            done = list(self._collect(busy, set(ready)))
            self._dispatch()
            if done:
                return done

    def _collect(self, busy: list[_Slot], ready: set[Any]) -> Iterator[tuple[int, Any]]:
        now = time.monotonic()
        for i, slot in enumerate(self._slots):
            if slot not in busy:
                continue
            if slot.conn in ready or slot.process.sentinel in ready:
                reply = None
                try:
                    while slot.conn.poll():
                        ticket, ok, value = slot.conn.recv()
                        if ok is None:
                            slot.acked = True
                        else:
                            reply = (ticket, ok, value)
                            break
                except (EOFError, OSError):
                    reply = None
                if reply is not None:
                    ticket, ok, value = reply
                    slot.ticket, slot.args = None, ()
                    yield ticket, value if ok else RuntimeError(value)
                    continue
                if slot.process.is_alive() and slot.process.sentinel not in ready:
                    continue
                slot.process.join(1)
                if not slot.acked and slot.ticket not in self._retried:
                    # it died before it had the file (killed while idle): the file is not to blame
                    self._retried.add(slot.ticket)
                    self._queue.appendleft((slot.ticket, slot.args))
                else:
                    yield slot.ticket, WorkerDied(slot.process.exitcode)
            elif self._timeout is not None and now - slot.started >= self._timeout:
                yield slot.ticket, WorkerDied(None, timed_out=True)
                slot.stop(kill=True)
            else:
                continue
            slot.conn.close()
            self._slots[i] = _Slot(self)  # a fresh worker in its place
