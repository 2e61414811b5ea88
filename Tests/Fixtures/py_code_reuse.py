"""A code object that dies and another one born at its address (pymalloc
hands a freed block of a size class to the next request of that class).
A reader that remembers code objects by address alone names the second
one's allocations after the first. Driven over stdin:

- at start: runs the first code object (file "first_code.py"), which keeps
  FIRST byte strings, and prints "ready first <address>";
- "second": frees the first code object (its objects stay), then compiles
  the second (file "second_code.py", its allocating instruction elsewhere)
  until one lands at the first's address, runs it (it keeps SECOND byte
  strings of the same sizes) and prints "second <address>", or "second: no reuse"
  after 1000 tries;
- "quit": exits 0.
"""
import sys

FIRST = 1000
SECOND = 2000
_KEPT = []

# The same instructions in another order: the code objects are the same
# size (so the second can take the first's block); the allocating line is
# line 3 of the first and line 4 of the second, at another instruction.
FIRST_SOURCE = "def run(n, kept):\n    for i in range(n):\n        kept.append(bytes(100 + i % 7))\n    t = 0\n"
SECOND_SOURCE = "def run(n, kept):\n    t = 0\n    for i in range(n):\n        kept.append(bytes(100 + i % 7))\n"


def load(source, filename):
    scope = {}
    exec(compile(source, filename, "exec"), scope)
    return scope["run"]


def main():
    first = load(FIRST_SOURCE, "first_code.py")
    first(FIRST, _KEPT)
    address = id(first.__code__)
    del first
    print("ready first", address, flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["second"]:
            # Nothing else refers to the code object: this frees it.
            tries = []
            for _ in range(1000):
                second = load(SECOND_SOURCE, "second_code.py")
                if id(second.__code__) == address:
                    break
                tries.append(second)   # held, so the next try gets another block
            else:
                print("second: no reuse", flush=True)
                continue
            del tries
            second(SECOND, _KEPT)
            print("second", id(second.__code__), flush=True)
        elif words == ["quit"]:
            return


main()
