/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - chan.h: a board of channels processed one tick at a time.
 */
/*! \page board_page Board tick: play queues, record buffers, DTMF, barge-in and bridges
\section board_page_sec_1 What does it do?
Holds the per-channel media state of one voice board (up to VB_BOARD_MAX_CHANNELS channels)
and processes every channel in one call per tick (VB_BOARD_DEFAULT_TICK = 160 samples = 20 ms
at 8 kHz), so that no sample is touched by Python on the live path. Per channel:
 - a play queue: a whole prompt is handed over once with vb_chan_play() and copied; the tick
   plays the queued prompts out back to back into the channel's transmit samples, silence
   when the queue is empty;
 - a record buffer: while recording, the received samples are appended; it grows as needed
   up to the maximum given to vb_chan_record_start() and the caller drains it with
   vb_chan_record_take();
 - a DTMF receiver (vb/dtmf.h) on the received samples;
 - barge-in: each prompt carries a set of digits; when the receiver recognises one of them
   while that prompt plays, the whole play queue is flushed at the sample where the digit was
   recognised, so the rest of that tick is silence;
 - a full-duplex bridge to another channel of the board: each one's received samples are
   added to the other's transmit samples (with its own play queue output, saturating).
Everything that happens is reported as an event in one board queue (digit on/off, play done
with the reason, record limit), each with the sample position where it happened. The queue
holds VB_BOARD_EVENTS_PER_CHANNEL (vb/private/chan.h) events per channel; when nobody drains
it, newer events are dropped and counted in vb_board_stats_t, so the oldest (the ones a flow
is waiting for) survive.

A board and everything in it belongs to one thread (the board's loop). Audio from real-time
threads reaches it through SPSC rings (vb/ring.h).

\section board_page_sec_2 How does it work?
vb_board_tick() takes the received samples of all channels, channel-major (channel c's tick
at rx[c*tick .. c*tick + tick - 1]), and writes the transmit samples in the same layout. Each
channel's tick is cut at the receiver's 32-sample hop boundaries (VB_DTMF_HOP), the only
places where the receiver can recognise a digit: each piece is played, recorded and fed to
the receiver, and the events it produced are handled before the next piece. Barge-in is
therefore exact to the sample at which the receiver made its decision; the position counts
from the board's creation, the same count as the receiver's digit start and end positions.
After the play-out the bridge partner's received samples are added, clamped to the int16
range.
*/
#ifndef VB_CHAN_H
#define VB_CHAN_H

#include <stdint.h>
#include "vb/dtmf.h"

/*! Opaque board state (layout in vb/private/chan.h). */
typedef struct vb_board_state_s vb_board_state_t;

/*! Most channels on one board: 8 E1 spans of 30 channels (DESIGN.md, scale path) fit. */
#define VB_BOARD_MAX_CHANNELS 256
/*! Default tick: 20 ms at 8 kHz (DESIGN.md rule 2). */
#define VB_BOARD_DEFAULT_TICK 160
/*! Longest tick: 1 s at 8 kHz; longer ticks would delay barge-in and digits beyond use. */
#define VB_BOARD_MAX_TICK 8000

/*! Event kinds. */
enum
{
    VB_EV_DIGIT_ON = 1,     /*!< a digit was recognised (digit, start, levels) */
    VB_EV_DIGIT_OFF = 2,    /*!< a digit ended (digit, start, end, levels) */
    VB_EV_PLAY_DONE = 3,    /*!< a prompt left the play queue (prompt, reason) */
    VB_EV_RECORD_LIMIT = 4  /*!< recording stopped by itself (reason) */
};

/*! Why a prompt left the play queue or a recording stopped. */
enum
{
    VB_REASON_NONE = 0,     /*!< digit events */
    VB_REASON_END = 1,      /*!< the prompt was played to its end */
    VB_REASON_BARGE_IN = 2, /*!< a barge-in digit flushed the queue */
    VB_REASON_FLUSH = 3,    /*!< vb_chan_stop_play() flushed the queue */
    VB_REASON_LIMIT = 4,    /*!< the recording reached its maximum length */
    VB_REASON_NOMEM = 5     /*!< the record buffer could not grow */
};

