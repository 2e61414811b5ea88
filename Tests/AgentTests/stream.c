/*
 * stream.c: the harness's decoder of the agent's stream, written against
 * swiftleak_protocol.h independently of the Swift one, and the questions
 * the tests ask of a decoded stream.
 */
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- a small hash map uint64 -> uint64 ----------------------------------- */

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static void map_grow(struct map *m);

uint64_t *map_slot(struct map *m, uint64_t key, int create)
{
    if (!m->cap) {
        if (!create)
            return NULL;
        map_grow(m);
    }
    size_t i = mix(key) & (m->cap - 1);
    for (;;) {
        if (m->keys[i] == key + 1)
            return &m->vals[i];
        if (m->keys[i] == 0) {
            if (!create)
                return NULL;
            if ((m->n + 1) * 2 > m->cap) {
                map_grow(m);
                return map_slot(m, key, create);
            }
            m->keys[i] = key + 1;
            m->vals[i] = 0;
            m->n++;
            return &m->vals[i];
        }
        i = (i + 1) & (m->cap - 1);
    }
}

static void map_grow(struct map *m)
{
    struct map old = *m;
    m->cap = old.cap ? old.cap * 2 : 1024;
    m->keys = calloc(m->cap, sizeof(uint64_t));
    m->vals = calloc(m->cap, sizeof(uint64_t));
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i])
            *map_slot(m, old.keys[i] - 1, 1) = old.vals[i];
    free(old.keys);
    free(old.vals);
}

/* ---- decoding ------------------------------------------------------------ */

void stream_init(struct stream *s, int fd)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
}

static void add_rec(struct stream *s, struct rec r)
{
    if (s->nrecs == s->caprecs) {
        s->caprecs = s->caprecs ? s->caprecs * 2 : 4096;
        s->recs = realloc(s->recs, s->caprecs * sizeof *s->recs);
    }
    s->recs[s->nrecs++] = r;
}

struct stackrec *find_stack(struct stream *s, uint32_t id)
{
    uint64_t *v = map_slot(&s->stack_index, id, 0);
    return v && *v ? &s->stacks[*v - 1] : NULL;
}

/* A pair count refers to a stack sent before it, as an allocation does. */
static int pr_stack_known(struct stream *s, const unsigned char *payload)
{
    uint32_t id;
    memcpy(&id, payload + offsetof(struct sl_rec_pairs, stack_id), sizeof id);
    return find_stack(s, id) != NULL;
}

static void decode(struct stream *s)
{
    size_t off = 0;
    if (!s->have_hello) {
        if (s->len < sizeof(struct sl_hello))
            return;
        memcpy(&s->hello, s->buf, sizeof s->hello);
        s->have_hello = 1;
        off = s->hello.hello_size >= 8 ? s->hello.hello_size : sizeof s->hello;
        if (off > s->len) {   /* a larger hello than we know: wait for it */
            s->have_hello = 0;
            return;
        }
    }
    while (s->len - off >= sizeof(struct sl_frame_header)) {
        struct sl_frame_header h;
        memcpy(&h, s->buf + off, sizeof h);
        if (h.size > SL_FRAME_MAX_PAYLOAD) {
            s->error = 1;
            break;
        }
        if (s->len - off - sizeof h < h.size)
            break;
        const unsigned char *p = s->buf + off + sizeof h;
        struct rec r = {h.type, 0, 0, 0, 0};
        switch (h.type) {
        case SL_REC_ALLOC: {
            struct sl_rec_alloc a;
            if (h.size < sizeof a) { s->error = 1; break; }
            memcpy(&a, p, sizeof a);
            r.addr = a.address;
            r.size = a.size;
            r.stack = a.stack_id;
            if (!find_stack(s, a.stack_id))
                s->alloc_without_stack++;
            add_rec(s, r);
            break;
        }
        case SL_REC_FREE: {
            struct sl_rec_free f;
            if (h.size < sizeof f) { s->error = 1; break; }
            memcpy(&f, p, sizeof f);
            r.addr = f.address;
            add_rec(s, r);
            break;
        }
        case SL_REC_STACK: {
            struct sl_rec_stack st;
            if (h.size < sizeof st) { s->error = 1; break; }
            memcpy(&st, p, sizeof st);
            if (h.size < sizeof st + st.depth * 8ull || st.depth > SL_MAX_FRAMES) { s->error = 1; break; }
            if (s->nstacks == s->capstacks) {
                s->capstacks = s->capstacks ? s->capstacks * 2 : 256;
                s->stacks = realloc(s->stacks, s->capstacks * sizeof *s->stacks);
            }
            struct stackrec *sr = &s->stacks[s->nstacks++];
            sr->id = st.stack_id;
            sr->depth = st.depth;
            sr->ips = malloc(st.depth * 8ull + 8);
            memcpy(sr->ips, p + sizeof st, st.depth * 8ull);
            uint64_t *v = map_slot(&s->stack_index, st.stack_id, 1);
            if (*v)
                s->error = 1;   /* a stack id sent twice on one stream */
            *v = s->nstacks;
            break;
        }
        case SL_REC_PAIRS: {
            struct sl_rec_pairs pr;
            if (h.size < sizeof pr || !pr_stack_known(s, p)) { s->error = 1; break; }
            memcpy(&pr, p, sizeof pr);
            r.stack = pr.stack_id;
            r.size = pr.size;
            r.extra = pr.count;
            add_rec(s, r);
            break;
        }
        case SL_REC_PEAK: {
            struct sl_rec_peak pk;
            if (h.size < sizeof pk) { s->error = 1; break; }
            memcpy(&pk, p, sizeof pk);
            r.size = pk.bytes;
            r.extra = pk.blocks;
            add_rec(s, r);
            break;
        }
        case SL_REC_SYNC: {
            struct sl_rec_sync y;
            if (h.size < sizeof y) { s->error = 1; break; }
            memcpy(&y, p, sizeof y);
            r.addr = y.token;
            r.extra = y.lost_events;
            add_rec(s, r);
            break;
        }
        case SL_REC_STATUS: {
            if (h.size < sizeof s->status) { s->error = 1; break; }
            memcpy(&s->status, p, sizeof s->status);
            s->got_status++;
            r.addr = s->status.code;
            r.extra = s->status.lost_events;
            add_rec(s, r);
            break;
        }
        case SL_REC_EXITING: {
            /* Let the exiting process go, as swiftleak does once it has symbolized. */
            struct sl_frame_header release = {0, SL_CMD_RELEASE, 0};
            s->exiting++;
            if (write(s->fd, &release, sizeof release) != (ssize_t)sizeof release)
                s->error = 1;
            break;
        }
        default:
            break;   /* unknown record: skip, as the header says */
        }
        if (s->error)
            break;
        off += sizeof h + h.size;
    }
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
}

