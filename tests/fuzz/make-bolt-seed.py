#!/usr/bin/env python3
"""Writes the seed of the bbolt fuzz target (tests/fuzz/corpus/bbolt/seed):
a 10-page database of 512-byte pages written from the format's description
(core/format/gp-bbolt.c): two meta pages, a freelist, a root leaf holding
bucket v1 whose root is a branch over two leaves; one leaf holds an inline
bucket with an inline bucket inside, the other a value that spills onto an
overflow page.  Run from the top directory: python3 tests/fuzz/make-bolt-seed.py
"""
import struct

PS = 512


def fnv1a64(b):
    h = 14695981039346656037
    for c in b:
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def header(pgid, flags, count, overflow=0):
    return struct.pack('<QHHI', pgid, flags, count, overflow)


def leaf(pgid, items, overflow=0):
    """items: (key, value, is_bucket)"""
    n = len(items)
    elems, data = b'', b''
    off = 16 + 16 * n
    for i, (k, v, b) in enumerate(items):
        pos = off + len(data) - (16 + 16 * i)
        elems += struct.pack('<IIII', 1 if b else 0, pos, len(k), len(v))
        data += k + v
    return header(pgid, 0x02, n, overflow) + elems + data


def branch(pgid, items):
    n = len(items)
    elems, data = b'', b''
    off = 16 + 16 * n
    for i, (k, child) in enumerate(items):
        pos = off + len(data) - (16 + 16 * i)
        elems += struct.pack('<IIQ', pos, len(k), child)
        data += k
    return header(pgid, 0x01, n) + elems + data


def meta(pgid, txid):
    m = struct.pack('<IIIIQQQQQ', 0xED0CDAED, 2, PS, 0, 3, 0, 2, 10, txid)
    return header(pgid, 0x04, 0) + m + struct.pack('<Q', fnv1a64(m))


def inline_bucket(items):
    return struct.pack('<QQ', 0, 0) + leaf(0, items)


pages = {
    0: meta(0, 2),
    1: meta(1, 1),
    2: header(2, 0x10, 0),
    3: leaf(3, [(b'v1', struct.pack('<QQ', 4, 0), True)]),
    4: branch(4, [(b'a', 5), (b'm', 6)]),
    5: leaf(5, [(b'a', b'x', False),
                (b'default', inline_bucket([(b'images', inline_bucket([]), True),
                                            (b'k', b'v', False)]), True)]),
    6: leaf(6, [(b'm', b'y' * 600, False)], overflow=1),
    8: leaf(8, []),
    9: leaf(9, []),
}
out = bytearray(10 * PS)
for n, p in pages.items():
    out[n * PS:n * PS + len(p)] = p
with open('tests/fuzz/corpus/bbolt/seed', 'wb') as f:
    f.write(out)
