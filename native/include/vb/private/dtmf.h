/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/dtmf.h: layout of the DTMF receiver state.
 * Only code tightly integrated with the core (the channel tick, C tests) should include this.
 */
#ifndef VB_PRIVATE_DTMF_H
#define VB_PRIVATE_DTMF_H

#include <stdint.h>
#include "vb/dtmf.h"

#define VB_DTMF_HOP 32          /* samples per hop: 4 ms */
#define VB_DTMF_TONES 8         /* 4 row (low group) + 4 column (high group) tones */
#define VB_DTMF_QUEUE 32        /* events kept until read */
#define VB_DTMF_LEAD_HOPS 5     /* hops looked back at to place the start of a tone */

struct vb_dtmf_rx_state_s
{
    vb_dtmf_rx_params_t params;

    /* Thresholds derived from params (linear power, 16-bit units squared). */
    float min_power;
    float normal_twist;
    float reverse_twist;
    float tone_share;
    float tan_window[VB_DTMF_TONES];
    float min_gain;                     /* window power gain at the widest accepted offset */    /* tangent of the largest accepted phase error per hop */
    int on_hops;
    int off_hops;

    /* Stream position and the part of a hop not yet analysed. */
    int64_t hop;                        /* index of the next hop to analyse */
    int16_t pending[VB_DTMF_HOP];
    int pending_len;

    /* Spectral history: first half of the 64-sample window that began at the last hop, the
       last two complete 64-sample windows, the last 128-sample (combined) window, and the
       energies of the last three hops (oldest first). */
    float half_re[VB_DTMF_TONES];
    float half_im[VB_DTMF_TONES];
    float w1_re[VB_DTMF_TONES];
    float w1_im[VB_DTMF_TONES];
    float w2_re[VB_DTMF_TONES];
    float w2_im[VB_DTMF_TONES];
    float long_re[VB_DTMF_TONES];
    float long_im[VB_DTMF_TONES];
    float hop_energy[3];
    float recent_energy[VB_DTMF_LEAD_HOPS];  /* energies of the last hops, oldest first */

    /* Candidate digit, not yet recognised. */
    char cand;
    int cand_steady;
    int cand_misses;
    float cand_peak;
    int64_t cand_start;                 /* first sample of the first lead hop */
    float cand_lead[VB_DTMF_LEAD_HOPS]; /* energies of the hop of the first hit and those before */

    /* Recognised digit being held. */
    char digit;
    int off_hops_seen;
    int64_t start;
    int64_t steady_end;
    float peak;
    double row_power_sum;
    double col_power_sum;
    int level_hops;
    double row_phase_re, row_phase_im;
    double col_phase_re, col_phase_im;

    /* Per-hop results of the analysis, kept for the digit being held. */
    int hop_row;
    int hop_col;
    float hop_row_power;
    float hop_col_power;
    float hop_row_re, hop_row_im;
    float hop_col_re, hop_col_im;

    vb_dtmf_event_t queue[VB_DTMF_QUEUE];
    int queue_head;
    int queue_len;

    vb_dtmf_rx_stats_t stats;
    int allocated;
};

#endif
