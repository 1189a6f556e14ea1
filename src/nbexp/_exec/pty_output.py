"""The runner's pseudo-terminal mode: the command runs on a new pty (for programs that print
colours and live bars only to a terminal) and its output is copied into the log file.

Only then is Python in the data path; the default plain file mode needs none of this.
"""

from __future__ import annotations

import os
import select
import signal
import time

from .._core.launch import DEFAULT_TTY_SIZE
from .._io.spawn import find_executable

TYPE_CHECKING = False  # the runner imports this module: no typing at run time
if TYPE_CHECKING:
    from collections.abc import Iterable


def spawn_on_pty(
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    tty: object,
    default_signals: Iterable[int],
) -> tuple[int, int]:
    """Start the command on a new pseudo-terminal; (pid, the pty's master fd, non-blocking).
    Raises OSError when it cannot be executed."""
    import fcntl
    import struct
    import termios

    columns, rows = DEFAULT_TTY_SIZE
    if isinstance(tty, dict):
        columns, rows = int(tty.get("columns", columns)), int(tty.get("rows", rows))
    env = dict(env, COLUMNS=str(columns), LINES=str(rows))
    env.setdefault("TERM", "xterm-256color")
    executable = find_executable(argv[0], env.get("PATH"))
    os.chdir(cwd)
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    error_r, error_w = os.pipe()  # carries an exec failure back from the child
    pid = os.fork()
    if pid == 0:  # the child: new session, the pty as controlling terminal, then exec
        try:
            os.close(master)
            os.close(error_r)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(slave, 1)
            os.dup2(slave, 2)
            for sig in default_signals:
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            os.execve(executable, argv, env)
        except OSError as e:
            os.write(error_w, f"{e.errno}".encode())
        finally:
            os._exit(127)
    os.close(slave)
    os.close(error_w)
    failure = os.read(error_r, 64)
    os.close(error_r)
    if failure:
        os.close(master)
        os.waitpid(pid, 0)
        raise OSError(int(failure), os.strerror(int(failure)), argv[0])
    os.set_blocking(master, False)
    return pid, master


class PtyCopier:
    """Copies a pty's output into the log file; remembers a write that failed (disk full)."""

    def __init__(self, master: int, log_fd: int) -> None:
        self.master: int | None = master
        self.log_fd: int | None = log_fd
        self.problem: str | None = None  # why output could not be written, in words

    def copy(self) -> bool:
        """Copy what the pty has into the log; False once it is closed (all writers gone)."""
        if self.master is None:
            return False
        while True:
            try:
                data = os.read(self.master, 65536)
            except BlockingIOError:
                return True
            except OSError:  # EIO: every process holding the terminal has exited
                data = b""
            if not data:
                os.close(self.master)
                self.master = None
                return False
            self._write(data)

    def _write(self, data: bytes) -> None:
        if self.log_fd is None:
            return
        try:
            os.write(self.log_fd, data)
        except OSError as e:  # keep draining the pty (the command must not block on it)
            if self.problem is None:
                self.problem = f"its output could not all be written to the log ({e.strerror})"

    def drain(self) -> None:
        """After the tree has ended: copy the pty's last bytes, then close it and the log."""
        deadline = time.monotonic() + 2
        while self.master is not None and time.monotonic() < deadline:
            select.select([self.master], [], [], 0.05)
            self.copy()
        if self.master is not None:
            os.close(self.master)
            self.master = None
        if self.log_fd is not None:
            os.close(self.log_fd)
            self.log_fd = None
