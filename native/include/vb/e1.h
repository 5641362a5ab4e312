/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - e1.h: E1 framer (G.704 framing, CRC-4, TS16 CAS, G.706 alignment, alarms).
 */
/*! \page e1_page E1 framer
\section e1_page_sec_1 What does it do?
The transmitter builds G.704 frames (32 timeslots of 8 bits, 8000 frames/s) from the A-law
octets of 30 bearer channels and the ABCD signalling bits of each channel: TS0 carries the
frame alignment signal (FAS) in even frames and the Si, A (remote alarm) and Sa4-Sa8 bits in
odd frames; with CRC-4 bit 1 of TS0 carries the CRC-4 multiframe (C1-C4 in the FAS frames, the
alignment word 001011 and the E bits in the odd frames); TS16 carries the channel associated
signalling multiframe (MFAS 0000 and the spare/Y bits in frame 0, the ABCD bits of channels k
and k+15 in frame k). Channels 1-15 are TS1-15, channels 16-30 are TS17-31.

The receiver takes a stream of octets (the line, octet-synchronous: an emulated span carries
whole octets, so the hunt is over the 32 octet positions of a frame), finds and keeps frame
alignment by the G.706 rules, checks CRC-4, follows the CAS multiframe, debounces each
channel's ABCD, and keeps counters and alarm states:

 - frame alignment gained: FAS in frame n, bit 2 = 1 in frame n+1, FAS in frame n+2; lost: 3
   consecutive FAS in error (optionally also 3 consecutive NFAS bit-2 errors) (G.706 §4.1);
 - CRC-4 multiframe gained: two alignment words 2 ms (or a multiple) apart within 8 ms of
   basic alignment, else the frame search restarts; with VB_E1_CRC4_AUTO, no CRC-4 multiframe
   within 400 ms (interworking_ms) means the far end does not send CRC-4 (G.706 Annex B): the
   basic alignment is kept, CRC checking stops and the transmitted E bits are 0. 915 or more
   errored blocks out of 1000 mean false alignment: the frame search restarts (G.706 §4.3.2);
 - CRC-4 errors of received sub-multiframes are counted and reported back in the transmitted
   E bits (one E bit at 0 per errored block); received E bits at 0 count as far-end block
   errors;
 - CAS multiframe gained: MFAS 0000 in TS16 and the previous TS16 not all zeros; lost: 2
   consecutive MFAS in error, or TS16 all zeros for a whole multiframe (G.732 §5.2);
 - alarms (G.775, as framers implement them; numbers in vb_e1_config_t): LOS (a run of
   los_zeros zero bits; cleared by los_clear_ones ones in 256 bits), AIS (fewer than
   ais_zeros zeros in 512 bits), LOF (not frame aligned), red (LOF for red_ms), RAI (A bit
   set in rai_frames consecutive NFAS frames), TS16 LOMF, TS16 AIS (fewer than ais_zeros zero
   bits in a multiframe's 16 TS16 octets) and the remote multiframe alarm (Y bit in
   y_multiframes consecutive multiframes).

A transmitter linked to the receiver of the same span answers the receiver's state as G.704
and the framers do: A = 1 while the receiver is in LOS, AIS or LOF; E bits 0 while the
receiver has no CRC-4 multiframe; Y = 1 while it has no CAS multiframe.

Numbers: telephony.md §2. The CRC-4 test vector of §2.2 is checked by tests/native/e1_tests.c.

\section e1_page_sec_2 How does it work?
The CRC (generator x^4 + x + 1, initial 0, bit 1 of TS0 first) is computed an octet at a time
through a 256-entry table: the 4-bit remainder R and the next octet B give R' = T[(R << 4) ^ B],
where T[i] is the remainder of i * x^4. The C bits of the FAS frames are zero while the block
is summed; the remainder of a sub-multiframe goes out in the C bits of the next one.

The receiver keeps the last 128 octets. While hunting, each new octet is tested as the FAS of
frame n+2 together with the octets 32 and 64 before it; once aligned, every 32 octets form a
frame that is checked and decoded as a whole. ABCD values change only after they have been
received unchanged in cas_persistence consecutive multiframes (the recognition time of
Q.422, 2 ms per multiframe).

One call of vb_e1_tx() / vb_e1_rx() handles any number of frames (a 20 ms tick is 160);
bearer octets are channel-major with a caller-chosen stride, the layout of a board tick.
*/
#ifndef VB_E1_H
#define VB_E1_H

#include <stdint.h>

/*! Opaque transmitter and receiver states (layouts in vb/private/e1.h). */
typedef struct vb_e1_tx_state_s vb_e1_tx_state_t;
typedef struct vb_e1_rx_state_s vb_e1_rx_state_t;

