/*
 * rw_mappings.c: a table of the process's readable and writable mappings
 * (start, end), sorted, read from /proc/self/maps by whoever serializes
 * scans (session start, then the agent thread) and searched lock-free on
 * the hook path.
 *
 * One table under a sequence number: odd while a scan rewrites it; a lookup
 * that saw it odd, or saw it change, answers "not mapped" (the caller then
 * does without what it wanted to read). Memory unmapped since the last scan
 * still looks mapped until the next one: a lookup vouches for memory that
 * was mapped, not for memory that is. The caller's pointers come from
 * structures the running code keeps alive, so only a pointer that was never
 * one of them could meet such a hole.
 *
 * The file is read with open/read/close and parsed in place, a character at
 * a time, so lines of any length need no buffer of their own and nothing is
 * allocated.
 */
#include "agent.h"
#include "rw_mappings.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define SL_RW_MAX 16384u                  /* mappings kept; a process with more loses the rest */
#define SL_RW_RESCAN_NS 100000000ull      /* at most ten scans a second */

static struct {
    _Atomic uint64_t seq;   /* odd while being rewritten */
    _Atomic uint32_t count;
    uintptr_t lo[SL_RW_MAX], hi[SL_RW_MAX];
} table;
static _Atomic int missed;       /* a lookup found nothing since the last scan */
static uint64_t last_scan_ns;    /* serialized with the scans */

/* The line parser's state, kept across reads. */
struct maps_parser {
    int field;          /* 0 start, 1 end, 2 permissions, 3 the rest of the line */
    int perm_index;
    uintptr_t lo, hi;
    int readable, writable, bad;
    uint32_t count;
};

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static void end_line(struct maps_parser *p)
{
    if (!p->bad && p->field == 3 && p->readable && p->writable && p->lo < p->hi && p->count < SL_RW_MAX) {
        __atomic_store_n(&table.lo[p->count], p->lo, __ATOMIC_RELAXED);
        __atomic_store_n(&table.hi[p->count], p->hi, __ATOMIC_RELAXED);
        p->count++;
    }
    *p = (struct maps_parser){.count = p->count};
}

static void parse(struct maps_parser *p, const char *text, long n)
{
    for (long i = 0; i < n; i++) {
        char c = text[i];
        if (c == '\n') {
            end_line(p);
            continue;
        }
        if (p->field == 0 || p->field == 1) {
            int d = hex_digit(c);
            uintptr_t *v = p->field == 0 ? &p->lo : &p->hi;
            if (d >= 0)
                *v = *v << 4 | (uintptr_t)d;
            else if (p->field == 0 && c == '-')
                p->field = 1;
            else if (p->field == 1 && c == ' ')
                p->field = 2;
            else
                p->bad = 1;
        } else if (p->field == 2) {
            if (c == ' ') {
                p->field = 3;
            } else {
                if (p->perm_index == 0)
                    p->readable = c == 'r';
                else if (p->perm_index == 1)
                    p->writable = c == 'w';
                p->perm_index++;
            }
        }
    }
}

int sl_rw_mappings_refresh(void)
{
    int fd;
    do
        fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return errno ? errno : EIO;
    uint64_t s = atomic_load_explicit(&table.seq, memory_order_relaxed);
    atomic_store_explicit(&table.seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    struct maps_parser p = {0};
    char buf[4096];
    int e = 0;
    for (;;) {
        long n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno ? errno : EIO;
            break;
        }
        if (n == 0)
            break;
        parse(&p, buf, n);
    }
    end_line(&p);   /* a last line without its newline */
    sl_close_fd(fd);
    /* /proc lists mappings in address order; a failed read leaves none. */
    atomic_store_explicit(&table.count, e ? 0 : p.count, memory_order_relaxed);
    atomic_store_explicit(&table.seq, s + 2, memory_order_release);
    atomic_store_explicit(&missed, 0, memory_order_relaxed);
    last_scan_ns = sl_now_ns(CLOCK_MONOTONIC);
    return e;
}

void sl_rw_mappings_poll(void)
{
    if (!atomic_load_explicit(&missed, memory_order_relaxed))
        return;
    if (sl_now_ns(CLOCK_MONOTONIC) - last_scan_ns < SL_RW_RESCAN_NS)
        return;
    (void)sl_rw_mappings_refresh();
}

int sl_rw_mapped(uintptr_t lo, uintptr_t hi, uintptr_t *map_lo, uintptr_t *map_hi)
{
    uint64_t s = atomic_load_explicit(&table.seq, memory_order_acquire);
    if (s & 1)
        return 0;
    uint32_t n = atomic_load_explicit(&table.count, memory_order_relaxed);
    if (n > SL_RW_MAX)
        return 0;
    /* The last mapping starting at or below lo. */
    uint32_t a = 0, b = n;
    while (a < b) {
        uint32_t m = a + (b - a) / 2;
        if (__atomic_load_n(&table.lo[m], __ATOMIC_RELAXED) <= lo)
            a = m + 1;
        else
            b = m;
    }
    uintptr_t found_lo = a > 0 ? __atomic_load_n(&table.lo[a - 1], __ATOMIC_RELAXED) : 0;
    uintptr_t found_hi = a > 0 ? __atomic_load_n(&table.hi[a - 1], __ATOMIC_RELAXED) : 0;
    int inside = a > 0 && hi <= found_hi && lo < hi;
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&table.seq, memory_order_relaxed) != s)
        return 0;
    if (!inside) {
        atomic_store_explicit(&missed, 1, memory_order_relaxed);
        return 0;
    }
    *map_lo = found_lo;
    *map_hi = found_hi;
    return 1;
}
