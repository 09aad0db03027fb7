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
     the header-read timeout (30 s by default) plus 10 s;
  4. then the gRPC gateway (greeter-gateway next to the endpoint binary): 3 HTTP/2
     connections of 200 streams each (the gateway's cap per connection), every stream a unary
     call whose 4 MiB message stops one byte short, and prints the gateway's resident memory
     while they stall, once the stall timeout (30 s) has ended them, and after the clients
     closed; the gateway's budget for message bytes held at once (512 MiB) bounds it.

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


GATEWAY_PORT = PORT + 1


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name, value):
    """An HPACK header field without indexing, no Huffman (names and values under 127 bytes)."""
    return bytes([0, len(name)]) + name + bytes([len(value)]) + value


class StalledGrpcConnection:
    """One HTTP/2 connection of `streams` unary gRPC calls to the greeter, each sending a message
    that announces 4 MiB and stops one byte short, as far as flow control lets it."""

    def __init__(self, streams):
        self.sock = socket.create_connection(("127.0.0.1", GATEWAY_PORT))
        self.lock = threading.Lock()
        self.window = 65535
        self.stream_windows = {}
        self.initial = 65535
        self.pending = {}
        self.sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0))
        threading.Thread(target=self.read, daemon=True).start()
        headers = b"".join(literal(n, v) for n, v in [
            (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/helloworld.Greeter/SayHello"),
            (b":authority", b"x"), (b"content-type", b"application/grpc"), (b"te", b"trailers")])
        for n in range(streams):
            stream = 2 * n + 1
            message = struct.pack(">BI", 0, 4 << 20) + b"\0" * ((4 << 20) - 1)
            with self.lock:
                self.stream_windows[stream] = self.initial
                self.pending[stream] = message
                self.sock.sendall(frame(1, 4, stream, headers))  # END_HEADERS
        self.send()

    def read(self):
        buffer = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                buffer += data
                while len(buffer) >= 9:
                    length = int.from_bytes(buffer[:3], "big")
                    if len(buffer) < 9 + length:
                        break
                    kind, flags = buffer[3], buffer[4]
                    stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
                    payload, buffer = buffer[9:9 + length], buffer[9 + length:]
                    with self.lock:
                        if kind == 4 and not flags & 1:  # SETTINGS: apply, acknowledge
                            for i in range(0, len(payload), 6):
                                key, value = struct.unpack(">HI", payload[i:i + 6])
                                if key == 4:
                                    for s in self.stream_windows:
                                        self.stream_windows[s] += value - self.initial
                                    self.initial = value
                            self.sock.sendall(frame(4, 1, 0))
                        elif kind == 6 and not flags & 1:  # PING
                            self.sock.sendall(frame(6, 1, 0, payload))
                        elif kind == 8:  # WINDOW_UPDATE
                            increment = struct.unpack(">I", payload)[0] & 0x7FFFFFFF
                            if stream == 0:
                                self.window += increment
                            elif stream in self.stream_windows:
                                self.stream_windows[stream] += increment
                        elif kind == 3 and stream in self.pending:  # RST_STREAM
                            del self.pending[stream]
                    if kind == 8:
                        self.send()
        except OSError:
            return

    def send(self):
        """Sends what the windows allow of the pending messages (never their END_STREAM)."""
        with self.lock:
            try:
                for stream, message in list(self.pending.items()):
                    allowed = min(self.window, self.stream_windows[stream], len(message), 16384)
                    while allowed > 0:
                        self.sock.sendall(frame(0, 0, stream, message[:allowed]))
                        message = message[allowed:]
                        self.window -= allowed
                        self.stream_windows[stream] -= allowed
                        allowed = min(self.window, self.stream_windows[stream], len(message), 16384)
                    self.pending[stream] = message
            except OSError:
                pass

    def close(self):
        self.sock.close()


def gateway_figures():
    gateway_binary = os.path.join(os.path.dirname(BINARY), "greeter-gateway")
    env = dict(os.environ, GRPC_PORT=str(GATEWAY_PORT), RUST_LOG="error",
               RESTATE_INGRESS="http://127.0.0.1:9")
    gateway = subprocess.Popen([gateway_binary], env=env)
    try:
        time.sleep(1)
        print(f"gateway idle: {memory(gateway.pid)}")
        connections = [StalledGrpcConnection(200) for _ in range(3)]
        time.sleep(10)
        print(f"gateway, 3 connections of 200 stalled 4 MiB messages: {memory(gateway.pid)}")
        time.sleep(30)
        print(f"gateway, after the stall timeout: {memory(gateway.pid)}")
        for connection in connections:
            connection.close()
        time.sleep(2)
        print(f"gateway, after their clients closed: {memory(gateway.pid)}")
    finally:
        gateway.kill()


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
    gateway_figures()


if __name__ == "__main__":
    main()
