# Records the frames a group consumer sends to 127.0.0.1:PORT, up to and including JoinGroup.
# Answers, with hand-built bodies: ApiVersions (advertising ApiVersions 0-4, Metadata 0-12,
# FindCoordinator 0-6 and the group APIs), Metadata v9-v12 (this broker as node 1, and TOPIC
# with one partition led by it) and FindCoordinator v1-v6 (this broker is the coordinator).
# Records JoinGroup, closes that connection and stops after it (or after 40 frames).
# Usage: capture_group.py PORT OUTPUT_PREFIX TOPIC (the topic the consumer subscribes to)
import socket, struct, sys, threading
port, prefix, TOPIC = int(sys.argv[1]), sys.argv[2], sys.argv[3]
APIS = [(18, 0, 4), (3, 0, 12), (10, 0, 6), (11, 0, 9), (14, 0, 5), (12, 0, 4), (13, 0, 5),
        (8, 2, 9), (9, 1, 9), (2, 1, 9), (1, 4, 12)]
lock = threading.Lock(); count = [0]; done = threading.Event()
def read_exact(c, n):
    b = b''
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: raise EOFError
        b += x
    return b
def cstr(s): return bytes([len(s) + 1]) + s.encode()
def api_versions_body(version):
    if version >= 3:
        body = struct.pack('>h', 0) + bytes([len(APIS) + 1])
        for k, lo, hi in APIS: body += struct.pack('>hhh', k, lo, hi) + b'\x00'
        return body + struct.pack('>i', 0) + b'\x00'
    body = struct.pack('>hi', 0, len(APIS))
    for k, lo, hi in APIS: body += struct.pack('>hhh', k, lo, hi)
    return body + (struct.pack('>i', 0) if version >= 1 else b'')
def metadata_body(version):  # flexible versions 9-12 only
    broker = struct.pack('>i', 1) + cstr('127.0.0.1') + struct.pack('>i', port) + b'\x00\x00'
    nodes = b'\x02' + struct.pack('>i', 1)
    partition = struct.pack('>hiii', 0, 0, 1, 0) + nodes + nodes + b'\x01\x00'
    topic = (struct.pack('>h', 0) + cstr(TOPIC) + (bytes(16) if version >= 10 else b'') + b'\x00'
             + b'\x02' + partition + struct.pack('>i', -2147483648) + b'\x00')
    body = (struct.pack('>i', 0) + b'\x02' + broker + cstr('capture') + struct.pack('>i', 1)
            + b'\x02' + topic)
    if version <= 10: body += struct.pack('>i', -2147483648)
    return body + b'\x00'
def find_coordinator_body(version, frame):
    host = b'127.0.0.1'
    if version <= 2:
        return (struct.pack('>ihh', 0, 0, -1) + struct.pack('>i', 1)
                + struct.pack('>h', len(host)) + host + struct.pack('>i', port))
    if version == 3:
        return struct.pack('>ihbi', 0, 0, 0, 1) + cstr('127.0.0.1') + struct.pack('>i', port) + b'\x00'
    # v4+: read the one coordinator key after the header (v2: client id, empty tagged fields).
    at = 10 + max(0, struct.unpack('>h', frame[8:10])[0]) + 1 + 1 + 1
    key = frame[at + 1:at + frame[at]].decode()
    entry = struct.pack('>i', 1) + cstr('127.0.0.1') + struct.pack('>ih', port, 0) + b'\x00\x00'
    return struct.pack('>i', 0) + b'\x02' + cstr(key) + entry + b'\x00'
def serve(c):
    try:
        while not done.is_set() and count[0] < 40:
            size = struct.unpack('>i', read_exact(c, 4))[0]
            frame = read_exact(c, size)
            key, ver, corr = struct.unpack('>hhi', frame[:8])
            with lock:
                count[0] += 1
                n = count[0]
            open(f'{prefix}-{n}-key{key}-v{ver}.hex', 'w').write(frame.hex() + '\n')
            print('captured', key, ver, size, flush=True)
            if key == 18:
                body = struct.pack('>i', corr) + api_versions_body(ver)
            elif key == 3 and ver >= 9:
                body = struct.pack('>i', corr) + b'\x00' + metadata_body(ver)
            elif key == 10 and 1 <= ver <= 2:
                body = struct.pack('>i', corr) + find_coordinator_body(ver, frame)
            elif key == 10 and ver >= 3:
                body = struct.pack('>i', corr) + b'\x00' + find_coordinator_body(ver, frame)
            else:
                if key == 11: done.set()
                break
            c.sendall(struct.pack('>i', len(body)) + body)
    except (EOFError, socket.timeout, ConnectionError):
        pass
    c.close()
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port)); srv.listen(8); srv.settimeout(1)
for _ in range(30):
    if done.is_set(): break
    try:
        c, _ = srv.accept(); c.settimeout(10)
        threading.Thread(target=serve, args=(c,), daemon=True).start()
    except socket.timeout:
        pass
