/*
 * A process that carries CPython's C API but never initialises the
 * interpreter (an embedding program before Py_Initialize): it dlopen's the
 * libpython given as argv[1] into the global scope, prints "ready", and
 * exits 0 when stdin closes or says "quit". swiftleak must leave its
 * allocators alone and say why.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 2 || !dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL)) {
        fprintf(stderr, "usage: py_uninitialized /path/to/libpython3.X.so (%s)\n", dlerror());
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin) && strcmp(line, "quit\n") != 0)
        ;
    return 0;
}
