/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - dtmf.h: streaming DTMF receiver (ITU-T Q.23 / Q.24).
 */
/*! \page dtmf_rx_page DTMF receiver
\section dtmf_rx_page_sec_1 What does it do?
Finds DTMF digits (0-9 * # A-D, ITU-T Q.23 frequencies) in a stream of 8 kHz linear samples and
reports each one twice: an ON event as soon as the digit is recognised (this is what barge-in
acts on) and an OFF event when it ends, with start and end sample positions, the level of each
tone in dBm0, the twist and the measured frequency offset of each tone.

Default acceptance (Q.24 and the Mitel CM7291 / Bellcore test procedures):
 - frequency: accepts +-(1.5 % + 2 Hz) on either or both tones (and 1 Hz beyond), rejects from
   +-(1.5 % + 4 Hz), well inside the +-3.5 % that must be rejected;
 - twist: accepts the high group up to 9 dB weaker (normal) or 5 dB stronger (reverse);
 - level: -3 to -44 dBm0 per tone;
 - timing: accepts tones of 32 ms and longer, never reports tones of 26 ms or less, separates
   digits by pauses of 14 ms or more and bridges breaks of 12 ms; a held key is one digit;
 - results do not depend on how the stream is cut into blocks.
docs/dtmf.md lists the measured edges and the tests that hold them.

\section dtmf_rx_page_sec_2 How does it work?
The input is cut into hops of 32 samples (4 ms). Each 64-sample window (two hops, Hann taper)
gives one complex DFT value per Q.23 tone; windows overlap by half. Three successive windows,
phase-aligned at the tone frequencies, add up to a 128-sample Tukey window, fine enough to keep
a voice's neighbouring harmonics (~120 Hz apart) out of the tone powers; it costs no
per-sample work. One shared block length cannot give the narrow accept/reject window needed
at 697 Hz and the wide one needed at 1633 Hz, so the receiver does not rely on filter
bandwidth for frequency selectivity: it measures each tone's frequency from the phase advance
of its DFT value between two long windows one hop apart (unambiguous within +-125 Hz) and
applies an explicit window per tone. Energy tests then apply, on powers corrected for the
window's loss at the measured offset: level per tone, twist, and the share of the two tones in
the total energy (the main talk-off guard). A digit is recognised after min_on_ms of steady
energy and ends after min_off_ms without it. The per-sample work is one multiply-add per tone
per overlapping 64-sample window, laid out for 8-wide SIMD (AVX2 + FMA where the processor
has it, 4-wide otherwise).

Operating caveat: a large DC offset counts as non-tone energy and lowers the tone share; remove
DC before the receiver if the source has it.
*/
#ifndef VB_DTMF_H
#define VB_DTMF_H

#include <stdint.h>

/*! Opaque receiver state (layout in vb/private/dtmf.h). */
typedef struct vb_dtmf_rx_state_s vb_dtmf_rx_state_t;

/*! Event kinds. */
enum
{
    VB_DTMF_ON = 1,     /*!< digit recognised (start known, end not yet) */
    VB_DTMF_OFF = 2     /*!< digit ended (start and end known) */
};

/*! Sensitivity presets: talk-off resistance against acceptance margin. */
enum
{
    VB_DTMF_MODE_NORMAL = 0,    /*!< Q.24 acceptance with margin; the default */
    VB_DTMF_MODE_SENSITIVE = 1, /*!< wider twist, lower tone share: weak or distorted lines */
    VB_DTMF_MODE_STRICT = 2     /*!< longer minimum tone, higher tone share: noisy rooms, music */
};

/*! One reported digit. Positions count samples since the receiver was initialised. */
typedef struct
{
    int kind;               /*!< VB_DTMF_ON or VB_DTMF_OFF */
    char digit;             /*!< '0'-'9', '*', '#', 'A'-'D' */
    int64_t start;          /*!< first sample of the tone (+-1 hop = 4 ms) */
    int64_t end;            /*!< first sample after the tone; -1 in ON events */
    float row_dbm0;         /*!< level of the low-group tone, dBm0 */
    float col_dbm0;         /*!< level of the high-group tone, dBm0 */
    float twist_db;         /*!< row minus column level, dB (> 0: high group weaker) */
    float row_offset_hz;    /*!< measured frequency minus nominal, low group, Hz */
    float col_offset_hz;    /*!< measured frequency minus nominal, high group, Hz */
} vb_dtmf_event_t;

