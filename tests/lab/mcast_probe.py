#!/usr/bin/env python3
"""Tiny IPv6 multicast probe for the lab self-test (run inside a namespace).

    mcast_probe.py send GROUP PORT IFACE COUNT [SIZE]
    mcast_probe.py recv GROUP PORT IFACE SECONDS   (prints packets received)
"""
import socket
import struct
import sys
import time


def main():
    mode, group, port, iface = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    ifindex = socket.if_nametoindex(iface)
    if mode == "send":
        count = int(sys.argv[5])
        size = int(sys.argv[6]) if len(sys.argv) > 6 else 100
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 8)
        payload = b"x" * size
        for _ in range(count):
            s.sendto(payload, (group, port, 0, ifindex))
        print(count)
    elif mode == "recv":
        secs = float(sys.argv[5])
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("::", port))
        mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", ifindex)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        s.settimeout(0.2)
        n = 0
        end = time.monotonic() + secs
        while time.monotonic() < end:
            try:
                s.recv(65536)
                n += 1
            except socket.timeout:
                pass
        print(n)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
