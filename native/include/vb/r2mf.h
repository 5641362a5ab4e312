/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - r2mf.h: MFC-R2 register signalling tones (generator and receiver).
 */
/*! \page r2mf_page MFC-R2 tones
\section r2mf_page_sec_1 What does it do?
Generates and detects the two-out-of-six multifrequency signals of MFC-R2 (ITU-T Q.441,
China No.1): forward signals (groups I and II) use 1380, 1500, 1620, 1740, 1860 and 1980 Hz,
backward signals (groups A and B) 1140, 1020, 900, 780, 660 and 540 Hz. Signal n (1-15) is
the pair of frequencies with indexes (0,1), (0,2), (1,2), (0,3), (1,3), (2,3), (0,4), (1,4),
(2,4), (3,4), (0,5), (1,5), (2,5), (3,5), (4,5) (telephony.md §3.2). China uses only the four
highest backward frequencies, so only backward signals 1-6; the receiver still reports any
of the 15 and the protocol layer decides what is valid.

The generator sends one signal, both tones at level_dbm0 each (default -11 dBm0, the level
spandsp and openr2 send; ⚠ DAHDI's China zone uses -8), until told to stop; compelled
signalling switches tones on and off at the protocol's pace, so the generator has no timer of
its own. Both tones start at phase 0 and stop on the same sample (start/stop skew 0, Q.454
allows 1 ms).

The receiver reports the signal present now (0 for none). It accepts a pair when both tones
are at least min_level_dbm0 (default -36.5 dBm0, spandsp), differ by at most twist_db
(default 7 dB), and every other frequency of the group is at least relative_peak_db (default
11 dB, Asterisk) below the weaker of the two. A change (a new signal, or silence) is reported
only after two consecutive blocks agree.

\section r2mf_page_sec_2 How does it work?
Goertzel filters at the six frequencies over blocks of block_size samples (default 133 =
16.6 ms, spandsp and Asterisk); the power of a tone of amplitude a over N samples is
|X|^2 = (a N / 2)^2, so the level test compares 2 |X|^2 / N^2 with the power of a sine at
min_level_dbm0. Blocks are cut from the stream wherever they fall, so results do not depend
on how the samples are handed over.
*/
#ifndef VB_R2MF_H
#define VB_R2MF_H

#include <stdint.h>

/*! Opaque generator and receiver states (layouts in vb/private/r2mf.h). */
typedef struct vb_r2mf_tx_state_s vb_r2mf_tx_state_t;
typedef struct vb_r2mf_rx_state_s vb_r2mf_rx_state_t;

/*! Signal directions. */
enum
{
    VB_R2MF_FORWARD = 0,    /*!< groups I/II: 1380-1980 Hz */
    VB_R2MF_BACKWARD = 1    /*!< groups A/B: 1140-540 Hz */
};

/*! Receiver settings; vb_r2mf_rx_default_params() fills them in. */
typedef struct
{
    float min_level_dbm0;   /*!< weakest tone accepted, dBm0 per frequency (default -36.5) */
    float twist_db;         /*!< largest level difference of the two tones, dB (default 7) */
    float relative_peak_db; /*!< least margin of the weaker tone over each other frequency, dB (default 11) */
    int block_size;         /*!< Goertzel block, samples (default 133; 80 to 400) */
} vb_r2mf_rx_params_t;

/*! \brief The two frequencies of a signal.
    \param direction VB_R2MF_FORWARD or VB_R2MF_BACKWARD.
    \param signal 1 to 15.
    \param f1 Where to write the first frequency, Hz.  \param f2 Where to write the second.
    \return VB_OK, or VB_ERR_INVALID. */
int vb_r2mf_freqs(int direction, int signal, float *f1, float *f2);

/*! \brief Initialise a generator (or reset one); it starts silent.
    \param s State to reuse, or NULL to allocate one.
    \param direction VB_R2MF_FORWARD or VB_R2MF_BACKWARD.
    \param level_dbm0 Level of each tone, dBm0 (-50 to -3).
    \return The state, or NULL if allocation failed or an argument is out of range. */
vb_r2mf_tx_state_t *vb_r2mf_tx_init(vb_r2mf_tx_state_t *s, int direction, float level_dbm0);

/*! \brief Release the internals of a generator.  \return VB_OK. */
int vb_r2mf_tx_release(vb_r2mf_tx_state_t *s);

/*! \brief Release and free a generator allocated by vb_r2mf_tx_init(NULL, ...).  \return VB_OK. */
int vb_r2mf_tx_free(vb_r2mf_tx_state_t *s);

/*! \brief Start sending a signal from the next sample (both tones from phase 0), or stop.
    \param signal 1 to 15, or 0 to stop.
    \return VB_OK, or VB_ERR_INVALID. */
int vb_r2mf_tx_put(vb_r2mf_tx_state_t *s, int signal);

/*! \brief The signal being sent.  \return 0 (silent) to 15. */
int vb_r2mf_tx_current(const vb_r2mf_tx_state_t *s);

/*! \brief Generate samples: the current signal, or silence (zeros).
    \param amp Where to write 8 kHz linear samples.  \param max_samples How many (>= 0).
    \return max_samples, or VB_ERR_INVALID for a negative count. */
int vb_r2mf_tx(vb_r2mf_tx_state_t *s, int16_t amp[], int max_samples);

/*! \brief Fill in the default receiver settings.  \return VB_OK. */
int vb_r2mf_rx_default_params(vb_r2mf_rx_params_t *p);

/*! \brief Initialise a receiver (or reset one).
    \param s State to reuse, or NULL to allocate one.
    \param direction The signals to receive: VB_R2MF_FORWARD or VB_R2MF_BACKWARD.
    \param p Settings (copied); NULL for the defaults.
    \return The state, or NULL if allocation failed or a setting is out of range. */
vb_r2mf_rx_state_t *vb_r2mf_rx_init(vb_r2mf_rx_state_t *s, int direction, const vb_r2mf_rx_params_t *p);

/*! \brief Release the internals of a receiver.  \return VB_OK. */
int vb_r2mf_rx_release(vb_r2mf_rx_state_t *s);

/*! \brief Release and free a receiver allocated by vb_r2mf_rx_init(NULL, ...).  \return VB_OK. */
int vb_r2mf_rx_free(vb_r2mf_rx_state_t *s);

/*! \brief Feed samples.
    \param amp Linear samples at 8 kHz.  \param samples How many (>= 0).
    \return The number of samples left unprocessed: always 0 (VB_ERR_INVALID if samples < 0). */
int vb_r2mf_rx(vb_r2mf_rx_state_t *s, const int16_t amp[], int samples);

/*! \brief The signal received now.  \return 0 (none) or 1 to 15. */
int vb_r2mf_rx_get(const vb_r2mf_rx_state_t *s);

/*! \brief Changes seen so far (each new signal or end of one).  \return 0 or more. */
int64_t vb_r2mf_rx_changes(const vb_r2mf_rx_state_t *s);

#endif
