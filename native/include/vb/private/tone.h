/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/tone.h: layout of the tone and DTMF generator states.
 * Only code tightly integrated with the core (the channel tick, C tests) should include this.
 */
#ifndef VB_PRIVATE_TONE_H
#define VB_PRIVATE_TONE_H

#include <stdint.h>
#include "vb/tone.h"

#define VB_TONE_SLOTS (VB_TONE_QUEUE + 1)  /* the tone playing and the ones waiting */

typedef struct
{
    vb_tone_segment_t seg[VB_TONE_MAX_SEGMENTS];
    int n;
    int first_repeat;                   /* index of the first repeating segment, -1 if none */
} vb_tone_t;

struct vb_tone_tx_state_s
{
    vb_tone_t tones[VB_TONE_SLOTS];     /* ring: tones[head] is playing */
    int head;
    int count;                          /* tones playing or waiting; 0 = idle */

    /* The segment playing (index seg of tones[head]), in samples. */
    int seg;
    int pos;
    int on_len;
    int off_len;
    int sounding;                       /* f1 > 0 and on_len > 0 */
    int ramp_up;                        /* samples moving the amplitude from 'from' to 'to' */
    int ramp_down;                      /* samples ramping 'to' down to 0 at the end of on */
    int decide_at;                      /* pos where the next segment is chosen, -1 = at the end */
    float from[2];                      /* peak amplitudes before ramp_up, 16-bit units */
    float to[2];                        /* steady peak amplitudes */
    int stopping;                       /* the segment is a ramp-down from vb_tone_tx_stop() */

    /* The next segment, once chosen: end, or a segment of this tone or the next one. */
    int decided;
    int next_end;
    int next_tone;
    int next_seg;

    /* Oscillators: 32-bit phase accumulators, 2^32 = one cycle. */
    uint32_t phase[2];
    uint32_t step[2];

    int allocated;
};

struct vb_dtmf_tx_state_s
{
    vb_dtmf_tx_params_t params;
    char queue[VB_DTMF_TX_QUEUE];       /* ring of characters not yet started */
    int queue_head;
    int queue_len;
    vb_tone_tx_state_t tone;            /* plays the current digit or pause */
    int allocated;
};

#endif
