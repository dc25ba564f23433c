"""Runs a module (the probe) in a process where one host name is a public address that is
really this machine: `python -m tests.ytdlp.behind_pretend_dns NAME -m MODULE`.

So a test can reach the local video site through a name the private-address guard lets
pass, and see the guard refuse what comes next (a redirect to loopback). The pretend
resolver sits under the guard, which wraps whatever `socket.getaddrinfo` it finds."""

from __future__ import annotations

import runpy
import socket
import sys
from typing import Any

PRETEND_ADDRESS = "93.184.215.14"  # public; never connected to: carried to 127.0.0.1


def install(name: str) -> None:
    lookup = socket.getaddrinfo
    connect = socket.socket.connect

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host == name:
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                     (PRETEND_ADDRESS, int(port)))]
        return lookup(host, port, *args, **kwargs)

    def dial(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[0] == PRETEND_ADDRESS:
            address = ("127.0.0.1", address[1])
        connect(self, address)

    socket.getaddrinfo = resolve
    socket.socket.connect = dial  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    _, name, flag, module = sys.argv[:4]
    assert flag == "-m", sys.argv
    install(name)
    sys.argv = [module, *sys.argv[4:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
