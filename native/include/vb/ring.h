/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - ring.h: single-producer/single-consumer ring of 16-bit samples.
 */
/*! \page ring_page SPSC sample ring
\section ring_page_sec_1 What does it do?
Moves 16-bit linear samples from one thread to another without locks: a real-time callback
(sound card, serial reader) writes, the board's loop reads, or the other way round. Threads:
one writer thread, one reader thread. Any other use (two writers, two readers) needs outside
locking.

The unit is the int16_t sample (the core's sample format, vb/telephony.h); a byte stream
(G.711 codes, modem data) is carried by converting at the edge, not by this ring.

When the writer finds the ring full, the samples that do not fit are dropped and counted as
overrun. When the reader asks for more samples than are present, the shortfall is counted as
underrun and, if the reader asks for a full frame (VB_RING_PAD), the rest of its buffer is
filled with silence. A write never blocks and never overwrites unread samples.

\section ring_page_sec_2 How does it work?
The capacity is a power of two, so a free-running 64-bit sample count maps to a slot with a
mask and never needs resetting. The writer owns the head count and the reader owns the tail
count. The writer copies samples into the free slots and then publishes the new head with a
C11 release store; the reader loads the head with an acquire load before it copies, so it
sees every sample the head covers. The reader publishes its tail the same way, which tells
the writer that the slots are free again. Each count sits on its own cache line so the two
threads do not bounce one line between their cores. Every slot is usable: full means
head - tail == capacity.
*/
#ifndef VB_RING_H
#define VB_RING_H

#include <stdint.h>

/*! Opaque ring state (layout in vb/private/ring.h). */
typedef struct vb_ring_state_s vb_ring_state_t;

/*! Flags of vb_ring_read(). */
enum
{
    VB_RING_PAD = 1     /*!< the caller needs a full frame: fill the shortfall with silence */
};

/*! Largest capacity, in samples: every count must fit the int that the calls return. */
#define VB_RING_MAX_CAPACITY (1 << 30)

/*! Counters since initialisation, in samples. */
typedef struct
{
    int64_t written;        /*!< samples accepted by vb_ring_write() */
    int64_t read;           /*!< samples taken by vb_ring_read() */
    int64_t overrun;        /*!< samples dropped because the ring was full */
    int64_t underrun;       /*!< samples asked for but not present */
} vb_ring_stats_t;

/*! \brief Initialise a ring (or reset one; not while another thread uses it).
    \param s State to reuse, or NULL to allocate one.
    \param capacity Slots, in samples: a power of two from 2 to VB_RING_MAX_CAPACITY.
    \return The state, or NULL if capacity is invalid or allocation failed. */
vb_ring_state_t *vb_ring_init(vb_ring_state_t *s, int capacity);

/*! \brief Release the sample storage of a state given by the caller.  \return VB_OK. */
int vb_ring_release(vb_ring_state_t *s);

/*! \brief Release and free a state allocated by vb_ring_init(NULL, ...).  \return VB_OK. */
int vb_ring_free(vb_ring_state_t *s);

/*! \brief Append samples (writer thread only).
    \param s The ring.
    \param amp Linear samples.
    \param samples How many (0 or more).
    \return The number written (the rest was dropped and counted as overrun), or
            VB_ERR_INVALID if samples is negative. */
int vb_ring_write(vb_ring_state_t *s, const int16_t amp[], int samples);

/*! \brief Take samples, oldest first (reader thread only).
    \param s The ring.
    \param amp Where to copy them.
    \param samples How many the caller wants (0 or more); a shortfall counts as underrun.
    \param flags 0, or VB_RING_PAD to fill amp[returned .. samples - 1] with silence.
    \return The number taken from the ring, or VB_ERR_INVALID if samples is negative or flags
            has an unknown bit. */
int vb_ring_read(vb_ring_state_t *s, int16_t amp[], int samples, int flags);

/*! \brief Samples waiting to be read. From the reader thread a lower bound (the writer may
    have added more since); from the writer thread an upper bound (the reader may have taken
    some since).
    \return The fill level, 0 to capacity. */
int vb_ring_fill(const vb_ring_state_t *s);

/*! \brief Free slots: from the writer thread a lower bound (the reader may have freed more
    since).
    \return capacity - vb_ring_fill(), 0 to capacity. */
int vb_ring_space(const vb_ring_state_t *s);

/*! \brief The capacity given to vb_ring_init().  \return Slots, in samples. */
int vb_ring_capacity(const vb_ring_state_t *s);

/*! \brief Read the counters (from either thread; each counter is read atomically).
    \return VB_OK. */
int vb_ring_get_stats(const vb_ring_state_t *s, vb_ring_stats_t *st);

/*! \brief Bytes needed for a state, for callers that embed rings in their own storage. */
int vb_ring_state_size(void);

#endif