void stream_read(struct stream *s)
{
    if (s->fd < 0)
        return;
    if (s->cap - s->len < 65536) {
        s->cap = s->cap ? s->cap * 2 : 1 << 20;
        s->buf = realloc(s->buf, s->cap);
    }
    ssize_t n = read(s->fd, s->buf + s->len, s->cap - s->len);
    if (n > 0) {
        s->len += (size_t)n;
        s->bytes += (size_t)n;
        decode(s);
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        s->eof = 1;
        close(s->fd);
        s->fd = -1;
    }
}

/* ---- questions about a stream ------------------------------------------- */

void check_hello(struct stream *s, pid_t pid, uint32_t mode, uint32_t frames)
{
    CHECK(s->have_hello, "no hello");
    CHECK(memcmp(s->hello.magic, SL_HELLO_MAGIC, 8) == 0, "magic");
    CHECK(s->hello.version == SL_PROTOCOL_VERSION, "version %u", s->hello.version);
    CHECK(s->hello.hello_size == sizeof(struct sl_hello), "hello_size %u", s->hello.hello_size);
    CHECK(s->hello.pid == (uint32_t)pid, "pid %u != %d", s->hello.pid, pid);
    CHECK(s->hello.mode == mode, "mode %u", s->hello.mode);
    CHECK(s->hello.frames_max == frames, "frames %u", s->hello.frames_max);
    uint64_t now = (uint64_t)time(NULL) * 1000000000ull;
    CHECK(s->hello.start_ns > now - 600000000000ull && s->hello.start_ns < now + 60000000000ull,
          "start_ns %llu", (unsigned long long)s->hello.start_ns);
    CHECK(!s->error, "stream error");
    CHECK(s->alloc_without_stack == 0, "%d allocs referenced unsent stacks", s->alloc_without_stack);
}

int allocs_of_size(struct stream *s, uint64_t size, size_t *idx, int max)
{
    int n = 0;
    for (size_t i = 0; i < s->nrecs; i++)
        if (s->recs[i].type == SL_REC_ALLOC && s->recs[i].size == size) {
            if (n < max)
                idx[n] = i;
            n++;
        }
    return n;
}

long free_after(struct stream *s, size_t from, uint64_t addr)
{
    for (size_t i = from + 1; i < s->nrecs; i++) {
        if (s->recs[i].addr != addr)
            continue;
        if (s->recs[i].type == SL_REC_FREE)
            return (long)i;
        if (s->recs[i].type == SL_REC_ALLOC)
            return -1;
    }
    return -1;
}

int ip_in(struct stream *s, uint32_t stack, int frame, uint64_t lo, uint64_t hi)
{
    struct stackrec *st = find_stack(s, stack);
    return st && (uint32_t)frame < st->depth && st->ips[frame] >= lo && st->ips[frame] < hi;
}

long replay(struct stream *s, long *unknown, long *live_out)
{
    struct map live = {0};
    long bad = 0, unk = 0, live_n = 0;
    for (size_t i = 0; i < s->nrecs; i++) {
        struct rec *c = &s->recs[i];
        if (c->type == SL_REC_ALLOC) {
            uint64_t *v = map_slot(&live, c->addr, 1);
            if (*v)
                bad++;
            else
                live_n++;
            *v = 1;
        } else if (c->type == SL_REC_FREE) {
            uint64_t *v = map_slot(&live, c->addr, 0);
            if (v && *v) {
                *v = 0;
                live_n--;
            } else {
                unk++;
            }
        }
    }
    free(live.keys);
    free(live.vals);
    *unknown = unk;
    if (live_out)
        *live_out = live_n;
    return bad;
}