/*! One board event. */
typedef struct
{
    int kind;           /*!< VB_EV_* */
    int channel;        /*!< 0 .. channels - 1 */
    char digit;         /*!< digit events: '0'-'9', '*', '#', 'A'-'D'; otherwise 0 */
    int reason;         /*!< VB_REASON_* */
    int prompt;         /*!< PLAY_DONE: the id vb_chan_play() returned; otherwise 0 */
    int64_t pos;        /*!< sample at which it happened (digit events: where the receiver
                             decided; PLAY_DONE: first sample not played; RECORD_LIMIT: first
                             sample not recorded), counted from the board's creation */
    int64_t start;      /*!< digit events: first sample of the tone; otherwise -1 */
    int64_t end;        /*!< DIGIT_OFF: first sample after the tone; otherwise -1 */
    float row_dbm0;     /*!< digit events: low-group tone level, dBm0 */
    float col_dbm0;     /*!< digit events: high-group tone level, dBm0 */
    float twist_db;     /*!< digit events: row minus column level, dB */
} vb_board_event_t;

/*! Board counters. */
typedef struct
{
    int64_t ticks;          /*!< calls of vb_board_tick() */
    int64_t events_dropped; /*!< events lost because the queue was full */
} vb_board_stats_t;

/*! \brief Initialise a board (or reset one, which frees its prompts and recordings).
    \param s Zero-filled storage, a board from an earlier init to reset, or NULL to allocate.
    \param channels 1 to VB_BOARD_MAX_CHANNELS.
    \param tick Samples per tick per channel, 1 to VB_BOARD_MAX_TICK (160 = 20 ms).
    \param dtmf Receiver settings for every channel, or NULL for VB_DTMF_MODE_NORMAL.
    \return The board, or NULL if an argument is invalid or allocation failed. */
vb_board_state_t *vb_board_init(vb_board_state_t *s, int channels, int tick, const vb_dtmf_rx_params_t *dtmf);

/*! \brief Free the channels, queued prompts and record buffers.  \return VB_OK. */
int vb_board_release(vb_board_state_t *s);

/*! \brief Release and free a board allocated by vb_board_init(NULL, ...).  \return VB_OK. */
int vb_board_free(vb_board_state_t *s);

/*! \brief Process one tick of every channel.
    \param s The board.
    \param rx Received samples, channels x tick, channel-major.
    \param tx Where to write the transmit samples, same layout (must not overlap rx).
    \return The number of events waiting in the board queue, or VB_ERR_INVALID for a NULL
            buffer. */
int vb_board_tick(vb_board_state_t *s, const int16_t rx[], int16_t tx[]);

/*! \brief Take events, oldest first.
    \param ev Where to copy them.  \param max Room in ev.
    \return The number copied (0 when none are waiting), or VB_ERR_INVALID if max < 0. */
int vb_board_get_events(vb_board_state_t *s, vb_board_event_t ev[], int max);

/*! \brief Connect two channels full duplex: each one's received samples go out on the other.
    \param a A channel.  \param b Another channel.
    \return VB_OK (also if they are already bridged to each other), VB_ERR_INVALID for a
            channel out of range or a == b, VB_ERR_STATE if either is bridged elsewhere. */
int vb_board_bridge(vb_board_state_t *s, int a, int b);

/*! \brief Disconnect a channel from its bridge partner (both directions).
    \return The partner's index, VB_ERR_INVALID for a channel out of range, or VB_ERR_STATE if
            the channel is not bridged. */
int vb_board_unbridge(vb_board_state_t *s, int ch);

/*! \brief The bridge partner of a channel.
    \return The partner's index, or VB_ERR_STATE if not bridged, VB_ERR_INVALID out of range. */
