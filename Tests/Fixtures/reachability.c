/* reachability: a C program whose heap is known exactly, for `swiftleak
 * leaks` and `swiftleak retainers`. It prints "ready", then reads commands:
 *   grow N   appends N nodes (48 bytes) to a list a global holds (`sessions`):
 *            growth, never unreachable; prints "grew N"
 *   drop N   N times: a record (64 bytes) owning a buffer (200 bytes), and
 *            a pair of peers (32 bytes each) pointing at each other, then
 *            drops every pointer to them; prints the ground truth
 *            "dropped B blocks S bytes" (direct: the records; the peers are a
 *            cycle; the buffers are indirect)
 *   quit     prints "bye" and exits 0
 * Built without inlining so each allocation has its own function. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; char payload[40]; };
struct record { char *buffer; char tag[56]; };
struct peer { struct peer *other; char name[24]; };

struct node *sessions;   /* the growing list's only root */

__attribute__((noinline)) static struct node *session_node(void)
{
    struct node *n = malloc(sizeof *n);
    memset(n, 0, sizeof *n);
    return n;
}

__attribute__((noinline)) static void grow(int count)
{
    for (int i = 0; i < count; i++) {
        struct node *n = session_node();
        n->next = sessions;
        sessions = n;
    }
}

__attribute__((noinline)) static char *record_buffer(void) { return calloc(1, 200); }
__attribute__((noinline)) static struct record *lost_record(void) { return calloc(1, sizeof(struct record)); }
__attribute__((noinline)) static struct peer *lost_peer(void) { return calloc(1, sizeof(struct peer)); }

/* Returns the bytes dropped; nothing it allocated stays referenced. */
__attribute__((noinline)) static size_t drop(int count)
{
    size_t bytes = 0;
    for (int i = 0; i < count; i++) {
        struct record *r = lost_record();
        r->buffer = record_buffer();
        struct peer *a = lost_peer(), *b = lost_peer();
        a->other = b;
        b->other = a;
        bytes += sizeof *r + 200 + 2 * sizeof *a;
    }
    return bytes;
}

/* Overwrites the stack below the caller's frame, where grow and drop kept
 * their pointers, so a conservative scan finds no stale copies there (they
 * would hold dropped blocks, or name the stack as a list's root). */
__attribute__((noinline)) static void scrub_stack(void)
{
    volatile char area[16384];   /* volatile: the stores cannot be optimized away */
    for (size_t i = 0; i < sizeof area; i++)
        area[i] = 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        int n = 0;
        if (sscanf(line, "grow %d", &n) == 1) {
            grow(n);
            scrub_stack();
            printf("grew %d\n", n);
        } else if (sscanf(line, "drop %d", &n) == 1) {
            size_t bytes = drop(n);
            scrub_stack();
            printf("dropped %d blocks %zu bytes\n", 4 * n, bytes);
        } else if (strncmp(line, "quit", 4) == 0) {
            break;
        }
    }
    printf("bye\n");
    return 0;
}
