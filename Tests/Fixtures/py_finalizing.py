"""A CPython process that stays inside its own shutdown.

After the script ends the interpreter finalizes: it is marked finalizing,
then clears the modules' globals, which runs Lingers.__del__ below. That
prints "ready" and waits for "quit" (or the end of stdin), so swiftleak can
attach to an interpreter that is finalizing; it must leave the allocators
alone and say why. Only what __del__ captured as defaults is used: the
modules are being torn down around it.
"""
import os


class Lingers:
    def __del__(self, write=os.write, read=os.read):
        write(1, b"ready\n")
        while True:
            data = read(0, 64)
            if not data or b"quit" in data:
                return


lingers = Lingers()
