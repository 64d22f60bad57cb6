"""Sockets on this machine: listening sockets, free ports, the address a client dials.

No dependencies beyond the standard library (the scoring server uses it in service
environments too).
"""

from __future__ import annotations

import socket


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


BACKLOG = 2048


def listen_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A listening, inheritable TCP socket (IPv6 when the host has a colon); raises OSError.
    With `reuse_port` it is bound with SO_REUSEPORT but not yet listening: the caller calls
    `listen(BACKLOG)` when it can serve, so the kernel routes nothing to it before."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    if not reuse_port:
        sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def is_listening(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))


def receive_socket(path: str, timeout: float = 30.0) -> socket.socket:
    """The listening socket a local process hands over the unix socket at `path` (SCM_RIGHTS);
    raises OSError."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        _, fds, _, _ = socket.recv_fds(conn, 16, 1)
    if not fds:
        raise OSError(f"no socket arrived over {path}")
    return socket.socket(fileno=fds[0])


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (the kernel's pick)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_problem(host: str, port: int) -> str | None:
    """Why `host:port` cannot be bound now, or None when it can."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return f"port {port} on {host} is in use ({exc.strerror})"
    return None


def client_host(host: str | None) -> str:
    """The address a client on this machine dials for a server bound to `host` (URL form)."""
    if not host or host == "0.0.0.0":
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
