# Records the first request frames a real client sends to 127.0.0.1:PORT. Answers ApiVersions
# with a minimal hand-built response (ApiVersions 0-4, Metadata 0-12) so the client goes on to
# send Metadata, then records that and closes. Usage: capture.py PORT OUTPUT_PREFIX
import socket, struct, sys
port, prefix = int(sys.argv[1]), sys.argv[2]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', port)); srv.listen(4); srv.settimeout(20)
def read_exact(c, n):
    b = b''
    while len(b) < n:
        x = c.recv(n - len(b))
        if not x: raise EOFError
        b += x
    return b
def api_versions_body(version):
    apis = [(18, 0, 4), (3, 0, 12)]
    if version >= 3:
        body = struct.pack('>h', 0) + bytes([len(apis) + 1])
        for k, lo, hi in apis: body += struct.pack('>hhh', k, lo, hi) + b'\x00'
        return body + struct.pack('>i', 0) + b'\x00'
    body = struct.pack('>hi', 0, len(apis))
    for k, lo, hi in apis: body += struct.pack('>hhh', k, lo, hi)
    return body + (struct.pack('>i', 0) if version >= 1 else b'')
n = 0
try:
    while n < 4:
        c, _ = srv.accept(); c.settimeout(10)
        try:
            while True:
                size = struct.unpack('>i', read_exact(c, 4))[0]
                frame = read_exact(c, size)
                key, ver, corr = struct.unpack('>hhi', frame[:8])
                n += 1
                open(f'{prefix}-{n}-key{key}-v{ver}.hex', 'w').write(frame.hex() + '\n')
                print('captured', key, ver, size, flush=True)
                if key == 18:
                    body = struct.pack('>i', corr) + api_versions_body(ver)
                    c.sendall(struct.pack('>i', len(body)) + body)
                else:
                    c.close(); break
        except (EOFError, socket.timeout, ConnectionError):
            c.close()
except socket.timeout:
    pass