#define VB_E1_TIMESLOTS 32      /*!< octets per frame */
#define VB_E1_CHANNELS 30       /*!< bearer channels per span (TS1-15, TS17-31) */
#define VB_E1_FRAME_RATE 8000   /*!< frames per second (G.704) */
#define VB_E1_IDLE 0xD5         /*!< A-law idle octet (telephony.md §1.1) */

/*! CRC-4 modes. */
enum
{
    VB_E1_CRC4_OFF = 0,     /*!< no CRC-4 multiframe: Si bits sent, nothing checked */
    VB_E1_CRC4_ON = 1,      /*!< CRC-4 required: without a multiframe the frame search restarts */
    VB_E1_CRC4_AUTO = 2     /*!< CRC-4 with G.706 Annex B interworking towards non-CRC-4 ends */
};

/*! Receiver alarm bits (vb_e1_rx_status_t.alarms). */
enum
{
    VB_E1_ALARM_LOS = 0x01,         /*!< loss of signal */
    VB_E1_ALARM_AIS = 0x02,         /*!< alarm indication signal (all ones, "blue") */
    VB_E1_ALARM_LOF = 0x04,         /*!< no frame alignment */
    VB_E1_ALARM_RED = 0x08,         /*!< LOF persisting red_ms */
    VB_E1_ALARM_RAI = 0x10,         /*!< remote alarm ("yellow"): the far end's A bit */
    VB_E1_ALARM_TS16_LOMF = 0x20,   /*!< frame aligned, but no CAS multiframe */
    VB_E1_ALARM_TS16_AIS = 0x40,    /*!< TS16 all ones */
    VB_E1_ALARM_TS16_RMF = 0x80     /*!< the far end lost our CAS multiframe (Y bit) */
};

/*! Settings of a span's framer (both directions). vb_e1_default_config() fills them in. */
typedef struct
{
    int crc4;               /*!< VB_E1_CRC4_OFF, _ON or _AUTO (default AUTO) */
    int cas;                /*!< 1: TS16 carries CAS (default); 0: TS16 idle, no CAS checks */
    int sa_bits;            /*!< Sa4-Sa8 sent, 0-31 (default 31: unused bits are 1 ⚠) */
    int si_bits;            /*!< Si sent without CRC-4: bit 1 for FAS frames, bit 0 for NFAS (default 3) */
    int los_zeros;          /*!< zero bits in a row that declare LOS (default 255, G.775) */
    int los_clear_ones;     /*!< ones in 256 bits that clear LOS (default 32) */
    int ais_zeros;          /*!< AIS: fewer zeros than this in 512 bits (default 3, O.162) */
    int rai_frames;         /*!< consecutive NFAS frames with A = 1 (or 0) to set (clear) RAI (default 3) */
    int red_ms;             /*!< LOF lasting this long is a red alarm (default 100 ms, I.431) */
    int nfas_loss;          /*!< 1: 3 consecutive NFAS bit-2 errors also lose alignment (default 0) */
    int interworking_ms;    /*!< CRC-4 AUTO: no multiframe this long means a non-CRC-4 far end (default 400) */
    int cas_persistence;    /*!< multiframes (2 ms each) a new ABCD must hold (default 10 = 20 ms ⚠ Q.422) */
    int y_multiframes;      /*!< consecutive multiframes with Y = 1 for the remote MF alarm (default 2) */
} vb_e1_config_t;

/*! Receiver state now. */
typedef struct
{
    int frame_aligned;      /*!< 1 when basic frame alignment is held */
    int crc4_aligned;       /*!< 1 when the CRC-4 multiframe is held */
    int cas_aligned;        /*!< 1 when the CAS multiframe is held */
    int interworking;       /*!< 1 when CRC-4 AUTO has declared a non-CRC-4 far end */
    int alarms;             /*!< VB_E1_ALARM_* bits */
    int sa_bits;            /*!< Sa4-Sa8 of the last NFAS frame */
    uint8_t abcd[VB_E1_CHANNELS];   /*!< debounced ABCD of channels 1-30 (index 0 = channel 1); 0 before any */
} vb_e1_rx_status_t;

/*! Receiver counters since initialisation. */
typedef struct
{
    int64_t octets;         /*!< octets consumed */
    int64_t frames;         /*!< aligned frames decoded */
    int64_t fas_errors;     /*!< FAS words in error while aligned */
    int64_t frame_losses;   /*!< losses of frame alignment (all causes) */
    int64_t crc_blocks;     /*!< CRC-4 sub-multiframes checked */
    int64_t crc_errors;     /*!< ... of which in error */
    int64_t ebit_errors;    /*!< E bits at 0 received (far-end block errors) */
    int64_t crc_mf_timeouts;/*!< frame searches restarted for want of a CRC-4 multiframe in 8 ms */
    int64_t false_alignments;/*!< frame searches restarted by the 915-of-1000 rule */
    int64_t cas_mf_losses;  /*!< losses of the CAS multiframe */
    int64_t abcd_changes;   /*!< debounced ABCD changes (all channels) */
} vb_e1_rx_stats_t;

