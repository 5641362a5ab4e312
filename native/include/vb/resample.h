/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - resample.h: streaming polyphase sample-rate converter.
 */
/*! \page resample_page Sample-rate converter
\section resample_page_sec_1 What does it do?
Converts a stream of 16-bit linear samples from one rate to another whose ratio is rational
(8000 <-> 11025, 16000, 22050, 32000, 44100, 48000, 96000 and any other pair whose reduced
ratio L/M keeps the filter within VB_RESAMPLE_MAX_COEFFS). It sits at the sound-card and file
edges of the product; the DSP core itself always runs at VB_SAMPLE_RATE.

Limits (measured by tests/test_resample.py):
 - pass band flat to 0.85 x the lower Nyquist frequency (3400 Hz when one side is 8 kHz, the
   top of the G.712 telephone channel), ripple well under 0.05 dB;
 - stop band from the lower Nyquist frequency up, at least 70 dB down (designed for 80 dB),
   so nothing folds back into the band when decimating and no image leaks out when
   interpolating;
 - zero delay: output sample n is the input signal at time n / rate_out; a whole stream of N
   input samples gives ceil(N * rate_out / rate_in) output samples after vb_resample_flush();
 - output does not depend on how the input is cut into blocks;
 - int16 in and out; the output saturates at -32768 / 32767.

\section resample_page_sec_2 How does it work?
The ratio is reduced to L/M. Conceptually the input is raised L times by inserting zeros,
low-pass filtered at the upsampled rate, and every M-th sample kept. The filter is a
windowed sinc with a Kaiser window (beta and length from Kaiser's design formulas, ISCAS
1974), cut at the middle of the transition band between the pass-band and stop-band edges
above, and stored as L phases of K taps each, so one output costs K multiply-adds at the
input rate: output n uses phase (n*M) mod L against the K input samples ending at
floor(n*M/L) + (K-1)/2. The filter is computed by vb_resample_init() and belongs to the state:
there is no shared table. When both rates are equal the converter copies samples.
*/
#ifndef VB_RESAMPLE_H
#define VB_RESAMPLE_H

#include <stdint.h>

/*! Opaque converter state (layout in vb/private/resample.h). */
typedef struct vb_resample_state_s vb_resample_state_t;

/*! Lowest and highest rate accepted, samples per second. */
#define VB_RESAMPLE_MIN_RATE 1000
#define VB_RESAMPLE_MAX_RATE 384000
/*! Largest filter (L phases x K taps) a state may hold: 8 MB of floats. */
#define VB_RESAMPLE_MAX_COEFFS (1 << 21)

/*! \brief Initialise a converter.
    \param s Storage for the state (overwritten: call vb_resample_release() first if it held a
             converter), or NULL to allocate one.
    \param rate_in Input rate, samples per second (VB_RESAMPLE_MIN_RATE to _MAX_RATE).
    \param rate_out Output rate, samples per second (same range).
    \return The state, or NULL if a rate is out of range, the reduced ratio needs a filter
            larger than VB_RESAMPLE_MAX_COEFFS, or allocation failed (nothing is left
            allocated). */
vb_resample_state_t *vb_resample_init(vb_resample_state_t *s, int rate_in, int rate_out);

/*! \brief Release the filter and history of a state (the struct itself stays).
    \return VB_OK. */
int vb_resample_release(vb_resample_state_t *s);

/*! \brief Release and free a state allocated by vb_resample_init(NULL, ...).
    \return VB_OK (also for NULL). */
int vb_resample_free(vb_resample_state_t *s);

/*! \brief How many output samples the next vb_resample() call can produce at most.
    \param samples Input samples that call will be given (>= 0).
    \return The exact count vb_resample() will write for that many samples, or VB_ERR_INVALID
            for a negative count. */
int vb_resample_max_out(const vb_resample_state_t *s, int samples);

/*! \brief Convert a block of samples.
    \param s The converter.
    \param in Input samples at rate_in.
    \param samples How many (0 allowed).
    \param out Where to write output samples at rate_out.
    \param max_out Room in out, samples.
    \return The number of samples written, VB_ERR_FULL if max_out is smaller than
            vb_resample_max_out(s, samples) (nothing is consumed), or VB_ERR_INVALID for a
            negative count. */
int vb_resample(vb_resample_state_t *s, const int16_t in[], int samples, int16_t out[], int max_out);

/*! \brief How many samples vb_resample_flush() will write now.
    \return The count (>= 0). */
int vb_resample_pending(const vb_resample_state_t *s);

/*! \brief End the stream: write the output samples still owed for the input given so far
           (the filter is fed silence beyond the end), then start a new stream.
    \param out Where to write them.
    \param max_out Room in out, samples.
    \return The number written (vb_resample_pending() before the call), or VB_ERR_FULL if
            max_out is too small (nothing changes). */
int vb_resample_flush(vb_resample_state_t *s, int16_t out[], int max_out);

/*! \brief Filter length per output sample (taps per phase, K), for cost estimates.
    \return K (1 when the rates are equal). */
int vb_resample_taps(const vb_resample_state_t *s);

#endif
