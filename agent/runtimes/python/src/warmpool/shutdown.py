"""One wake-up for the main thread from SIGTERM, SIGINT or ``POST /shutdown``.

The signal handlers do nothing themselves: ``signal.set_wakeup_fd`` makes the interpreter write the
signal number to a socket the main thread blocks on. So no handler can deadlock on a lock the main
thread holds, and a signal that comes while the handler is still loading waits in the socket until
the main thread is ready for it.
"""

from __future__ import annotations

import signal
import socket

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_REQUESTED = 0  # byte written by request(): no signal has number 0


def _keep_running(signum: int, frame: object) -> None:
    """Replaces the default action (terminate now) so the main thread can drain first."""


class ShutdownSignal:
    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        signal.set_wakeup_fd(self._writer.fileno())
        for signum in _STOP_SIGNALS:
            signal.signal(signum, _keep_running)

    def request(self) -> None:
        try:
            self._writer.send(bytes([_REQUESTED]))
        except BlockingIOError:
            pass  # the socket is full of earlier requests; one is enough

    def wait(self) -> None:
        """Block until a stop signal or request; other signals the handler may catch are skipped."""
        while True:
            byte = self._reader.recv(1)[0]
            if byte == _REQUESTED or byte in _STOP_SIGNALS:
                return
