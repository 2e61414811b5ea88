"""The tracemalloc guides' programs, driven over stdin, for comparing
swiftleak with tracemalloc object by object.

Commands (each answered with "done ..." once finished):
  cache N    N requests that each keep bytes(1024) in a module-level dict
  lists N    N rounds that each append 10 lists of 1000 ints to a global list
  cycles N   N pairs of objects that point at each other, then dropped: garbage
             that only the cyclic collector frees
  reuse N    N requests that each make a few scratch lists, drop them, and keep
             one new list: CPython hands the kept lists out from its free list
             of lists (no allocator call), refilled by each request's scratch
  load T     T threads that serve requests (a json round trip and a cache
             entry, the cache bounded) until "quit"
  quit       exit 0 (after joining the load threads)
It prints "ready" after a warm-up of every kind of work.

`py_seeds.py --tracemalloc KIND N` runs the same steps under tracemalloc
(warm-up, snapshot, N of KIND, snapshot) and prints compare_to("lineno") for
this file, one "LINE SIZE_DIFF COUNT_DIFF" per line. For KIND cycles it then
runs gc.collect(), prints "collected C", and the comparison again.
The collector's automatic runs are put off (a high threshold, not
gc.disable(), which would turn gc.collect() from C off too), so cycles stay
until something collects them.
"""
import gc
import json
import sys
import threading

gc.set_threshold(1_000_000_000)
_CACHE = {}
_LEAKED = []
_STOP = threading.Event()


def handle_request(request_id):
    _CACHE[request_id] = bytes(1024)
    return _CACHE[request_id]


def serve(count):
    start = 1000 + len(_CACHE)   # no small ints (CPython's are shared): one new key object per request
    for request_id in range(start, start + count):
        handle_request(request_id)


def create_objects():
    data = []
    for _ in range(10):
        data.append(list(range(1000)))
    return data


def leak_lists(rounds):
    for _ in range(rounds):
        _LEAKED.append(create_objects())


class Node:
    def __init__(self):
        self.partner = None
        self.payload = bytes(200)


def make_cycles(pairs):
    for _ in range(pairs):
        first, second = Node(), Node()
        first.partner, second.partner = second, first


def keep_reused(count):
    for _ in range(count):
        scratch = [[n] for n in range(4)]
        del scratch
        _LEAKED.append([])


def serve_forever(worker):
    cache = {}
    request_id = 0
    while not _STOP.is_set():
        request = json.loads(json.dumps({"id": request_id, "worker": worker, "items": list(range(20))}))
        cache[request["id"] % 1000] = bytes(1024)
        request_id += 1


WORK = {"cache": serve, "lists": leak_lists, "cycles": make_cycles, "reuse": keep_reused}


def warm_up():
    serve(100)
    leak_lists(1)
    make_cycles(10)
    keep_reused(100)
    gc.collect()


def lineno_diff(before, after):
    for stat in after.compare_to(before, "lineno"):
        frame = stat.traceback[0]
        if frame.filename == __file__ and (stat.size_diff or stat.count_diff):
            print(frame.lineno, stat.size_diff, stat.count_diff)


def with_tracemalloc(kind, count):
    import tracemalloc
    tracemalloc.start(1)
    warm_up()
    before = tracemalloc.take_snapshot()
    WORK[kind](count)
    lineno_diff(before, tracemalloc.take_snapshot())
    if kind == "cycles":
        print("collected", gc.collect())
        lineno_diff(before, tracemalloc.take_snapshot())


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--tracemalloc":
        with_tracemalloc(sys.argv[2], int(sys.argv[3]))
        return
    warm_up()
    threads = []
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["quit"]:
            break
        if words[:1] == ["load"]:
            for worker in range(int(words[1])):
                threads.append(threading.Thread(target=serve_forever, args=(worker,)))
                threads[-1].start()
        elif words[:1] and words[0] in WORK:
            WORK[words[0]](int(words[1]))
        print("done", *words, flush=True)
    _STOP.set()
    for thread in threads:
        thread.join()


main()
