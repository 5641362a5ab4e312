/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - g711.h: A-law and mu-law companding (ITU-T G.711).
 */
/*! \page g711_page G.711 A-law and mu-law
\section g711_page_sec_1 What does it do?
Converts 16-bit linear samples to and from 8-bit A-law and mu-law code words, and transcodes
between the two laws.

\section g711_page_sec_2 How does it work?
Encoding and decoding follow the ITU-T G.191 reference implementation bit for bit: negative
inputs are taken as their one's complement, which keeps the decision thresholds symmetric
(spandsp and CPython's audioop differ from G.191 on 127 and 508 mu-law inputs). A-law <-> mu-law
transcoding uses G.711 Tables 3 and 4 rather than decode-then-encode, which would differ in 32
(A to mu) and 44 (mu to A) of the 256 code words.
*/
#ifndef VB_G711_H
#define VB_G711_H

#include <stdint.h>

/*! \brief Encode linear samples to A-law.
    \param out Code words, n of them.  \param in Linear samples.  \param n Count.
    \return n. */
int vb_lin2alaw(uint8_t out[], const int16_t in[], int n);
/*! \brief Decode A-law to linear.  \return n. */
int vb_alaw2lin(int16_t out[], const uint8_t in[], int n);
/*! \brief Encode linear samples to mu-law.  \return n. */
int vb_lin2ulaw(uint8_t out[], const int16_t in[], int n);
/*! \brief Decode mu-law to linear.  \return n. */
int vb_ulaw2lin(int16_t out[], const uint8_t in[], int n);
/*! \brief Transcode A-law to mu-law by G.711 Table 4.  \return n. */
int vb_alaw2ulaw(uint8_t out[], const uint8_t in[], int n);
/*! \brief Transcode mu-law to A-law by G.711 Table 3.  \return n. */
int vb_ulaw2alaw(uint8_t out[], const uint8_t in[], int n);

/*! \brief Encode one sample to A-law (G.191 alaw_compress). */
uint8_t vb_alaw_encode(int16_t x);
/*! \brief Decode one A-law code word (G.191 alaw_expand). */
int16_t vb_alaw_decode(uint8_t c);
/*! \brief Encode one sample to mu-law (G.191 ulaw_compress). */
uint8_t vb_ulaw_encode(int16_t x);
/*! \brief Decode one mu-law code word (G.191 ulaw_expand). */
int16_t vb_ulaw_decode(uint8_t c);

#endif
