/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - fsk.h: 1200 baud FSK modem for caller ID (Bell 202, V.23).
 */
/*! \page fsk_page FSK modem (caller-ID physical layer)
\section fsk_page_sec_1 What does it do?
The transmitter turns queued bytes (asynchronous framing: start bit 0, 8 data bits LSB first,
stop bit 1) and raw bit runs (channel seizure 0101..., mark idle) into phase-continuous FSK at
8 kHz. The receiver turns a stream of 8 kHz linear samples back into bytes, each with the
sample position of its start bit, and reports carrier on/off.

Standards (telephony.md §5.1): Bell 202 (GR-30; US and China) mark 1200 Hz / space 2200 Hz,
V.23 mode 2 (ETSI EN 300 659, UK) mark 1300 Hz / space 2100 Hz, both 1200 baud. Other tone
pairs and rates can be given in a vb_fsk_spec_t.

Receiver limits, checked by tests/test_fsk.py: levels -3 to -40 dBm0, white noise over 0-4 kHz
at SNR 15 dB, +-1 % bit rate, +-10 Hz on both tones, A-law or mu-law round trip; results do
not depend on how the stream is cut into blocks.

\section fsk_page_sec_2 How does it work?
Timing is exact at any rate: 8000/1200 = 6.667 samples per bit, so bit boundaries are kept
as fractions, never rounded to whole samples. The transmitter advances a bit clock by the rate
(in milli-baud) every sample and moves to the next bit when it passes the sample rate; the
tone phase is a 32-bit accumulator that never resets, so the output is phase continuous.

The receiver first band-limits the input (2nd-order Butterworth high-pass and low-pass, 300 Hz
outside the lower and upper tone). Two quadrature correlators, one per tone, run over the last
bit period of filtered samples; the decision value is (|mark|^2 - |space|^2) / (|mark|^2 +
|space|^2), which is independent of level and has no DC term. Carrier is present while the
in-band power is above the minimum level and makes up most of the total power (noise spreads
over 0-4 kHz, FSK stays in band), with hysteresis and a debounce of 10 ms. While the
carrier is present a UART hunts for the mark-to-space edge of a start bit (located to a
fraction of a sample by interpolating the decision value), checks the start bit at its
middle, samples the data bits at their middles and requires a mark stop bit; it resynchronises
on every start bit, so a rate error of a few percent does not accumulate.
*/
#ifndef VB_FSK_H
#define VB_FSK_H

#include <stdint.h>

/*! Opaque transmitter and receiver states (layouts in vb/private/fsk.h). */
typedef struct vb_fsk_tx_state_s vb_fsk_tx_state_t;
typedef struct vb_fsk_rx_state_s vb_fsk_rx_state_t;

/*! Named standards for vb_fsk_spec(). */
enum
{
    VB_FSK_BELL202 = 0,     /*!< 1200 baud, mark 1200 Hz, space 2200 Hz (GR-30, China) */
    VB_FSK_V23 = 1          /*!< 1200 baud, mark 1300 Hz, space 2100 Hz (ETSI, V.23 mode 2) */
};

/*! Receiver report kinds. */
enum
{
    VB_FSK_BYTE = 1,        /*!< a byte with a valid stop bit; value is the byte */
    VB_FSK_CARRIER_ON = 2,  /*!< carrier found; value is 0 */
    VB_FSK_CARRIER_OFF = 3  /*!< carrier lost; value is 0 */
};

/*! Tones and rate of one FSK standard. */
typedef struct
{
    float mark_hz;          /*!< frequency of a 1 bit, Hz */
    float space_hz;         /*!< frequency of a 0 bit, Hz */
    float baud;             /*!< bits per second (300 to 2400) */
} vb_fsk_spec_t;

/*! One receiver report. */
typedef struct
{
    int kind;               /*!< VB_FSK_BYTE, VB_FSK_CARRIER_ON or VB_FSK_CARRIER_OFF */
    int value;              /*!< the byte (0-255) for VB_FSK_BYTE, else 0 */
    int64_t pos;            /*!< sample position since init: start-bit edge of a byte
                                 (+-2 samples), or where the carrier change was decided */
} vb_fsk_report_t;

/*! Receiver statistics since initialisation. */
typedef struct
{
    int64_t samples;        /*!< samples consumed */
    int64_t bytes;          /*!< bytes received */
    int64_t framing_errors; /*!< characters dropped because the stop bit was a space */
    int64_t reports_dropped;/*!< reports lost because nobody read them (queue full) */
} vb_fsk_rx_stats_t;

/*! \brief Fill in the tones and rate of a named standard.
    \param spec Where to write.
    \param standard VB_FSK_BELL202 or VB_FSK_V23.
    \return VB_OK, or VB_ERR_INVALID for an unknown standard. */
