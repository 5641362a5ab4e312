/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/ring.h: layout of the SPSC ring state.
 * Only code tightly integrated with the core (drivers in C, C tests) should include this.
 */
#ifndef VB_PRIVATE_RING_H
#define VB_PRIVATE_RING_H

#include <stdatomic.h>
#include <stdint.h>
#include "vb/ring.h"

/* x86-64 and most ARMv8 cores use 64-byte cache lines. */
#define VB_RING_LINE 64

struct vb_ring_state_s
{
    /* Set at init, read-only afterwards. */
    int16_t *buf;
    uint64_t mask;
    int capacity;
    int allocated;

    /* Writer side: samples ever written, and samples dropped. */
    _Alignas(VB_RING_LINE) _Atomic uint64_t head;
    _Atomic uint64_t overrun;

    /* Reader side: samples ever read, and samples asked for but missing. */
    _Alignas(VB_RING_LINE) _Atomic uint64_t tail;
    _Atomic uint64_t underrun;
};

#endif
