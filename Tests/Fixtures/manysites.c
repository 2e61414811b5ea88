/*
 * manysites: keeps one live block from each of SITES distinct call stacks,
 * for measuring `swiftleak report` on a huge snapshot (Scripts/report-size).
 * Ground truth: block i (0 <= i < SITES) is allocated at the bottom of a
 * chain of DEPTH calls through left() and right(), chosen by the bits of i,
 * so every i has its own stack; it is 16 + i % 64 bytes.
 *
 * Usage: manysites SITES   (SITES at most 2^DEPTH), prints "kept SITES blocks"
 */
#include <stdio.h>
#include <stdlib.h>

/* Deeper with -DDEPTH=N: Scripts/bench-read needs more than 2^17 stacks. */
#ifndef DEPTH
#define DEPTH 17
#endif

static void **kept;

static void *left(int level, unsigned long i);
static void *right(int level, unsigned long i);

/* The return addresses of these calls are the stack: nothing may be a tail call. */
__attribute__((noinline)) static void *descend(int level, unsigned long i) {
    if (level == DEPTH) return malloc(16 + i % 64);
    void *block = (i >> level) & 1 ? right(level + 1, i) : left(level + 1, i);
    __asm__ volatile("" : : "r"(block) : "memory");
    return block;
}

__attribute__((noinline)) static void *left(int level, unsigned long i) {
    void *block = descend(level, i);
    __asm__ volatile("" : : "r"(block) : "memory");
    return block;
}

__attribute__((noinline)) static void *right(int level, unsigned long i) {
    void *block = descend(level, i);
    __asm__ volatile("" : : "r"(block) : "memory");
    return block;
}

int main(int argc, char **argv) {
    unsigned long sites = argc == 2 ? strtoul(argv[1], NULL, 10) : 0;
    if (sites == 0 || sites > (1UL << DEPTH)) {
        fprintf(stderr, "usage: manysites SITES (1 to %lu)\n", 1UL << DEPTH);
        return 2;
    }
    kept = malloc(sites * sizeof *kept);
    if (!kept) return 1;
    for (unsigned long i = 0; i < sites; i++) kept[i] = descend(0, i);
    printf("kept %lu blocks\n", sites);
    return 0;
}
