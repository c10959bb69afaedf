#!/usr/bin/env python3
"""Captures NORM_DATA datagrams for wire_capture.sh and prints one line per
FEC symbol: `obj <object_id> blk <block> sym <symbol_id> len <n> <payload hex>`
(plus `fti <segment_size> <max_block_len> <num_parity> <object_size>` lines
the first time each object's FTI extension is seen).

Usage: wire_capture.py <iface> <group> <port> <idle-seconds>
"""
import socket
import struct
import sys

iface, group, port, idle = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", port))
idx = socket.if_nametoindex(iface)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", idx))
print("ready", flush=True, file=sys.stderr)
s.settimeout(30)  # first packet
seen = set()
fti_seen = set()
while True:
    try:
        pkt, _ = s.recvfrom(65536)
    except socket.timeout:
        break
    s.settimeout(idle)
    if len(pkt) < 24 or (pkt[0] & 0x0F) != 2:  # NORM_DATA only
        continue
    hdr_len = pkt[1] * 4
    fec_id = pkt[13]
    obj = struct.unpack("!H", pkt[14:16])[0]
    if fec_id != 5:
        continue
    (pid,) = struct.unpack("!I", pkt[16:20])
    blk, sym = pid >> 8, pid & 0xFF
    # Header extensions: look for EXT_FTI (type 64) to report the FTI.
    off = 20
    while off < hdr_len:
        het = pkt[off]
        hel = 4 if het >= 128 else pkt[off + 1] * 4
        if het == 64 and obj not in fti_seen:
            # FEC ID 5 FTI: 48-bit object size, 16-bit segment size,
            # 8-bit max block length, 8-bit num parity (after type/len).
            size = int.from_bytes(pkt[off + 2:off + 8], "big")
            seg, mbl, npar = struct.unpack("!HBB", pkt[off + 8:off + 12])
            print(f"fti {obj} {seg} {mbl} {npar} {size}")
            fti_seen.add(obj)
        off += max(hel, 4)
    payload = pkt[hdr_len:]
    key = (obj, blk, sym)
    if key in seen:
        continue
    seen.add(key)
    print(f"obj {obj} blk {blk} sym {sym} len {len(payload)} {payload.hex()}", flush=True)
