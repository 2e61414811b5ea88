"""The tracemalloc guides' leak: a module-level dict keeps bytes(1024) per
request, keyed by request id. Driven over stdin ("work N" answers "done N",
"native N" leaks N strdup'ed 3000-byte strings through ctypes and answers
"done native N", "thread N" serves N requests on a new thread and answers
"done thread N", "quit" exits 0) after printing "ready" once warmed up. The
warm-up's 100 requests leave the dict's table big enough to come from malloc,
so later requests change the block count by exactly one each.

`py_cache.py --tracemalloc N` answers the question itself, as the guides do:
warm-up, snapshot, N requests, snapshot, compare_to("lineno"); it prints the
top entry as "FILE:LINE COUNT_DIFF".
"""
import ctypes
import sys
import threading

WARM_UP = 100
_CACHE = {}
_NATIVE = []
_LIBC = ctypes.CDLL(None)
_LIBC.strdup.restype = ctypes.c_void_p
_LIBC.strdup.argtypes = [ctypes.c_char_p]
_TEXT = b"n" * 3000


def handle_request(request_id):
    _CACHE[request_id] = bytes(1024)
    return _CACHE[request_id]


def native_request():
    _NATIVE.append(_LIBC.strdup(_TEXT))


def serve(count):
    start = len(_CACHE)
    for request_id in range(start, start + count):
        handle_request(request_id)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--tracemalloc":
        import tracemalloc
        tracemalloc.start(1)
        serve(WARM_UP)
        before = tracemalloc.take_snapshot()
        serve(int(sys.argv[2]))
        after = tracemalloc.take_snapshot()
        top = after.compare_to(before, "lineno")[0]
        frame = top.traceback[0]
        print(f"{frame.filename}:{frame.lineno} {top.count_diff}")
        return
    serve(WARM_UP)
    native_request()
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["work"]:
            serve(int(words[1]))
            print(f"done {words[1]}", flush=True)
        elif words[:1] == ["native"]:
            for _ in range(int(words[1])):
                native_request()
            print(f"done native {words[1]}", flush=True)
        elif words[:1] == ["thread"]:
            worker = threading.Thread(target=serve, args=(int(words[1]),))
            worker.start()
            worker.join()
            print(f"done thread {words[1]}", flush=True)
        elif words[:1] == ["quit"]:
            break


main()
