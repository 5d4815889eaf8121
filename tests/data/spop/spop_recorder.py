#!/usr/bin/env python3
"""Minimal SPOP agent that records every frame HAProxy sends (to capture golden test data).

Listens on 127.0.0.1:PORT, saves each received frame whole (4-byte length prefix included) as
OUTDIR/c<conn>-f<n>-t<type>.bin, answers HAPROXY-HELLO with a valid AGENT-HELLO, ACKs every
NOTIFY with one set-var, answers HAPROXY-DISCONNECT and closes. Stops after --seconds.
Independent of the C++ codec on purpose: it is the second opinion the golden files rely on.
"""
import argparse
import os
import socket
import struct
import threading
import time


def enc_varint(v):
    if v < 240:
        return bytes([v])
    out = bytearray([(v & 0xFF) | 0xF0])
    v = (v - 240) >> 4
    while v >= 128:
        out.append((v & 0xFF) | 0x80)
        v = (v - 128) >> 7
    out.append(v)
    return bytes(out)


def dec_varint(buf, pos):
    v = buf[pos]
    pos += 1
    if v >= 240:
        shift = 4
        while True:
            b = buf[pos]
            pos += 1
            v += b << shift
            shift += 7
            if b < 128:
                break
    return v, pos


def enc_str(s):
    return enc_varint(len(s)) + s


def frame(ftype, sid, fid, payload):
    body = bytes([ftype]) + struct.pack(">I", 1) + enc_varint(sid) + enc_varint(fid) + payload
    return struct.pack(">I", len(body)) + body


def hello_max_frame_size(payload):
    """Finds max-frame-size in a HAPROXY-HELLO KV-list (it is a UINT32 varint)."""
    pos = 0
    while pos < len(payload):
        n, pos = dec_varint(payload, pos)
        name = payload[pos:pos + n]
        pos += n
        t = payload[pos] & 0x0F
        pos += 1
        if t in (2, 3, 4, 5):
            v, pos = dec_varint(payload, pos)
            if name == b"max-frame-size":
                return v
        elif t in (8, 9):
            n, pos = dec_varint(payload, pos)
            pos += n
        elif t == 6:
            pos += 4
        elif t == 7:
            pos += 16
    return 16384


def serve(conn, idx, outdir):
    buf = b""
    nframe = 0
    conn.settimeout(10)
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while len(buf) >= 4:
                (length,) = struct.unpack(">I", buf[:4])
                if len(buf) < 4 + length:
                    break
                raw, buf = buf[:4 + length], buf[4 + length:]
                ftype = raw[4]
                with open(os.path.join(outdir, "c%d-f%d-t%d.bin" % (idx, nframe, ftype)), "wb") as f:
                    f.write(raw)
                nframe += 1
                pos = 9
                sid, pos = dec_varint(raw, pos)
                fid, pos = dec_varint(raw, pos)
                payload = raw[pos:]
                if ftype == 1:
                    mfs = min(16384, hello_max_frame_size(payload))
                    kv = (enc_str(b"version") + b"\x08" + enc_str(b"2.0") +
                          enc_str(b"max-frame-size") + b"\x03" + enc_varint(mfs) +
                          enc_str(b"capabilities") + b"\x08" + enc_str(b"pipelining"))
                    conn.sendall(frame(101, 0, 0, kv))
                elif ftype == 3:
                    act = b"\x01\x03\x01" + enc_str(b"backend") + b"\x08" + enc_str(b"be_null")
                    conn.sendall(frame(103, sid, fid, act))
                elif ftype == 2:
                    kv = (enc_str(b"status-code") + b"\x03" + enc_varint(0) +
                          enc_str(b"message") + b"\x08" + enc_str(b"bye"))
                    conn.sendall(frame(102, 0, 0, kv))
                    return
    except OSError:
        return
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", a.port))
    srv.listen(16)
    srv.settimeout(0.2)
    deadline = time.time() + a.seconds
    idx = 0
    while time.time() < deadline:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, idx, a.outdir), daemon=True).start()
        idx += 1
    srv.close()


if __name__ == "__main__":
    main()
