"""A free loopback port for the servers a test starts (gunicorn, SMTP), chosen by the OS so
that parallel runs on one machine never collide."""

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
