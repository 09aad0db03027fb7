#!/usr/bin/env python3
"""Hostile clients against an endpoint binary: prints its memory and open connections.

Starts the endpoint (the greeter example by default, built with
`cargo build --release -p greeter`), then
  1. sends three invocation bodies whose first frame header claims 4 GiB, followed by 400 MiB
     of zeros each, and prints how much of each the endpoint read and its resident memory
     (current and peak) afterwards;
  2. opens 40 connections whose invocation bodies announce a 60 MiB start message, send
     16 MiB of it and stall, and prints the endpoint's resident memory (current and peak)
     while they stall and after they close: the endpoint's budget for request bytes held at
     once (512 MiB by default) bounds it;
  3. opens 3,000 connections that send nothing and 1,000 that send half a request line, and
     prints how many are still open (and the endpoint's file descriptors) after 2 s and after
     the header-read timeout (30 s by default) plus 10 s.

Usage: python3 bench/hostile-clients.py [endpoint binary] [port]
Needs `ulimit -n` above 4,100 and Linux (/proc, ss).
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

BINARY = sys.argv[1] if len(sys.argv) > 1 else "target/release/greeter"
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 19080


def memory(pid):
    status = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return f"RSS {status['VmRSS'].strip()}, peak {status['VmHWM'].strip()}"


def open_connections():
    out = subprocess.run(
        ["ss", "-tnH", "state", "established", f"( sport = :{PORT} )"],
        capture_output=True, text=True, check=True,
    ).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def huge_body():
    sock = socket.create_connection(("127.0.0.1", PORT))
    sock.sendall(
        b"POST /invoke/helloworld.Greeter/SayHello HTTP/1.1\r\nhost: x\r\n"
        b"content-type: application/vnd.restate.invocation.v5\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )
    header = struct.pack(">HHI", 0, 0, 0xFFFFFFFF)
    chunk = b"\0" * (1 << 20)
    sent = 0
    try:
        sock.sendall(b"%x\r\n" % len(header) + header + b"\r\n")
        for _ in range(400):
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sent += 1
    except OSError:
        pass
    sock.close()
    return sent


def stalled_body(sockets):
    """Announces a 60 MiB start message, sends 16 MiB of it, then stalls (the socket stays in
    `sockets` until the caller closes it)."""
    sock = socket.create_connection(("127.0.0.1", PORT))
    sockets.append(sock)
    sock.sendall(
        b"POST /invoke/helloworld.Greeter/SayHello HTTP/1.1\r\nhost: x\r\n"
        b"content-type: application/vnd.restate.invocation.v5\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )
    header = struct.pack(">HHI", 0, 0, 60 << 20)
    chunk = b"\0" * (1 << 20)
    try:
        sock.sendall(b"%x\r\n" % len(header) + header + b"\r\n")
        for _ in range(16):
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    except OSError:
        pass


def main():
    env = dict(os.environ, PORT=str(PORT), RUST_LOG="error")
    endpoint = subprocess.Popen([BINARY], env=env)
    try:
        time.sleep(1)
        print(f"idle: {memory(endpoint.pid)}")
        for n in range(3):
            sent = huge_body()
            print(f"body {n + 1}: {sent} of 400 MiB sent before the endpoint cut it off; "
                  f"{memory(endpoint.pid)}")
        time.sleep(1)
        print(f"after the bodies: {memory(endpoint.pid)}")

        sockets = []
        threads = [threading.Thread(target=stalled_body, args=(sockets,), daemon=True)
                   for _ in range(40)]
        for thread in threads:
            thread.start()
        time.sleep(5)
        print(f"40 bodies of 16 MiB stalled: {memory(endpoint.pid)}")
        for sock in list(sockets):
            sock.close()
        time.sleep(2)
        print(f"after their clients closed: {memory(endpoint.pid)}")

        clients = [socket.create_connection(("127.0.0.1", PORT)) for _ in range(3000)]
        for _ in range(1000):
            client = socket.create_connection(("127.0.0.1", PORT))
            client.sendall(b"GET /hea")
            clients.append(client)
        for wait in (2, 38):
            time.sleep(wait)
            fds = len(os.listdir(f"/proc/{endpoint.pid}/fd"))
            print(f"silent and slow clients: {open_connections()} of 4000 still open, "
                  f"endpoint fds {fds}; {memory(endpoint.pid)}")
    finally:
        endpoint.kill()


if __name__ == "__main__":
    main()
