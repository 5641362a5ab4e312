/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/fsk.h: layouts of the FSK transmitter and receiver.
 * Only code tightly integrated with the core (the channel tick, C tests) should include this.
 */
#ifndef VB_PRIVATE_FSK_H
#define VB_PRIVATE_FSK_H

#include <stdint.h>
#include "vb/fsk.h"

#define VB_FSK_TX_QUEUE 8192    /* bits; a whole on-hook message (< 3200 bits) fits */
#define VB_FSK_MAX_SPAN 32      /* longest correlator: one bit at 300 baud = 27 samples */
#define VB_FSK_RX_QUEUE 256     /* reports kept until read: 2 s of bytes at 1200 baud */

struct vb_fsk_tx_state_s
{
    vb_fsk_spec_t spec;
    float amplitude;            /* peak, 16-bit linear */
    uint32_t phase;             /* tone phase, 2^32 = one cycle */
    uint32_t inc[2];            /* phase step per sample for space [0] and mark [1] */
    int64_t rate_mbaud;         /* bit clock step per sample, milli-baud */
    int64_t bit_clock;          /* 0 <= bit_clock < VB_SAMPLE_RATE*1000: elapsed part of the bit */
    int bit_active;             /* a bit is being sent (cur_bit valid) */
    int cur_bit;
    uint8_t queue[VB_FSK_TX_QUEUE];
    int head;
    int len;
    int allocated;
};

/* Direct-form-I biquad. */
typedef struct
{
    float b0, b1, b2, a1, a2;
    float x1, x2, y1, y2;
} vb_fsk_biquad_t;

struct vb_fsk_rx_state_s
{
    vb_fsk_spec_t spec;
    float min_power;            /* in-band power at min_level_dbm0 */
    float band_gain;            /* mean power gain of the band filter at the two tones */
    double bit_len;             /* samples per bit (6.667 at 1200 baud) */
    int span;                   /* correlator length: one bit, rounded */
    double delay;               /* filter + correlator delay, samples */

    vb_fsk_biquad_t hp;
    vb_fsk_biquad_t lp;
    /* Correlator kernels: cos and sin of each tone over the span, oldest sample first. */
    float kern[4][VB_FSK_MAX_SPAN];
    float hist[2*VB_FSK_MAX_SPAN];  /* filtered samples, doubled so a window is contiguous */
    int hist_pos;

    /* Carrier detection. */
    float in_power;             /* smoothed in-band power */
    float total_power;          /* smoothed total power */
    int carrier;
    int cd_count;               /* samples the opposite condition has held */
    int cd_samples;             /* debounce */

    /* UART. */
    int64_t n;                  /* index of the next sample */
    float prev_d;               /* decision value of the previous sample */
    int in_char;                /* a character is being received */
    int bit_index;              /* 0 start, 1-8 data, 9 stop */
    double next_t;              /* position of the next mid-bit sampling point */
    double edge_t;              /* position of the start-bit edge */
    int shift;

    vb_fsk_report_t queue[VB_FSK_RX_QUEUE];
    int queue_head;
    int queue_len;

    vb_fsk_rx_stats_t stats;
    int allocated;
};

#endif
