/*
 * emit_free.h: a traced free's event, inline wherever a free is traced (the
 * malloc hooks, the Python allocator wrappers): the sampling check and the
 * push, no call.
 */
#ifndef SWIFTLEAK_EMIT_FREE_H
#define SWIFTLEAK_EMIT_FREE_H

#include "agent.h"
#include "sampling.h"

static inline void sl_emit_free_inline(void *p)
{
    if (!sl_sample_free(p))
        return;   /* sampled mode: p was not sampled */
    (void)sl_ring_push(SL_EV_FREE, (uint64_t)(uintptr_t)p, 0, 0);
}

#endif
