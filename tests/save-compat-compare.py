#!/usr/bin/env python3
# save-compat-compare.py OURS T0 T1 THEIRS: the `docker save` archive OURS
# equals THEIRS but for the mtime fields of the entries of layer
# directories whose layer.tar is a symlink (and the header checksums):
# Docker 20.10 writes its save time there.  OURS's mtimes there must lie
# in [T0, T1] (the seconds around our save).  Used by test-save-compat.sh
# (against Docker 20.10) and save-legacy.sh (two saves of ours).
import json, sys

def entries(data):
    off = 0
    while off + 512 <= len(data):
        h = data[off:off + 512]
        if h == b'\0' * 512:
            return
        size = int(bytes(h[124:136]).strip(b'\0 ') or b'0', 8)
        yield off, bytes(h[0:100]).rstrip(b'\0').decode('utf-8', 'replace'), h[156:157], size
        off += 512 + (size + 511) // 512 * 512

def normalize(path):
    data = bytearray(open(path, 'rb').read())
    heads = list(entries(data))
    linked = {n.split('/')[0] for o, n, t, s in heads if t == b'2' and n.endswith('/layer.tar')}
    times, manifest = set(), None
    for o, n, t, s in heads:
        if n == 'manifest.json':
            manifest = json.loads(bytes(data[o + 512:o + 512 + s]))
        if n.split('/')[0] in linked:
            times.add(int(bytes(data[o + 136:o + 147]), 8))
            data[o + 136:o + 148] = b'00000000000\0'
            data[o + 148:o + 156] = b'        '
            data[o + 148:o + 156] = b'%06o\0 ' % sum(data[o:o + 512])
    order = [m['Config'] for m in manifest or []]
    return bytes(data), order, len(linked), times

ours, order, nlinked, times = normalize(sys.argv[1])
t0, t1 = int(sys.argv[2]), int(sys.argv[3])
path = sys.argv[4]
data, theirs, _, _ = normalize(path)
print('# %d image(s), %d layer directories with a symlink' % (len(order), nlinked))
if order != theirs:
    print('# order of images: ours %s, Docker %s' % (order, theirs))
    sys.exit(1)
if data != ours:
    n = min(len(data), len(ours))
    first = next((i for i in range(n) if data[i] != ours[i]), n)
    print('# differs from %s at byte %d (of %d, ours %d)' % (path, first, len(data), len(ours)))
    sys.exit(1)
bad = [t for t in times if not t0 <= t <= t1]
if bad:
    print('# mtimes of symlinked layer directories %s not within our save [%d, %d]' % (bad, t0, t1))
    sys.exit(1)