/*! \brief Fill in the default settings (see vb_e1_config_t).  \return VB_OK. */
int vb_e1_default_config(vb_e1_config_t *cfg);

/*! \brief CRC-4 of one sub-multiframe, with the C-bit positions taken as 0.
    \param smf 8 frames of 32 octets, a FAS frame first (frames 0-7 or 8-15 of the multiframe).
    \return C1..C4 as a 4-bit number (C1 the most significant bit). */
int vb_e1_crc4(const uint8_t smf[8*VB_E1_TIMESLOTS]);

/*! \brief Initialise a transmitter (or reset one). All channels start with ABCD 1011 (China idle).
    \param s State to reuse, or NULL to allocate one.
    \param cfg Settings (copied).
    \param rx The receiver of the same span, whose alarms set A, E and Y (may be NULL).
    \return The state, or NULL if allocation failed or a setting is out of range. */
vb_e1_tx_state_t *vb_e1_tx_init(vb_e1_tx_state_t *s, const vb_e1_config_t *cfg, const vb_e1_rx_state_t *rx);

/*! \brief Release the internals of a transmitter.  \return VB_OK. */
int vb_e1_tx_release(vb_e1_tx_state_t *s);

/*! \brief Release and free a transmitter allocated by vb_e1_tx_init(NULL, ...).  \return VB_OK. */
int vb_e1_tx_free(vb_e1_tx_state_t *s);

/*! \brief Set the ABCD bits sent for a channel from the next multiframe on.
    \param channel 1 to 30.
    \param abcd 0 to 15; 0000 only on channels 16-30 (on 1-15 it would imitate the
           multiframe alignment signal in bits 1-4 of TS16, G.704).
    \return VB_OK, or VB_ERR_INVALID. */
int vb_e1_tx_set_abcd(vb_e1_tx_state_t *s, int channel, int abcd);

/*! \brief The ABCD bits being sent for a channel.  \return 0-15, or VB_ERR_INVALID for a bad channel. */
int vb_e1_tx_get_abcd(const vb_e1_tx_state_t *s, int channel);

/*! \brief Force the remote alarm indication (A bit = 1) on or off, whatever the receiver sees.
    \param on 1 or 0.  \return VB_OK. */
int vb_e1_tx_set_rai(vb_e1_tx_state_t *s, int on);

/*! \brief Set the Sa4-Sa8 bits sent.  \param sa 0-31.  \return VB_OK, or VB_ERR_INVALID. */
int vb_e1_tx_set_sa(vb_e1_tx_state_t *s, int sa);

/*! \brief Build frames.
    \param bearer A-law octets of the 30 channels, channel-major: channel c (0-29) of frame f
           at bearer[c*stride + f]; NULL sends the idle octet on every channel.
    \param stride Octets between channels in bearer (>= frames).
    \param out Where to write frames*32 octets.
    \param frames How many frames (>= 0).
    \return frames, or VB_ERR_INVALID. */
int vb_e1_tx(vb_e1_tx_state_t *s, const uint8_t bearer[], int stride, uint8_t out[], int frames);

/*! \brief Initialise a receiver (or reset one): hunting for frame alignment, no alarms but LOF.
    \param s State to reuse, or NULL to allocate one.
    \param cfg Settings (copied).
    \return The state, or NULL if allocation failed or a setting is out of range. */
vb_e1_rx_state_t *vb_e1_rx_init(vb_e1_rx_state_t *s, const vb_e1_config_t *cfg);

/*! \brief Release the internals of a receiver.  \return VB_OK. */
int vb_e1_rx_release(vb_e1_rx_state_t *s);

/*! \brief Release and free a receiver allocated by vb_e1_rx_init(NULL, ...).  \return VB_OK. */
int vb_e1_rx_free(vb_e1_rx_state_t *s);

/*! \brief Consume octets from the line.
    \param in frames*32 octets (not necessarily starting at a frame boundary).
    \param frames How many frames' worth of octets (>= 0).
    \param bearer Where to write the received A-law octets, channel-major like vb_e1_tx():
           one column per 32 octets consumed (calls start on such a boundary), holding the
           frame completed in those octets, or the idle octet where no aligned frame was;
           so the output does not depend on how the stream is cut into calls. May be NULL.
    \param stride Octets between channels in bearer (>= frames).
    \return frames, or VB_ERR_INVALID. */
int vb_e1_rx(vb_e1_rx_state_t *s, const uint8_t in[], int frames, uint8_t bearer[], int stride);

/*! \brief Read the receiver's state.  \return VB_OK. */
int vb_e1_rx_get_status(const vb_e1_rx_state_t *s, vb_e1_rx_status_t *st);

/*! \brief Read the receiver's counters.  \return VB_OK. */
int vb_e1_rx_get_stats(const vb_e1_rx_state_t *s, vb_e1_rx_stats_t *st);

#endif
