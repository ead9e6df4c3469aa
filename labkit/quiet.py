"""Keep TensorFlow's C++ log lines out of a learner's notebook, at the source.

TensorFlow 2.21 logs through absl straight to file descriptor 2: ``TF_CPP_MIN_LOG_LEVEL`` no
longer silences the absl banner, the oneDNN notice or ``E0000 ... node_def_util`` lines, and
Jupyter shows whatever reaches fd 2 as a pink stderr box. ``filter_native_stderr()`` puts a pipe
in front of fd 2 and drops only those lines; everything else (Python tracebacks, warnings a
lesson is about, a learner's own prints) passes through unchanged.

``labkit/__init__.py`` calls :func:`install` before anything imports TensorFlow; it acts only
inside a Jupyter kernel (or with ``LABKIT_QUIET_STDERR=1``), so scripts and pytest keep their
own stderr handling.
"""

from __future__ import annotations

import os
import re
import sys
import threading

QUIET_ENV = "LABKIT_QUIET_STDERR"

# absl/glog line: "E0000 00:00:1796127980.789019    3166 node_def_util.cc:182] ..."
_LOG_LINE = re.compile(rb"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.\-/]+:\d+\] ")
_NOISE = (
    re.compile(rb"^WARNING: All log messages before absl::InitializeLog\(\) is called"),
    re.compile(rb"^To enable the following instructions: .*rebuild TensorFlow"),
)

_installed = False
_lock = threading.Lock()


class LogLineFilter:
    """Splits a byte stream into lines and drops TensorFlow's C++ log records.

    A record's continuation lines (indented, e.g. ``\\t [[{{function_node ...}}]]``) are dropped
    with it. Incomplete lines wait in a buffer until their newline (or :meth:`flush`).
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._in_record = False
        self.dropped = 0

    def _keep(self, line: bytes) -> bool:
        if _LOG_LINE.match(line) or any(p.match(line) for p in _NOISE):
            self._in_record = True
            return False
        if self._in_record and line[:1] in (b"\t", b" ") and line.strip():
            return False
        self._in_record = False
        return True

    def feed(self, data: bytes) -> bytes:
        """The complete lines of ``buffer + data`` that are not TF log records."""
        self._buffer += data
        *lines, self._buffer = self._buffer.split(b"\n")
        kept = []
        for line in lines:
            if self._keep(line):
                kept.append(line + b"\n")
            else:
                self.dropped += 1
        return b"".join(kept)

    def flush(self) -> bytes:
        """Whatever is left in the buffer (a last line without a newline), filtered."""
        rest, self._buffer = self._buffer, b""
        return rest if rest and self._keep(rest) else b""


def filter_native_stderr() -> bool:
    """Route fd 2 through :class:`LogLineFilter` (once per process). True if it is in place."""
    global _installed
    with _lock:
        if _installed:
            return True
        try:
            read_end, write_end = os.pipe()
            downstream = os.dup(2)
            os.dup2(write_end, 2)
            os.close(write_end)
        except OSError:  # pragma: no cover - no fd 2 (some embedded interpreters)
            return False

        def pump() -> None:
            line_filter = LogLineFilter()
            while True:
                try:
                    data = os.read(read_end, 65536)
                except OSError:  # pragma: no cover
                    break
                if not data:
                    break
                out = line_filter.feed(data)
                if not out and b"\n" not in data and len(line_filter._buffer) > 65536:
                    out = line_filter.flush()  # a very long line without newline: let it go
                if out:
                    os.write(downstream, out)
            tail = line_filter.flush()
            if tail:
                os.write(downstream, tail)

        threading.Thread(target=pump, name="labkit-stderr-filter", daemon=True).start()
        _installed = True
        return True


def in_kernel() -> bool:
    """True inside a Jupyter (ipykernel) kernel."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def install() -> bool:
    """Filter fd 2 in a Jupyter kernel, or anywhere when ``$LABKIT_QUIET_STDERR`` is 1."""
    wanted = os.environ.get(QUIET_ENV)
    if wanted == "0":
        return False
    if wanted == "1" or in_kernel():
        return filter_native_stderr()
    return False
