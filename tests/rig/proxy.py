"""A TCP proxy in front of a real server that can turn slow on command: `drip(seconds)` makes it pass the server's
answers on one byte every that many seconds, as a congested link or a failing load balancer in front of vCenter
does. A fault the real part cannot produce on demand; the part behind it is the real one."""
from __future__ import annotations

import socket
import threading
import time


class DrippingProxy:
    def __init__(self, host, port):
        self.target = (host, port)
        self.delay = None
        self.stopped = threading.Event()
        self.open = []  # the sockets of the connections passed through, for cut()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def drip(self, seconds):
        self.delay = seconds

    def cut(self):
        """Drop every connection passed through so far, as a load balancer's idle timeout or a restart does."""
        for s in self.open:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self):
        while not self.stopped.is_set():
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            # an accepted socket takes the process's default timeout, which VSphere's login sets for its seconds: a
            # connection accepted then would be dropped by this proxy once its client sent nothing for that long
            # (while it waits on a dripping answer), racing the client's own deadline
            client.settimeout(None)
            try:
                server = socket.create_connection(self.target, timeout=10)
                server.settimeout(None)
            except OSError:
                client.close()  # the server behind did not take it: the client sees the connection dropped
                continue
            self.open += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, src, dst, answers):
        try:
            while not self.stopped.is_set():
                data = src.recv(65536)
                if not data:
                    break
                if answers and self.delay:
                    for i in range(len(data)):
                        if self.stopped.wait(self.delay):
                            return
                        dst.sendall(data[i:i + 1])
                else:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self.stopped.set()
        self.listener.close()
        time.sleep(0.1)
