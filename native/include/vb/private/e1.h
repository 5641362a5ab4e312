/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/e1.h: layouts of the E1 transmitter and receiver.
 * Only code tightly integrated with the core (C tests) should include this.
 */
#ifndef VB_PRIVATE_E1_H
#define VB_PRIVATE_E1_H

#include <stdint.h>
#include "vb/e1.h"

#define VB_E1_HISTORY 128       /* octets kept while hunting: 3 frames + 1 octet fit */

struct vb_e1_tx_state_s
{
    vb_e1_config_t cfg;
    const vb_e1_rx_state_t *rx;
    uint8_t abcd[VB_E1_CHANNELS];
    int force_rai;
    int frame;                  /* 0-15: position in both multiframes */
    int crc;                    /* remainder being summed over the current sub-multiframe */
    int c_out;                  /* remainder of the previous sub-multiframe: this one's C bits */
    int64_t e_sent;             /* E bits sent at 0 (compared with rx->stats.crc_errors) */
    int allocated;
};

struct vb_e1_rx_state_s
{
    vb_e1_config_t cfg;
    int red_frames;             /* red_ms in frames */
    int interworking_frames;    /* interworking_ms in frames */

    uint8_t hist[VB_E1_HISTORY];
    int64_t pos;                /* index of the next octet */

    /* Line alarms, on the raw octets. */
    int zero_run;               /* zero bits in a row */
    int block_ones;             /* ones in the current 32-octet block */
    int block_zeros;            /* zeros in the current 64-octet block */

    /* Basic frame. */
    int aligned;
    int64_t ts0_pos;            /* stream position of the current frame's TS0 */
    uint8_t frame[VB_E1_TIMESLOTS];
    int have_frame;             /* a frame was completed in the current 32-octet block */
    int fas_next;               /* the current frame should carry the FAS */
    int fas_bad;                /* consecutive FAS errors */
    int nfas_bad;               /* consecutive NFAS bit-2 errors */
    int64_t lof_frames;         /* frame periods without alignment */
    int rai_run;                /* consecutive NFAS frames disagreeing with the RAI state */
    int rai;

    /* CRC-4. */
    int crc_aligned;
    int interworking;
    int64_t crc_search;         /* frame periods since the CRC-4 multiframe search began */
    int64_t crc_since_align;    /* frame periods since basic alignment without a CRC-4 multiframe */
    int mfas_shift;             /* Si of the last 6 NFAS frames */
    int64_t mfas_cand;          /* frame number of the last alignment word seen, -1 none */
    int mf_pos;                 /* 0-15 in the CRC-4 multiframe */
    int crc;
    int crc_prev;               /* remainder of the previous sub-multiframe, -1 none */
    int crc_partial;            /* the current sub-multiframe was not summed from its start */
    int c_recv;
    int win_blocks;             /* 915-of-1000 window */
    int win_errors;

    /* CAS. */
    int cas_aligned;
    int cas_pos;
    int mfas_bad;
    int ts16_zero_run;
    int prev_ts16;
    int ts16_zeros;             /* zero bits of TS16 in the current 16-frame window */
    int ts16_count;
    int ts16_ais;
    int y_run;
    int rmf;
    uint8_t cand[VB_E1_CHANNELS];
    uint8_t cand_count[VB_E1_CHANNELS];

    int los;
    int ais;
    int sa_bits;
    uint8_t abcd[VB_E1_CHANNELS];
    vb_e1_rx_stats_t stats;
    int allocated;
};

#endif
