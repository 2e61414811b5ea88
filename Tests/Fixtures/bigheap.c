/* bigheap: a large heap for timing `swiftleak leaks` (Scripts/bench-scan).
 * Prints "ready", then on "fill N SIZE" allocates N blocks of SIZE bytes:
 * blocks in chains of 16 (each points to the next), each chain's head held
 * by a global table (itself a block), the rest of each block filled with
 * bytes that point nowhere; one chain in 100 is dropped (unreachable).
 * Prints "filled N blocks, D dropped". "quit" exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void **table;   /* chain heads */

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        long n = 0, size = 0;
        if (sscanf(line, "fill %ld %ld", &n, &size) == 2 && size >= 16) {
            long chains = n / 16, dropped = 0;
            table = calloc((size_t)chains, sizeof *table);
            for (long c = 0; c < chains; c++) {
                void *next = NULL;
                for (int i = 0; i < 16; i++) {
                    char *block = malloc((size_t)size);
                    memset(block, 0x5a, (size_t)size);
                    memcpy(block, &next, sizeof next);
                    next = block;
                }
                if (c % 100 == 99)
                    dropped += 16;
                else
                    table[c] = next;
            }
            printf("filled %ld blocks, %ld dropped\n", chains * 16 + 1, dropped);
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
    }
    return 0;
}
