"""A program that runs tracemalloc itself, for checking that swiftleak's
reference tracer (CPython 3.13) calls tracemalloc's on while attached and
puts it back at detach: tracemalloc's own figures must not change.

It starts tracemalloc, warms up, prints "ready", then reads commands:
  snap     take a tracemalloc snapshot
  keep N   N requests that each drop scratch lists and keep a new list
           (taken from CPython's free list of lists)
  quit     print, for each pair of consecutive snapshots, the count diff at
           the keeping line ("kept COUNT_DIFF"), and exit 0
Each command but quit is answered with "done COMMAND".
"""
import sys
import tracemalloc

tracemalloc.start(1)
_KEPT = []


def keep(count):
    for _ in range(count):
        scratch = [[n] for n in range(4)]
        del scratch
        _KEPT.append([])


KEEP_LINE = keep.__code__.co_firstlineno + 4


def main():
    keep(300)
    snapshots = []
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["quit"]:
            break
        if words == ["snap"]:
            snapshots.append(tracemalloc.take_snapshot())
        elif words[:1] == ["keep"]:
            keep(int(words[1]))
        print("done", *words, flush=True)
    for before, after in zip(snapshots, snapshots[1:]):
        kept = sum(stat.count_diff for stat in after.compare_to(before, "lineno")
                   if stat.traceback[0].filename == __file__ and stat.traceback[0].lineno == KEEP_LINE)
        print("kept", kept, flush=True)


main()
