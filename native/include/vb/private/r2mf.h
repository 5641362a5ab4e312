/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/r2mf.h: layouts of the MFC-R2 generator and receiver.
 * Only code tightly integrated with the core (C tests) should include this.
 */
#ifndef VB_PRIVATE_R2MF_H
#define VB_PRIVATE_R2MF_H

#include <stdint.h>
#include "vb/r2mf.h"

#define VB_R2MF_FREQS 6

struct vb_r2mf_tx_state_s
{
    int direction;
    float amplitude;            /* peak of each tone, 16-bit linear */
    int signal;
    uint32_t phase[2];          /* 2^32 = one cycle */
    uint32_t inc[2];
    int allocated;
};

struct vb_r2mf_rx_state_s
{
    int direction;
    vb_r2mf_rx_params_t p;
    float coef[VB_R2MF_FREQS];  /* 2 cos(w) */
    float v1[VB_R2MF_FREQS];    /* Goertzel state */
    float v2[VB_R2MF_FREQS];
    int count;                  /* samples in the current block */
    float min_power;            /* |X|^2 of a tone at min_level_dbm0 over a block */
    float twist;                /* power ratios */
    float relative_peak;
    int last_hit;               /* result of the previous block */
    int current;
    int64_t changes;
    int allocated;
};

#endif
