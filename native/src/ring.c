/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - ring.c: SPSC sample ring (see vb/ring.h for the method).
 */
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/ring.h"
#include "vb/private/ring.h"

vb_ring_state_t *vb_ring_init(vb_ring_state_t *s, int capacity)
{
    int16_t *buf;
    int allocated = 0;

    if (capacity < 2  ||  capacity > VB_RING_MAX_CAPACITY  ||  (capacity & (capacity - 1)) != 0)
        return NULL;
    if ((buf = (int16_t *) calloc((size_t) capacity, sizeof(int16_t))) == NULL)
        return NULL;
    if (s == NULL)
    {
        /* The counters are cache-line aligned, so the state must be too. */
        if ((s = (vb_ring_state_t *) aligned_alloc(_Alignof(vb_ring_state_t), sizeof(*s))) == NULL)
        {
            free(buf);
            return NULL;
        }
        allocated = 1;
    }
    else
    {
        allocated = s->allocated;
        free(s->buf);
    }
    memset(s, 0, sizeof(*s));
    s->buf = buf;
    s->mask = (uint64_t) capacity - 1;
    s->capacity = capacity;
    s->allocated = allocated;
    atomic_init(&s->head, 0);
    atomic_init(&s->overrun, 0);
    atomic_init(&s->tail, 0);
    atomic_init(&s->underrun, 0);
    return s;
}

int vb_ring_release(vb_ring_state_t *s)
{
    free(s->buf);
    s->buf = NULL;
    return VB_OK;
}

int vb_ring_free(vb_ring_state_t *s)
{
    if (s != NULL)
    {
        vb_ring_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

int vb_ring_state_size(void)
{
    return (int) sizeof(vb_ring_state_t);
}

int vb_ring_write(vb_ring_state_t *s, const int16_t amp[], int samples)
{
    /* Only this thread stores head, so a relaxed load of it is exact; the acquire load of
       tail makes the reader's copies out of the freed slots happen before ours into them. */
    uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&s->tail, memory_order_acquire);
    int space = s->capacity - (int) (head - tail);
    int n;
    int first;
    int at;

    if (samples < 0)
        return VB_ERR_INVALID;
    n = (samples < space) ? samples : space;
    if (n < samples)
    {
        atomic_store_explicit(&s->overrun,
                              atomic_load_explicit(&s->overrun, memory_order_relaxed) + (uint64_t) (samples - n),
                              memory_order_relaxed);
    }
    if (n == 0)
        return 0;
    at = (int) (head & s->mask);
    first = s->capacity - at;
    if (first > n)
        first = n;
    memcpy(s->buf + at, amp, (size_t) first*sizeof(int16_t));
    memcpy(s->buf, amp + first, (size_t) (n - first)*sizeof(int16_t));
    /* Publish: the reader that sees the new head sees the samples under it. */
    atomic_store_explicit(&s->head, head + (uint64_t) n, memory_order_release);
    return n;
}

int vb_ring_read(vb_ring_state_t *s, int16_t amp[], int samples, int flags)
{
    uint64_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
    int fill = (int) (head - tail);
    int n;
    int first;
    int at;

    if (samples < 0  ||  (flags & ~VB_RING_PAD) != 0)
        return VB_ERR_INVALID;
    n = (samples < fill) ? samples : fill;
    if (n < samples)
    {
        atomic_store_explicit(&s->underrun,
                              atomic_load_explicit(&s->underrun, memory_order_relaxed) + (uint64_t) (samples - n),
                              memory_order_relaxed);
        if (flags & VB_RING_PAD)
            memset(amp + n, 0, (size_t) (samples - n)*sizeof(int16_t));
    }
    if (n == 0)
        return 0;
    at = (int) (tail & s->mask);
    first = s->capacity - at;
    if (first > n)
        first = n;
    memcpy(amp, s->buf + at, (size_t) first*sizeof(int16_t));
    memcpy(amp + first, s->buf, (size_t) (n - first)*sizeof(int16_t));
    /* Hand the slots back: the writer that sees the new tail may overwrite them. */
    atomic_store_explicit(&s->tail, tail + (uint64_t) n, memory_order_release);
    return n;
}

int vb_ring_fill(const vb_ring_state_t *s)
{
    /* Tail first: head never falls behind a tail loaded earlier, so the difference is not
       negative; a third thread may see both move in between, hence the clamp. */
    uint64_t tail = atomic_load_explicit(&s->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
    uint64_t fill = head - tail;

    return (fill > (uint64_t) s->capacity) ? s->capacity : (int) fill;
}

int vb_ring_space(const vb_ring_state_t *s)
{
    return s->capacity - vb_ring_fill(s);
}

int vb_ring_capacity(const vb_ring_state_t *s)
{
    return s->capacity;
}

int vb_ring_get_stats(const vb_ring_state_t *s, vb_ring_stats_t *st)
{
    st->written = (int64_t) atomic_load_explicit(&s->head, memory_order_acquire);
    st->read = (int64_t) atomic_load_explicit(&s->tail, memory_order_acquire);
    st->overrun = (int64_t) atomic_load_explicit(&s->overrun, memory_order_relaxed);
    st->underrun = (int64_t) atomic_load_explicit(&s->underrun, memory_order_relaxed);
    return VB_OK;
}
