#!/usr/bin/env python3
"""Writes tiny pcap files used as negative controls for tshark_check.sh.

    pcap_fixture.py KIND OUT.pcap [PORT]

KIND: truncated  one NORM DATA packet whose header length exceeds the packet
      nonorm     one UDP packet to PORT whose payload is not NORM
      empty      a capture without packets
All packets are IPv6/UDP from fd6d:6361:7374::a to ff3e::4d43:1 with a valid
UDP checksum, so only the NORM payload is at fault.
"""
import struct
import sys

SRC = bytes.fromhex("fd6d6361737400000000000000000000"[:-2] + "0a")  # fd6d:6361:7374::a
DST = bytes.fromhex("ff3e0000000000000000000000000000"[:-8] + "4d430001")  # ff3e::4d43:1


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def packet(payload, dport):
    ulen = 8 + len(payload)
    pseudo = SRC + DST + struct.pack("!IxxxB", ulen, 17)
    hdr = struct.pack("!HHHH", 40000, dport, ulen, 0)
    c = csum(pseudo + hdr + payload) or 0xFFFF
    udp = struct.pack("!HHHH", 40000, dport, ulen, c) + payload
    ip6 = struct.pack("!IHBB", 0x60000000, len(udp), 17, 64) + SRC + DST
    eth = bytes.fromhex("333300000001" "020000000001" "86dd")
    return eth + ip6 + udp


def write(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, d in enumerate(frames):
            f.write(struct.pack("<IIII", 1000 + i, 0, len(d), len(d)) + d)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    kind, out = sys.argv[1], sys.argv[2]
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 6003
    if kind == "truncated":
        # version 1, type DATA, hlen 6 words (24 bytes) but only 10 bytes sent
        frames = [packet(bytes([0x12, 0x06, 0x00, 0x01]) + b"\0" * 6, port)]
    elif kind == "nonorm":
        frames = [packet(b"hello, this is not NORM", port)]
    elif kind == "empty":
        frames = []
    else:
        sys.exit("unknown KIND %r" % kind)
    write(out, frames)


if __name__ == "__main__":
    main()
