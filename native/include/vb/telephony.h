/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - telephony.h: constants and conventions shared by every module.
 */
/*! \page telephony_page Conventions of the native core
\section telephony_page_sec_1 What does it do?
Fixes the sample format, the sample rate, the level reference and the error codes that every
module of the core uses.

\section telephony_page_sec_2 How does it work?
The core runs on 16-bit linear samples at VB_SAMPLE_RATE (8000/s). G.711 conversion happens at
the line edge and resampling at the sound-card edge (both outside the DSP modules). Levels are
in dBm0: a sine at 0 dBm0 has an RMS of VB_DBM0_RMS in 16-bit linear, because the largest sine
A-law can carry is +3.14 dBm0 (ITU-T G.711; spandsp DBM0_MAX_SINE_POWER). Every call that can
fail returns a negative VB_ERR_* code; vb_strerror() names it. The library never prints and
never aborts.
*/
#ifndef VB_TELEPHONY_H
#define VB_TELEPHONY_H

#include <stdint.h>

/*! Samples per second inside the core. */
#define VB_SAMPLE_RATE 8000
/*! RMS of a 0 dBm0 sine in 16-bit linear: 32767 * 10^(-3.14/20) / sqrt(2) (G.711, +3.14 dBm0 max). */
#define VB_DBM0_RMS 16141.0f

/*! Error codes: every failing call returns one of these (negative). */
enum
{
    VB_OK = 0,
    VB_ERR_NOMEM = -1,      /*!< allocation failed */
    VB_ERR_INVALID = -2,    /*!< an argument is out of range */
    VB_ERR_FULL = -3,       /*!< a queue or buffer is full */
    VB_ERR_EMPTY = -4,      /*!< nothing to read */
    VB_ERR_STATE = -5       /*!< the object is not in a state that allows the call */
};

/*! \brief Name an error code.
    \param code A VB_ERR_* value (or VB_OK).
    \return A static, never-NULL string; "unknown error" for a code that is not defined. */
const char *vb_strerror(int code);

#endif
