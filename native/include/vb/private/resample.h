/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/resample.h: layout of the sample-rate converter state.
 * Only code tightly integrated with the core (the sound-card driver's tick, C tests) should
 * include this.
 */
#ifndef VB_PRIVATE_RESAMPLE_H
#define VB_PRIVATE_RESAMPLE_H

#include <stdint.h>
#include "vb/resample.h"

#define VB_RESAMPLE_CHUNK 256   /* input samples appended to the history per pass */

struct vb_resample_state_s
{
    int rate_in;
    int rate_out;
    int up;                 /* L: rate_out / gcd */
    int down;               /* M: rate_in / gcd */
    int taps;               /* K: taps per phase, odd */
    int half;               /* (K - 1) / 2: input samples the filter looks ahead */
    float *coeffs;          /* L phases x K taps; each phase reversed to run forward over hist */
    float *hist;            /* K - 1 earlier inputs, then up to VB_RESAMPLE_CHUNK new ones */
    int64_t in_count;       /* input samples consumed in this stream */
    int64_t out_count;      /* output samples produced in this stream */
};

#endif