int vb_board_partner(const vb_board_state_t *s, int ch);

/*! \brief Samples per tick per channel.  \return tick as given to vb_board_init(). */
int vb_board_tick_size(const vb_board_state_t *s);

/*! \brief Channels on the board.  \return channels as given to vb_board_init(). */
int vb_board_channels(const vb_board_state_t *s);

/*! \brief Samples processed per channel since the board was created (ticks x tick). */
int64_t vb_board_position(const vb_board_state_t *s);

/*! \brief Read the board counters.  \return VB_OK. */
int vb_board_get_stats(const vb_board_state_t *s, vb_board_stats_t *st);

/*! \brief The barge-in set for a string of digits.
    \param digits Characters of "0123456789*#ABCD" (lower-case a-d too); "" for none.
    \return The set as a bit mask (>= 0), or VB_ERR_INVALID for any other character. */
int vb_chan_digit_mask(const char *digits);

/*! \brief Queue a prompt; it is copied, so the caller's buffer may be reused at once.
    \param s The board.  \param ch The channel.
    \param amp Linear samples at 8 kHz.
    \param samples How many (0 or more; an empty prompt ends at the next tick).
    \param barge_in Digits that flush the queue while this prompt plays (vb_chan_digit_mask()).
    \return The prompt's id (> 0, reported again in its PLAY_DONE event), VB_ERR_INVALID for a
            bad channel, count or mask, or VB_ERR_NOMEM. */
int vb_chan_play(vb_board_state_t *s, int ch, const int16_t amp[], int samples, int barge_in);

/*! \brief Flush the play queue now; each prompt gets a PLAY_DONE event with VB_REASON_FLUSH.
    \return The number of prompts flushed (0 if none), or VB_ERR_INVALID for a bad channel. */
int vb_chan_stop_play(vb_board_state_t *s, int ch);

/*! \brief Samples still to play on a channel, all queued prompts together.
    \return The count (>= 0), or VB_ERR_INVALID for a bad channel. */
int64_t vb_chan_play_queued(const vb_board_state_t *s, int ch);

/*! \brief Start recording the received samples (from the next tick), dropping any recorded
    audio not yet taken.
    \param max_samples Length at which recording stops by itself with a RECORD_LIMIT event
           (VB_REASON_LIMIT), in samples (> 0).
    \return VB_OK, or VB_ERR_INVALID for a bad channel or max_samples. */
int vb_chan_record_start(vb_board_state_t *s, int ch, int max_samples);

/*! \brief Stop recording; the recorded samples stay until taken.
    \return VB_OK, or VB_ERR_INVALID for a bad channel. */
int vb_chan_record_stop(vb_board_state_t *s, int ch);

/*! \brief Whether a channel is recording.
    \return 1 or 0, or VB_ERR_INVALID for a bad channel. */
int vb_chan_recording(const vb_board_state_t *s, int ch);

/*! \brief Recorded samples waiting to be taken.
    \return The count (>= 0), or VB_ERR_INVALID for a bad channel. */
int vb_chan_record_len(const vb_board_state_t *s, int ch);

/*! \brief Take recorded samples, oldest first.
    \param amp Where to copy them.  \param max Room in amp, in samples (>= 0).
    \return The number copied, or VB_ERR_INVALID for a bad channel or max < 0. */
int vb_chan_record_take(vb_board_state_t *s, int ch, int16_t amp[], int max);

/*! \brief Change a channel's DTMF receiver settings, keeping its stream position.
    \return VB_OK, or VB_ERR_INVALID (nothing changed). */
int vb_chan_set_dtmf_params(vb_board_state_t *s, int ch, const vb_dtmf_rx_params_t *p);

/*! \brief Read a channel's DTMF receiver statistics.
    \return VB_OK, or VB_ERR_INVALID for a bad channel. */
int vb_chan_get_dtmf_stats(const vb_board_state_t *s, int ch, vb_dtmf_rx_stats_t *st);

#endif
