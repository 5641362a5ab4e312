/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - cpd.h: call-progress detector (dial, busy, ringback, congestion,
 * SIT, ... from a region's tone table; silence; voice).
 */
/*! \page cpd_page Call-progress detector
\section cpd_page_sec_1 What does it do?
Listens to the far end of a call (8 kHz linear samples, streaming) and reports:
 - a cadenced tone (busy, ringback, congestion, SIT, call waiting, ...) once its on/off times
   have matched the tone's cadence for the configured number of cycles, each time within
   +-jitter_pct of nominal plus slack_ms (block granularity). cn busy (450 Hz 350/350) and cn
   congestion (450 Hz 700/700) share their frequency and differ only in cadence; with the
   default 10 % jitter (telephony.md 4.1: timing +-10 %) and 20 ms slack the windows are
   295-405 ms and 610-790 ms, so they cannot be confused;
 - a continuous tone (dial tone) once it has lasted continuous_ms;
 - silence once it has lasted silence_ms (once per silent stretch, so also in the off-time of
   a slow cadence such as cn ringback's 4 s);
 - voice: energy that is no known tone, once it has lasted voice_ms (answer detection).
Each report carries the sample position where it was decided and the position where the
matched signal began. The tones to watch are given as patterns (vb_cpd_add_pattern()), normally
built from the region tables in voiceboard/data/tones.yaml. Reports do not depend on how the
stream is cut into calls.

Frequencies are checked, unlike Asterisk's energy-only busy detector (telephony.md 4.4), so a
DTMF string or speech sent with a busy-like rhythm is not busy tone.

\section cpd_page_sec_2 How does it work?
The stream is cut into blocks of VB_CPD_BLOCK samples (20 ms). For each block it computes the
mean power and, by the Goertzel algorithm, the power at every frequency any pattern uses (a
rectangular 20 ms window: 50 Hz between nulls, so a tone 22 Hz off nominal loses 3 dB and 350,
400, 440, 450 and 480 Hz stay apart). A block is:
 - silence if its power is below silence_dbm0;
 - tone "set" if every frequency of one pattern element's set (one or two frequencies) is at
   least min_tone_dbm0, the two differ by no more than max_twist_db, and together they carry at
   least tone_share_db of the block's power; when several sets qualify the one carrying the most
   power wins;
 - other energy otherwise.
Equal consecutive labels are run-length encoded into segments. A single block of a new label
(a block that straddles an edge can take any label; a dropout inside a tone) is held back: it
rejoins the run if the run's label returns, and is split half and half between its neighbours
if a third label follows, so edges are placed to within half a block and nothing shorter than
two blocks (40 ms) forms a segment. Each finished segment is appended to a history and every
cadenced pattern is compared with the newest segments (any rotation of a repeating pattern).
A pattern reports once, then stays quiet while its cadence keeps matching.
*/
#ifndef VB_CPD_H
#define VB_CPD_H

#include <stdint.h>

/*! Samples per analysis block: 20 ms at 8 kHz. */
#define VB_CPD_BLOCK 160
/*! Most patterns per detector. */
#define VB_CPD_MAX_PATTERNS 16
/*! Most elements in one pattern cycle. */
#define VB_CPD_MAX_ELEMENTS 32
/*! Most distinct frequencies over all patterns. */
#define VB_CPD_MAX_FREQS 16
/*! Segments kept for matching: cycles x elements of a pattern may not exceed it. */
#define VB_CPD_HISTORY 64
/*! Events kept until read; one block yields at most (patterns + 1) events. */
#define VB_CPD_QUEUE 32

/*! Opaque detector state (layout in vb/private/cpd.h). */
typedef struct vb_cpd_state_s vb_cpd_state_t;

/*! Event kinds. */
enum
{
    VB_CPD_TONE = 1,        /*!< a pattern matched; vb_cpd_event_t.pattern says which */
    VB_CPD_SILENCE = 2,     /*!< silence lasted silence_ms */
    VB_CPD_VOICE = 3        /*!< non-tone energy lasted voice_ms */
};

/*! One report. Positions count samples since the detector was initialised. */
typedef struct
{
    int kind;               /*!< VB_CPD_TONE, VB_CPD_SILENCE or VB_CPD_VOICE */
    int pattern;            /*!< index returned by vb_cpd_add_pattern() (VB_CPD_TONE), else -1 */
    int64_t start;          /*!< first sample of the matched signal (to within half a block) */
    int64_t position;       /*!< sample where the detector decided (end of a block) */
} vb_cpd_event_t;

/*! One element of a cadence: a tone set sounding, or silence, for a time. */
typedef struct
{
    float f1_hz;            /*!< 0 for silence */
    float f2_hz;            /*!< second frequency of a pair, 0 for a single tone */
    int ms;                 /*!< nominal duration, ms; 0 only in a continuous pattern */
} vb_cpd_element_t;

/*! A tone to watch for. A continuous tone is one tone element with ms = 0. Otherwise adjacent
    elements must differ (a tone set differs from another set and from silence). */
typedef struct
{
    int n;                  /*!< elements in one cycle, 1 to VB_CPD_MAX_ELEMENTS */
    int cycles;             /*!< cycles to match before reporting, >= 1 */
    int cyclic;             /*!< 1: the cycle repeats and may be matched from any element;
                                 0: played once, matched from its first element */
    vb_cpd_element_t e[VB_CPD_MAX_ELEMENTS];
} vb_cpd_pattern_t;

/*! Detector settings. */
typedef struct
{
    float min_tone_dbm0;    /*!< weakest tone accepted, dBm0 per frequency */
    float silence_dbm0;     /*!< blocks with less total power are silence, dBm0 */
    float tone_share_db;    /*!< least share of the block's power in the tone set, dB (< 0) */
    float max_twist_db;     /*!< largest level difference within a pair, dB (> 0) */
    float jitter_pct;       /*!< cadence tolerance, percent of each nominal time (>= 0) */
    int slack_ms;           /*!< added to the cadence tolerance, ms (>= 0) */
    int continuous_ms;      /*!< a continuous tone is reported after this long, ms (> 0) */
    int silence_ms;         /*!< silence is reported after this long, ms (> 0) */
    int voice_ms;           /*!< other energy is reported as voice after this long, ms (> 0) */
} vb_cpd_params_t;

/*! \brief Fill a parameter block with the defaults (see cpd.c for the source of each).
    \return VB_OK. */
int vb_cpd_default_params(vb_cpd_params_t *p);

/*! \brief Initialise a detector (or reset one) with no patterns.
    \param s State to reuse, or NULL to allocate one.
    \param p Settings, or NULL for the defaults.
    \return The state, or NULL if allocation failed or p is invalid (silence_dbm0 or
            min_tone_dbm0 outside -80..+3, tone_share_db not in -20..0, max_twist_db <= 0,
            jitter_pct outside 0..50, slack_ms < 0, a duration <= 0). */
vb_cpd_state_t *vb_cpd_init(vb_cpd_state_t *s, const vb_cpd_params_t *p);

/*! \brief Add a tone to watch for. Only before the first sample is fed.
    \param s The detector.
    \param pat The pattern (copied).
    \return Its index (0, 1, ... in order of addition), reported in events; VB_ERR_INVALID
            (nothing added) for a malformed pattern: n or cycles out of range, cycles x n above
            VB_CPD_HISTORY, a frequency outside 0..4000 Hz, a negative duration, a zero
            duration outside a continuous pattern, equal adjacent elements; VB_ERR_FULL if
            VB_CPD_MAX_PATTERNS patterns or VB_CPD_MAX_FREQS frequencies would be exceeded;
            VB_ERR_STATE once samples have been fed. */
int vb_cpd_add_pattern(vb_cpd_state_t *s, const vb_cpd_pattern_t *pat);

/*! \brief Release the internals of a state given by the caller.  \return VB_OK. */
int vb_cpd_release(vb_cpd_state_t *s);

/*! \brief Release and free a state allocated by vb_cpd_init(NULL, ...).  \return VB_OK. */
int vb_cpd_free(vb_cpd_state_t *s);

/*! \brief Feed samples.
    \param s The detector.
    \param amp Linear samples at 8 kHz.
    \param samples How many (any count, 0 included).
    \return The number of samples left unprocessed: always 0. */
int vb_cpd_rx(vb_cpd_state_t *s, const int16_t amp[], int samples);

/*! \brief Take reported events, oldest first.
    \param ev Where to copy them.  \param max Room in ev.
    \return The number copied (0 when none are waiting). */
int vb_cpd_get(vb_cpd_state_t *s, vb_cpd_event_t ev[], int max);

/*! \brief Events lost because nobody read them.  \return The count since initialisation. */
int64_t vb_cpd_events_dropped(const vb_cpd_state_t *s);

/*! \brief Bytes needed for a state, for callers that embed detectors in their own storage. */
int vb_cpd_state_size(void);

#endif
