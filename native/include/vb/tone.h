/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - tone.h: cadenced tone generator and DTMF generator.
 */
/*! \page tone_tx_page Tone generator and DTMF generator
\section tone_tx_page_sec_1 What does it do?
Generates call-progress tones (dial, busy, ringback, congestion, SIT, ...) and DTMF digit strings
as 8 kHz 16-bit linear samples, a block at a time, with levels in dBm0.

A tone is a list of segments. Each segment sounds one or two frequencies (each at its own level)
for an on-time, then is silent for an off-time. This covers the `f1[+f2]/on,0/off` notation of
telephony.md 4.1: `450/350,0/350` is one segment {450 Hz, on 350 ms, off 350 ms}; a `0/ms`
element is a segment with f1 = 0 (silent on-time). Segments flagged repeat form the cycle that
loops for ever, starting at the first such segment; segments before it play once. A tone with no
repeating segment ends after its last one.

Output quality:
 - frequency: a 32-bit phase accumulator per frequency, resolution 8000/2^32 Hz;
 - level: a 1024-point sine table with linear interpolation (error below 5e-6 of full scale),
   so a tone is within 0.01 dB of its dBm0 level (0 dBm0 = VB_DBM0_RMS);
 - timing: sample exact; the envelope of a segment is non-zero for exactly its on-time;
 - edges: raised-cosine ramps of VB_TONE_RAMP_MS (2 ms) inside the on-time at every edge
   from or to silence, so the half-amplitude width of a burst is on-time - 2 ms. A burst
   switched on and off abruptly has sin(x)/x side lobes falling at only 6 dB/octave; with the
   ramps, the energy of a 350 ms 450 Hz burst (cn busy) more than 1 kHz from the tone is 72 dB
   below the burst (49 dB for an abrupt burst) and more than 500 Hz away 54 dB below (43 dB),
   measured by tests/test_tone_gen.py. An on-time shorter than two ramps uses half of it per
   ramp.
 - continuity: frequencies keep their phase across blocks and across segments. When a segment
   follows another without silence between them the output is not ramped down and up:
   a frequency that changes switches with continuous phase and a level that changes moves
   along a raised-cosine ramp, so the waveform has no step.

The DTMF generator queues digit strings (0-9 * # A-D, ITU-T Q.23 frequencies, and ',' for a
pause) and plays each digit as a one-segment tone with the row (low group) and column (high
group) tone at their own levels, which sets the twist.

\section tone_tx_page_sec_2 How does it work?
vb_tone_tx_put() queues a tone; up to VB_TONE_QUEUE tones wait behind the one playing. A
queued tone starts when the tone before it ends; a repeating tone ends at the end of its current
cycle once another tone waits (decided when the last segment of the cycle reaches its final
ramp, so the join is always clean). vb_tone_tx_stop() ends the tone playing with a ramp-down and
drops the queue. vb_tone_tx() writes samples until the request is met or nothing is left to
play; it returns the count, so a short count means the queue ran empty.
*/
#ifndef VB_TONE_H
#define VB_TONE_H

#include <stdint.h>

/*! Length of the raised-cosine ramp at each edge from or to silence, ms. */
#define VB_TONE_RAMP_MS 2
/*! Most segments in one tone (the longest table entry, de call waiting, has 10). */
#define VB_TONE_MAX_SEGMENTS 32
/*! Tones that can wait behind the one playing. */
#define VB_TONE_QUEUE 4
/*! Room for queued DTMF characters, the terminating NUL excluded. */
#define VB_DTMF_TX_QUEUE 128

/*! Opaque tone generator state (layout in vb/private/tone.h). */
typedef struct vb_tone_tx_state_s vb_tone_tx_state_t;
/*! Opaque DTMF generator state (layout in vb/private/tone.h). */
typedef struct vb_dtmf_tx_state_s vb_dtmf_tx_state_t;

/*! One segment of a tone. */
typedef struct
{
    float f1_hz;            /*!< first frequency, Hz (0 < f < 4000); 0 makes the on-time silent */
    float f2_hz;            /*!< second frequency, Hz; 0 for a single tone */
    float level1_dbm0;      /*!< level of f1, dBm0 */
    float level2_dbm0;      /*!< level of f2, dBm0 */
    int on_ms;              /*!< time the frequencies sound, ms (>= 0) */
    int off_ms;             /*!< silence after them, ms (>= 0); on_ms + off_ms > 0 */
    int repeat;             /*!< nonzero: part of the cycle that repeats */
} vb_tone_segment_t;

/*! DTMF generator settings. */
typedef struct
{
    float row_dbm0;         /*!< level of the low-group (row) tone, dBm0 */
    float col_dbm0;         /*!< level of the high-group (column) tone, dBm0 */
    int on_ms;              /*!< tone time per digit, ms (> 0) */
    int off_ms;             /*!< silence after each digit, ms (>= 0) */
    int pause_ms;           /*!< silence for a ',' in the digit string, ms (>= 0) */
} vb_dtmf_tx_params_t;

