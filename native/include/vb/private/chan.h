/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - private/chan.h: layout of the board and channel states.
 * Only code tightly integrated with the core (drivers in C, C tests) should include this.
 */
#ifndef VB_PRIVATE_CHAN_H
#define VB_PRIVATE_CHAN_H

#include <stdint.h>
#include "vb/chan.h"
#include "vb/private/dtmf.h"

/* Room in the board event queue per channel. A tick makes a few events per channel at most
   (a digit edge, a prompt ending), so this holds many ticks' worth if a drain is late. */
#define VB_BOARD_EVENTS_PER_CHANNEL 64

/* First size of a record buffer: 1 s at 8 kHz; it doubles from there up to the maximum. */
#define VB_CHAN_RECORD_FIRST 8000

/* One queued prompt, samples stored behind the header. */
typedef struct vb_prompt_s
{
    struct vb_prompt_s *next;
    int id;
    int barge_in;       /* digit mask (vb_chan_digit_mask()) */
    int len;            /* samples */
    int played;         /* samples already sent */
    int16_t amp[];
} vb_prompt_t;

typedef struct
{
    vb_dtmf_rx_state_t dtmf;

    vb_prompt_t *head;          /* playing now */
    vb_prompt_t *tail;          /* queued last */
    int64_t queued;             /* samples left in the queue */
    int last_id;

    int recording;
    int record_max;             /* samples per recording */
    int record_count;           /* samples recorded since vb_chan_record_start() */
    int16_t *record;            /* samples not yet taken */
    int record_len;
    int record_cap;

    int partner;                /* bridge partner, or -1 */
} vb_chan_t;

struct vb_board_state_s
{
    int channels;
    int tick;
    int64_t pos;                /* samples per channel since creation */
    vb_chan_t *chan;

    vb_board_event_t *events;   /* ring of events_cap */
    int events_cap;
    int events_head;
    int events_len;

    vb_board_stats_t stats;
    int allocated;
};

#endif
