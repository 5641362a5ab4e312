/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/cpd.h: layout of the call-progress detector state.
 * Only code tightly integrated with the core (the channel tick, C tests) should include this.
 */
#ifndef VB_PRIVATE_CPD_H
#define VB_PRIVATE_CPD_H

#include <stdint.h>
#include "vb/cpd.h"

#define VB_CPD_MAX_SETS VB_CPD_MAX_FREQS        /* distinct tone sets (one or two frequencies) */

/* Block and segment labels: a tone set index (>= 0) or one of these. */
enum
{
    VB_CPD_LABEL_SILENCE = -1,
    VB_CPD_LABEL_OTHER = -2,
    VB_CPD_LABEL_NONE = -3                      /* before the first block */
};

typedef struct
{
    int label;                                  /* tone set index or VB_CPD_LABEL_SILENCE */
    int min_len;                                /* accepted duration, samples */
    int max_len;
} vb_cpd_elem_t;

typedef struct
{
    int n;
    int cycles;
    int cyclic;
    int continuous;
    vb_cpd_elem_t e[VB_CPD_MAX_ELEMENTS];
    int active;                                 /* reported, and still matching */
} vb_cpd_pat_t;

typedef struct
{
    int label;
    int64_t start;
    int64_t len;
} vb_cpd_seg_t;

struct vb_cpd_state_s
{
    vb_cpd_params_t params;
    float min_power;                            /* derived from params: 16-bit units squared */
    float silence_power;
    float tone_share;
    float max_twist;

    float freq_hz[VB_CPD_MAX_FREQS];
    float coeff[VB_CPD_MAX_FREQS];              /* Goertzel 2 cos(w) */
    int nfreqs;
    int set_freq[VB_CPD_MAX_SETS][2];           /* frequency indexes; [1] = -1 for one tone */
    int nsets;
    vb_cpd_pat_t pat[VB_CPD_MAX_PATTERNS];
    int npats;

    int16_t pending[VB_CPD_BLOCK];
    int pending_len;
    int64_t position;                           /* samples analysed */

    /* The open run, and blocks of another label not yet assigned to a run. */
    int run_label;
    int64_t run_start;
    int64_t run_len;
    int run_reported;
    int glitch_label;
    int glitch_blocks;
    int64_t glitch_len;

    vb_cpd_seg_t history[VB_CPD_HISTORY];       /* finished segments, a ring */
    int history_head;                           /* index of the oldest */
    int history_len;

    vb_cpd_event_t queue[VB_CPD_QUEUE];
    int queue_head;
    int queue_len;
    int64_t events_dropped;

    int allocated;
};

#endif
