"""Who holds a TCP port: bind probes and a /proc lookup of the listening process."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from pathlib import Path

_LISTEN = "0A"


@dataclass(frozen=True)
class PortHolder:
    """A process listening on a port, as far as this user can see it."""

    pid: int
    command: str

    def __str__(self) -> str:
        return f"{self.command} (pid {self.pid})"


def port_is_free(port: int, address: str = "127.0.0.1") -> bool:
    """True when a listener could bind `address:port` right now."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As a server would: connections in TIME_WAIT do not hold a port, listeners do.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def find_listener(port: int, proc: Path = Path("/proc")) -> PortHolder | None:
    """The process listening on TCP `port`, or None when it cannot be seen (another user's)."""
    inodes = _listening_inodes(port, proc)
    if not inodes:
        return None
    for pid_dir in proc.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                target = fd.readlink().as_posix()
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return PortHolder(int(pid_dir.name), _command_of(pid_dir))
        except OSError:
            continue  # the process ended, or belongs to someone else
    return None


def _listening_inodes(port: int, proc: Path) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def _command_of(pid_dir: Path) -> str:
    try:
        cmdline = (pid_dir / "cmdline").read_bytes().replace(b"\0", b" ").strip()
        return cmdline.decode(errors="replace") or (pid_dir / "comm").read_text().strip()
    except OSError:
        return "?"
