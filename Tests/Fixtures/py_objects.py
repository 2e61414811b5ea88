"""Python objects kept alive in a module-level list, in rounds driven over
stdin: "work N" adds N `Node` instances (a class with a managed dict: a
pre-header on 3.11+), N 1000-byte `bytes` and N 100-item tuples (over
pymalloc's 512-byte limit, so they come from malloc even without
PYTHONMALLOC=malloc) and answers "done N"; "quit" exits 0. Prints "ready"
first. Run with PYTHONMALLOC=malloc for the small Node instances to be
malloc'ed blocks too.
"""
import sys

KEPT = []


class Node:
    def __init__(self, index):
        self.index = index


def main():
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["quit"]:
            return
        if len(words) != 2 or words[0] != "work":
            continue
        count = int(words[1])
        for index in range(count):
            KEPT.append(Node(index))
            KEPT.append(bytes(1000))
            KEPT.append(tuple(range(100)))
        print(f"done {count}", flush=True)


main()