/*! \brief Initialise a tone generator (or reset one): nothing queued, phases at zero.
    \param s State to reuse, or NULL to allocate one.
    \return The state, or NULL if allocation failed. */
vb_tone_tx_state_t *vb_tone_tx_init(vb_tone_tx_state_t *s);

/*! \brief Release the internals of a state given by the caller.  \return VB_OK. */
int vb_tone_tx_release(vb_tone_tx_state_t *s);

/*! \brief Release and free a state allocated by vb_tone_tx_init(NULL).  \return VB_OK. */
int vb_tone_tx_free(vb_tone_tx_state_t *s);

/*! \brief Queue a tone behind the ones already queued.
    \param s The generator.
    \param seg The segments, in playing order.
    \param n How many (1 to VB_TONE_MAX_SEGMENTS).
    \return VB_OK; VB_ERR_INVALID (nothing queued) if n is out of range, a frequency is negative
            or not below 4000 Hz, a duration is negative, a segment lasts 0 ms, a segment
            played once follows a repeating one, or the two levels together would exceed
            16-bit full scale; VB_ERR_FULL if VB_TONE_QUEUE tones already wait. */
int vb_tone_tx_put(vb_tone_tx_state_t *s, const vb_tone_segment_t seg[], int n);

/*! \brief End the tone playing with a ramp-down of VB_TONE_RAMP_MS and drop the queued ones.
    \return VB_OK. */
int vb_tone_tx_stop(vb_tone_tx_state_t *s);

/*! \brief Generate samples.
    \param s The generator.
    \param amp Where to write 8 kHz linear samples.
    \param max_samples Room in amp.
    \return The number of samples written: max_samples, or fewer when the last queued tone ended
            (0 when nothing is queued or max_samples <= 0). */
int vb_tone_tx(vb_tone_tx_state_t *s, int16_t amp[], int max_samples);

/*! \brief Whether a tone is playing or queued.
    \return 1 if vb_tone_tx() would write samples now, 0 otherwise. */
int vb_tone_tx_active(const vb_tone_tx_state_t *s);

/*! \brief Bytes needed for a tone generator state, for callers that embed it. */
int vb_tone_tx_state_size(void);

/*! \brief Fill a parameter block with the defaults: -10 dBm0 per tone, 50 ms on, 50 ms off,
           2000 ms pause.
    \return VB_OK. */
int vb_dtmf_tx_default_params(vb_dtmf_tx_params_t *p);

/*! \brief Initialise a DTMF generator (or reset one): empty digit queue.
    \param s State to reuse, or NULL to allocate one.
    \param p Settings, or NULL for the defaults.
    \return The state, or NULL if allocation failed or p is invalid (a level above +3 dBm0,
            levels that together exceed full scale, on_ms <= 0, off_ms or pause_ms < 0). */
vb_dtmf_tx_state_t *vb_dtmf_tx_init(vb_dtmf_tx_state_t *s, const vb_dtmf_tx_params_t *p);

/*! \brief Change settings; digits queued from now on use them.
    \return VB_OK, or VB_ERR_INVALID (nothing changed) for settings vb_dtmf_tx_init() rejects. */
int vb_dtmf_tx_set_params(vb_dtmf_tx_state_t *s, const vb_dtmf_tx_params_t *p);

/*! \brief Release the internals of a state given by the caller.  \return VB_OK. */
int vb_dtmf_tx_release(vb_dtmf_tx_state_t *s);

/*! \brief Release and free a state allocated by vb_dtmf_tx_init(NULL, ...).  \return VB_OK. */
int vb_dtmf_tx_free(vb_dtmf_tx_state_t *s);

/*! \brief Queue digits to send. The whole string is queued or none of it.
    \param s The generator.
    \param digits NUL-terminated: '0'-'9', '*', '#', 'A'-'D' (or 'a'-'d'), ',' for a pause.
    \return The number of characters queued (0 for ""), VB_ERR_INVALID (nothing queued) for
            any other character, VB_ERR_FULL (nothing queued) if they do not all fit in
            the VB_DTMF_TX_QUEUE characters of room left. */
int vb_dtmf_tx_put(vb_dtmf_tx_state_t *s, const char *digits);

/*! \brief Generate the queued digits.
    \param s The generator.
    \param amp Where to write 8 kHz linear samples.
    \param max_samples Room in amp.
    \return The number of samples written: max_samples, or fewer when the queue ran empty
            (0 when nothing is queued or max_samples <= 0). */
int vb_dtmf_tx(vb_dtmf_tx_state_t *s, int16_t amp[], int max_samples);

/*! \brief Characters queued and not yet started (the one playing excluded).  \return The count. */
int vb_dtmf_tx_pending(const vb_dtmf_tx_state_t *s);

/*! \brief Bytes needed for a DTMF generator state, for callers that embed it. */
int vb_dtmf_tx_state_size(void);

#endif
