#!/usr/bin/env python3
# A minimal LSP client for Scripts/bench-async --sourcekit-lsp: starts
# sourcekit-lsp, initializes it, writes its pid to READY, waits for GO (the
# profiler attached), sends ROUNDS rounds of requests on SOURCE, writes DONE,
# waits for END (the profiler detached) and shuts the server down.
import json, os, subprocess, sys, time
# usage: lsp-client.py SOURCE READY_FILE GO_FILE DONE_FILE END_FILE ROUNDS
src, ready, go, done, end, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
p = subprocess.Popen(["/opt/swift/usr/bin/sourcekit-lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
seq = 0
def send(method, params, notify=False):
    global seq
    msg = {"jsonrpc": "2.0", "method": method, "params": params}
    if not notify:
        seq += 1
        msg["id"] = seq
    body = json.dumps(msg).encode()
    p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    p.stdin.flush()
    if notify:
        return None
    while True:
        length = 0
        while True:
            line = p.stdout.readline()
            if not line:
                raise SystemExit("sourcekit-lsp closed its output")
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        reply = json.loads(p.stdout.read(length))
        if reply.get("id") == seq and "method" not in reply:
            return reply
def wait_for(path):
    deadline = time.time() + 600
    while not os.path.exists(path):
        if time.time() > deadline:
            raise SystemExit("timed out waiting for " + path)
        time.sleep(0.05)
uri = "file://" + src
text = open(src).read()
send("initialize", {"processId": os.getpid(), "rootUri": "file://" + os.path.dirname(src), "capabilities": {}})
send("initialized", {}, notify=True)
print("pid", p.pid, flush=True)
open(ready, "w").write(str(p.pid))
wait_for(go)
send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "swift", "version": 1, "text": text}}, notify=True)
lines = text.split("\n")
n = 0
for r in range(rounds):
    for i, l in enumerate(lines):
        col = l.find("record")
        if col < 0:
            continue
        send("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": i, "character": col + 1}})
        send("textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": i, "character": col + 3}})
        n += 2
    send("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    send("textDocument/semanticTokens/full", {"textDocument": {"uri": uri}})
    n += 2
print("requests", n, flush=True)
open(done, "w").write(str(n))
wait_for(end)
send("shutdown", None)
send("exit", None, notify=True)
p.wait(timeout=60)