/*! Receiver settings. Negative or zero values in a call to vb_dtmf_rx_set_params() keep the
    current value, except where noted. */
typedef struct
{
    float min_level_dbm0;       /*!< weakest tone accepted, dBm0 per tone (e.g. -44) */
    float normal_twist_db;      /*!< largest accepted high-group deficit, dB (> 0) */
    float reverse_twist_db;     /*!< largest accepted high-group excess, dB (> 0) */
    float tone_share_db;        /*!< tones vs total energy, dB (< 0; nearer 0 is stricter) */
    float freq_tolerance_pct;   /*!< frequency window, percent of nominal (> 0) */
    float freq_tolerance_hz;    /*!< added to the percentage, Hz (>= 0) */
    int min_on_ms;              /*!< steady tone needed to recognise a digit, ms */
    int min_off_ms;             /*!< gap needed to end a digit, ms */
} vb_dtmf_rx_params_t;

/*! Statistics since initialisation. */
typedef struct
{
    int64_t samples;            /*!< samples consumed */
    int64_t digits;             /*!< digits recognised */
    int64_t rejected_short;     /*!< candidate tones that ended before min_on_ms */
    int64_t events_dropped;     /*!< events lost because nobody read them (queue full) */
} vb_dtmf_rx_stats_t;

/*! \brief Fill a parameter block with a preset.
    \param p Parameters to fill.
    \param mode VB_DTMF_MODE_NORMAL, _SENSITIVE or _STRICT.
    \return VB_OK, or VB_ERR_INVALID for an unknown mode. */
int vb_dtmf_rx_default_params(vb_dtmf_rx_params_t *p, int mode);

/*! \brief Initialise a receiver (or reset one).
    \param s State to reuse, or NULL to allocate one.
    \param p Settings, or NULL for VB_DTMF_MODE_NORMAL.
    \return The state, or NULL if allocation failed or p is invalid. */
vb_dtmf_rx_state_t *vb_dtmf_rx_init(vb_dtmf_rx_state_t *s, const vb_dtmf_rx_params_t *p);

/*! \brief Change settings without losing the stream position.
    \return VB_OK, or VB_ERR_INVALID (nothing changed). */
int vb_dtmf_rx_set_params(vb_dtmf_rx_state_t *s, const vb_dtmf_rx_params_t *p);

/*! \brief Read the settings in force.  \return VB_OK. */
int vb_dtmf_rx_get_params(const vb_dtmf_rx_state_t *s, vb_dtmf_rx_params_t *p);

/*! \brief Release the internals of a state given by the caller.  \return VB_OK. */
int vb_dtmf_rx_release(vb_dtmf_rx_state_t *s);

/*! \brief Release and free a state allocated by vb_dtmf_rx_init(NULL, ...).  \return VB_OK. */
int vb_dtmf_rx_free(vb_dtmf_rx_state_t *s);

/*! \brief Feed samples.
    \param s The receiver.
    \param amp Linear samples at 8 kHz.
    \param samples How many (any count, 0 included).
    \return The number of samples left unprocessed: always 0. */
int vb_dtmf_rx(vb_dtmf_rx_state_t *s, const int16_t amp[], int samples);

/*! \brief Account for lost audio as silence, keeping positions right.
    \param samples How many samples were lost.
    \return 0. */
int vb_dtmf_rx_fillin(vb_dtmf_rx_state_t *s, int samples);

/*! \brief Take reported events, oldest first.
    \param ev Where to copy them.  \param max Room in ev.
    \return The number copied (0 when none are waiting). */
int vb_dtmf_rx_get(vb_dtmf_rx_state_t *s, vb_dtmf_event_t ev[], int max);

/*! \brief The digit being held now.
    \return Its character, or 0 when no digit is present. */
int vb_dtmf_rx_current(const vb_dtmf_rx_state_t *s);

/*! \brief Read the statistics.  \return VB_OK. */
int vb_dtmf_rx_get_stats(const vb_dtmf_rx_state_t *s, vb_dtmf_rx_stats_t *st);

/*! \brief Bytes needed for a state, for callers that embed receivers in their own storage. */
int vb_dtmf_rx_state_size(void);

#endif
