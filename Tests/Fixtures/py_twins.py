"""Allocations a stack cache must tell apart: one Python line (make's)
reached from three lines of one caller, one after the other, so the
allocating frame sits at the same address, runs the same instruction and
calls into C at the same place each time. Lines "int" and "int again"
differ only in the caller's line; line "float" also in the C path below
make's line (str of a float, not of an int). Each line makes a run of
strings, so whatever remembers the first run's stacks is asked about the
later ones. Driven over stdin: "make N" makes N strings, N / 3 from each
caller line, keeps them and answers "done make N"; "quit" exits 0. Prints
"ready" once warmed up.
"""
import sys

_KEPT = []


def make(value):
    return str(value)   # the allocating line


def make_all(count):
    third = count // 3
    kept = [None] * (3 * third)
    for i in range(third):
        kept[i] = make(i * 1000003 + 10**12)   # int
    for i in range(third, 2 * third):
        kept[i] = make(i + 0.5)   # float
    for i in range(2 * third, 3 * third):
        kept[i] = make(i * 1000033 + 10**12)   # int again
    _KEPT.append(kept)


def main():
    make_all(300)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["make"] and len(words) == 2:
            make_all(int(words[1]))
            print("done", line.strip(), flush=True)
        elif words == ["quit"]:
            return


main()