int vb_fsk_spec(vb_fsk_spec_t *spec, int standard);

/*! \brief Initialise a transmitter (or reset one). The bit queue starts empty.
    \param s State to reuse, or NULL to allocate one.
    \param spec Tones and rate (copied).
    \param level_dbm0 Output level, dBm0 (-60 to +3; spandsp's default is -14).
    \return The state, or NULL if allocation failed or an argument is out of range. */
vb_fsk_tx_state_t *vb_fsk_tx_init(vb_fsk_tx_state_t *s, const vb_fsk_spec_t *spec, float level_dbm0);

/*! \brief Release the internals of a transmitter.  \return VB_OK. */
int vb_fsk_tx_release(vb_fsk_tx_state_t *s);

/*! \brief Release and free a transmitter allocated by vb_fsk_tx_init(NULL, ...).  \return VB_OK. */
int vb_fsk_tx_free(vb_fsk_tx_state_t *s);

/*! \brief Queue bytes as asynchronous characters (start 0, 8 data bits LSB first, stop 1).
    \param buf The bytes.  \param len How many.
    \return VB_OK; VB_ERR_FULL (nothing queued) if the 10 * len bits do not all fit;
            VB_ERR_INVALID if len < 0. */
int vb_fsk_tx_put_bytes(vb_fsk_tx_state_t *s, const uint8_t buf[], int len);

/*! \brief Queue a run of raw bits without framing (mark idle, or one half of a 0101 pattern).
    \param bit 0 (space) or 1 (mark).  \param count How many bits (>= 0).
    \return VB_OK; VB_ERR_FULL (nothing queued) if they do not fit; VB_ERR_INVALID for a bad
            bit or count. */
int vb_fsk_tx_put_bits(vb_fsk_tx_state_t *s, int bit, int count);

/*! \brief Queue raw bits alternating from first (0101... for first = 0).
    \return As vb_fsk_tx_put_bits(). */
int vb_fsk_tx_put_alternating(vb_fsk_tx_state_t *s, int first, int count);

/*! \brief Bits waiting, including the one being sent.  \return 0 or more. */
int vb_fsk_tx_queued(const vb_fsk_tx_state_t *s);

/*! \brief Room in the bit queue.  \return 0 or more. */
int vb_fsk_tx_space(const vb_fsk_tx_state_t *s);

/*! \brief Generate samples until max_samples or until the queue runs dry. The tone phase and
    the fractional bit clock carry over to the next call, so later bits continue seamlessly.
    \param amp Where to write 8 kHz linear samples.
    \param max_samples Room in amp.
    \return The number of samples generated (less than max_samples only when the queue emptied;
            0 when nothing is queued). */
int vb_fsk_tx(vb_fsk_tx_state_t *s, int16_t amp[], int max_samples);

/*! \brief Initialise a receiver (or reset one).
    \param s State to reuse, or NULL to allocate one.
    \param spec Nominal tones and rate (copied).
    \param min_level_dbm0 Weakest carrier accepted, dBm0 (-70 to 0; -48 is a good default).
    \return The state, or NULL if allocation failed or an argument is out of range. */
vb_fsk_rx_state_t *vb_fsk_rx_init(vb_fsk_rx_state_t *s, const vb_fsk_spec_t *spec, float min_level_dbm0);

/*! \brief Release the internals of a receiver.  \return VB_OK. */
int vb_fsk_rx_release(vb_fsk_rx_state_t *s);

/*! \brief Release and free a receiver allocated by vb_fsk_rx_init(NULL, ...).  \return VB_OK. */
int vb_fsk_rx_free(vb_fsk_rx_state_t *s);

/*! \brief Feed samples.
    \param amp Linear samples at 8 kHz.  \param samples How many (any count, 0 included).
    \return The number of samples left unprocessed: always 0. */
int vb_fsk_rx(vb_fsk_rx_state_t *s, const int16_t amp[], int samples);

/*! \brief Take reports (bytes, carrier changes), oldest first.
    \param out Where to copy them.  \param max Room in out.
    \return The number copied (0 when none are waiting). */
int vb_fsk_rx_get(vb_fsk_rx_state_t *s, vb_fsk_report_t out[], int max);

/*! \brief Carrier status now.  \return 1 while a carrier is present, else 0. */
int vb_fsk_rx_carrier(const vb_fsk_rx_state_t *s);

/*! \brief Read the statistics.  \return VB_OK. */
int vb_fsk_rx_get_stats(const vb_fsk_rx_state_t *s, vb_fsk_rx_stats_t *st);

#endif
