/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - e1.c: E1 framer (see vb/e1.h for the method; numbers: telephony.md §2).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/e1.h"
#include "vb/private/state.h"
#include "vb/private/e1.h"

#define TS VB_E1_TIMESLOTS
#define FAS 0x1B                /* b2-b8 of TS0 in even frames (§2.1) */
#define MFAS_WORD 0x0B          /* 001011: bit 1 of NFAS frames 1,3,5,7,9,11 (§2.2) */
#define CRC_SEARCH_FRAMES 64    /* 8 ms to find the CRC-4 multiframe (G.706 §4.2) */
#define FALSE_ALIGN_BLOCKS 1000 /* errored-block window (G.706 §4.3.2) */
#define FALSE_ALIGN_ERRORS 915
#define TS16_Y 0x04             /* Y: bit 6 of TS16 in CAS frame 0, "0000 1Y11" (§2.4) */
#define TS16_FRAME0 0x0B        /* spare bits 1, Y = 0 */
#define ABCD_IDLE_CN 0x0B       /* China idle 1011 (telephony.md §3.1) */

/* ---- CRC-4 ------------------------------------------------------------------------------ */

static uint8_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
    /* T[i] = remainder of i(x) * x^4 modulo x^4 + x + 1, MSB first (§2.2). */
    for (int i = 0;  i < 256;  i++)
    {
        int r = i << 4;
        for (int bit = 11;  bit >= 4;  bit--)
        {
            if (r & (1 << bit))
                r ^= 0x13 << (bit - 4);
        }
        crc_table[i] = (uint8_t) r;
    }
}

static inline int crc_octet(int crc, int octet)
{
    return crc_table[((crc << 4) ^ octet) & 0xFF];
}

int vb_e1_crc4(const uint8_t smf[8*TS])
{
    int crc = 0;

    pthread_once(&crc_once, crc_table_init);
    for (int f = 0;  f < 8;  f++)
    {
        const uint8_t *frame = smf + f*TS;
        /* The C bits (bit 1 of the FAS frames 0, 2, 4, 6) count as 0. */
        crc = crc_octet(crc, (f & 1) ? frame[0] : (frame[0] & 0x7F));
        for (int t = 1;  t < TS;  t++)
            crc = crc_octet(crc, frame[t]);
    }
    return crc;
}

/* ---- settings ----------------------------------------------------------------------------- */

int vb_e1_default_config(vb_e1_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->crc4 = VB_E1_CRC4_AUTO;
    cfg->cas = 1;
    cfg->sa_bits = 0x1F;            /* unused Sa bits are 1 ⚠ (§2.1) */
    cfg->si_bits = 3;               /* Si = 1 without CRC-4 (§2.1) */
    cfg->los_zeros = 255;           /* G.775 via DS2155 (§2.5) */
    cfg->los_clear_ones = 32;
    cfg->ais_zeros = 3;             /* O.162 via DS2155: < 3 zeros in 512 bits */
    cfg->rai_frames = 3;            /* DS2155 (IDT: 1 or 4) */
    cfg->red_ms = 100;              /* I.431 via IDT82P2281 */
    cfg->nfas_loss = 0;
    cfg->interworking_ms = 400;     /* G.706 Annex B (§2.2) */
    cfg->cas_persistence = 10;      /* 20 ms: Q.422 recognition 20 +- 10 ms ⚠ (§3.1) */
    cfg->y_multiframes = 2;         /* DS2155 "RDMA" (IDT: 3) */
    return VB_OK;
}

static int config_valid(const vb_e1_config_t *c)
{
    return c != NULL
        && c->crc4 >= VB_E1_CRC4_OFF  &&  c->crc4 <= VB_E1_CRC4_AUTO
        && (c->cas == 0  ||  c->cas == 1)
        && c->sa_bits >= 0  &&  c->sa_bits <= 31
        && c->si_bits >= 0  &&  c->si_bits <= 3
        && c->los_zeros >= 8  &&  c->los_zeros <= 4096
        && c->los_clear_ones >= 1  &&  c->los_clear_ones <= 256
        && c->ais_zeros >= 1  &&  c->ais_zeros <= 512
        && c->rai_frames >= 1  &&  c->rai_frames <= 100
        && c->red_ms >= 0  &&  c->red_ms <= 10000
        && (c->nfas_loss == 0  ||  c->nfas_loss == 1)
        && c->interworking_ms >= 8  &&  c->interworking_ms <= 10000
        && c->cas_persistence >= 1  &&  c->cas_persistence <= 250
        && c->y_multiframes >= 1  &&  c->y_multiframes <= 100;
}

/* ---- transmitter -------------------------------------------------------------------------- */

vb_e1_tx_state_t *vb_e1_tx_init(vb_e1_tx_state_t *s, const vb_e1_config_t *cfg, const vb_e1_rx_state_t *rx)
{
    if (!config_valid(cfg))
        return NULL;
    pthread_once(&crc_once, crc_table_init);
    if ((s = VB_STATE_CLAIM(s, vb_e1_tx_state_t)) == NULL)
        return NULL;
    s->cfg = *cfg;
    s->rx = rx;
    memset(s->abcd, ABCD_IDLE_CN, sizeof(s->abcd));
    return s;
}

int vb_e1_tx_release(vb_e1_tx_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_e1_tx_free(vb_e1_tx_state_t *s)
{
    if (s != NULL)
    {
        vb_e1_tx_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

int vb_e1_tx_set_abcd(vb_e1_tx_state_t *s, int channel, int abcd)
{
    /* 0000 in bits 1-4 of TS16 (channels 1-15) would imitate the MFAS (G.704, §2.4 ⚠). */
    if (channel < 1  ||  channel > VB_E1_CHANNELS  ||  abcd < 0  ||  abcd > 15  ||  (abcd == 0  &&  channel <= 15))
        return VB_ERR_INVALID;
    s->abcd[channel - 1] = (uint8_t) abcd;
    return VB_OK;
}

int vb_e1_tx_get_abcd(const vb_e1_tx_state_t *s, int channel)
{
    if (channel < 1  ||  channel > VB_E1_CHANNELS)
        return VB_ERR_INVALID;
    return s->abcd[channel - 1];
}

int vb_e1_tx_set_rai(vb_e1_tx_state_t *s, int on)
{
    s->force_rai = (on != 0);
    return VB_OK;
}

int vb_e1_tx_set_sa(vb_e1_tx_state_t *s, int sa)
{
    if (sa < 0  ||  sa > 31)
        return VB_ERR_INVALID;
    s->cfg.sa_bits = sa;
    return VB_OK;
}

/* Bit 1 of TS0 in each frame of the CRC-4 multiframe: C bits (-1), alignment word, E bits (-2). */
static const int8_t crc_bit1[16] = {-1, 0, -1, 0, -1, 1, -1, 0, -1, 1, -1, 1, -1, -2, -1, -2};

static int tx_ts0(vb_e1_tx_state_t *s)
{
    const vb_e1_rx_state_t *rx = s->rx;
    int f = s->frame;
    int bit1;

    if (s->cfg.crc4 == VB_E1_CRC4_OFF)
    {
        bit1 = (f & 1) ? (s->cfg.si_bits & 1) : ((s->cfg.si_bits >> 1) & 1);
    }
    else if (crc_bit1[f] == -1)
    {
        /* C1..C4 in frames 0, 2, 4, 6 of each sub-multiframe. */
        bit1 = (s->c_out >> (3 - ((f & 7) >> 1))) & 1;
    }
    else if (crc_bit1[f] == -2)
    {
        /* E = 0 while our receiver has no CRC-4 multiframe (or interworks), and once per
           errored block it received (§2.2). */
        bit1 = 1;
        if (rx != NULL)
        {
            if (!rx->crc_aligned  ||  rx->interworking)
                bit1 = 0;
            else if (s->e_sent < rx->stats.crc_errors)
            {
                bit1 = 0;
                s->e_sent++;
            }
        }
    }
    else
    {
        bit1 = crc_bit1[f];
    }
    if ((f & 1) == 0)
        return (bit1 << 7) | FAS;
    int a = s->force_rai  ||  (rx != NULL  &&  (rx->los  ||  rx->ais  ||  !rx->aligned));
    return (bit1 << 7) | 0x40 | (a << 5) | s->cfg.sa_bits;
}

static int tx_ts16(const vb_e1_tx_state_t *s)
{
    int f = s->frame;

    if (!s->cfg.cas)
        return VB_E1_IDLE;
    if (f == 0)
    {
        int y = s->rx != NULL  &&  s->rx->cfg.cas  &&  !s->rx->cas_aligned;
        return TS16_FRAME0 | (y ? TS16_Y : 0);
    }
    return (s->abcd[f - 1] << 4) | s->abcd[f + 14];
}

int vb_e1_tx(vb_e1_tx_state_t *s, const uint8_t bearer[], int stride, uint8_t out[], int frames)
{
    if (frames < 0  ||  (bearer != NULL  &&  stride < frames))
        return VB_ERR_INVALID;
    for (int i = 0;  i < frames;  i++)
    {
        uint8_t *o = out + (size_t) i*TS;
        int crc = s->crc;

        o[0] = (uint8_t) tx_ts0(s);
        o[16] = (uint8_t) tx_ts16(s);
        for (int c = 0;  c < VB_E1_CHANNELS;  c++)
        {
            int t = c < 15 ? c + 1 : c + 2;
            o[t] = bearer != NULL ? bearer[(size_t) c*stride + i] : VB_E1_IDLE;
        }
        if (s->cfg.crc4 != VB_E1_CRC4_OFF)
        {
            crc = crc_octet(crc, (s->frame & 1) ? o[0] : (o[0] & 0x7F));
            for (int t = 1;  t < TS;  t++)
                crc = crc_octet(crc, o[t]);
            if ((s->frame & 7) == 7)
            {
                s->c_out = crc;
                crc = 0;
            }
            s->crc = crc;
        }
        s->frame = (s->frame + 1) & 15;
    }
    return frames;
}

/* ---- receiver ------------------------------------------------------------------------------ */

vb_e1_rx_state_t *vb_e1_rx_init(vb_e1_rx_state_t *s, const vb_e1_config_t *cfg)
{
    if (!config_valid(cfg))
        return NULL;
    pthread_once(&crc_once, crc_table_init);
    if ((s = VB_STATE_CLAIM(s, vb_e1_rx_state_t)) == NULL)
        return NULL;
    s->cfg = *cfg;
    s->red_frames = cfg->red_ms*VB_E1_FRAME_RATE/1000;
    s->interworking_frames = cfg->interworking_ms*VB_E1_FRAME_RATE/1000;
    s->mfas_cand = -1;
    s->crc_prev = -1;
    s->prev_ts16 = -1;
    return s;
}

int vb_e1_rx_release(vb_e1_rx_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_e1_rx_free(vb_e1_rx_state_t *s)
{
    if (s != NULL)
    {
        vb_e1_rx_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

static void reset_multiframes(vb_e1_rx_state_t *s)
{
    s->crc_aligned = 0;
    s->mfas_shift = 0;
    s->mfas_cand = -1;
    s->crc_prev = -1;
    s->crc = 0;
    s->c_recv = 0;
    s->win_blocks = 0;
    s->win_errors = 0;
    s->crc_since_align = 0;
    if (s->cas_aligned)
        s->stats.cas_mf_losses++;
    s->cas_aligned = 0;
    s->mfas_bad = 0;
    s->ts16_zero_run = 0;
    s->prev_ts16 = -1;
    s->y_run = 0;
    s->rmf = 0;
}

/* Give up frame alignment and hunt again. A real loss (FAS errors, false alignment) also
   restarts the CRC-4 interworking timer; a search restarted for want of a CRC-4 multiframe
   within 8 ms keeps it running, so that 400 ms later interworking is declared. */
static void lose_alignment(vb_e1_rx_state_t *s, int real)
{
    s->aligned = 0;
    s->stats.frame_losses++;
    s->rai_run = 0;
    s->rai = 0;
    if (real)
    {
        s->crc_search = 0;
        s->interworking = 0;
    }
    reset_multiframes(s);
}

static void crc4_frame(vb_e1_rx_state_t *s, const uint8_t *f, int was_fas)
{
    int ts0 = f[0];
    int bit1 = ts0 >> 7;

    if (!s->crc_aligned)
    {
        if (was_fas)
            return;
        s->mfas_shift = ((s->mfas_shift << 1) | bit1) & 0x3F;
        if (s->mfas_shift == MFAS_WORD)
        {
            int64_t now = s->stats.frames;
            if (s->mfas_cand >= 0  &&  ((now - s->mfas_cand) & 15) == 0)
            {
                /* Two alignment words a whole multiframe (or several) apart (§2.2). */
                s->crc_aligned = 1;
                s->mf_pos = 11;
                s->crc = 0;
                s->crc_prev = -1;
                s->c_recv = 0;
                s->crc_partial = 1;
                return;
            }
            s->mfas_cand = now;
        }
        return;
    }
    s->mf_pos = (s->mf_pos + 1) & 15;
    int p = s->mf_pos;
    if ((p & 1) == 0)
    {
        s->c_recv = (s->c_recv << 1) | bit1;
        s->crc = crc_octet(s->crc, ts0 & 0x7F);
    }
    else
    {
        s->crc = crc_octet(s->crc, ts0);
        if ((p == 13  ||  p == 15)  &&  bit1 == 0)
            s->stats.ebit_errors++;
    }
    for (int t = 1;  t < TS;  t++)
        s->crc = crc_octet(s->crc, f[t]);
    if ((p & 7) == 7)
    {
        /* This block's C bits carry the remainder of the previous one. The block in which
           the multiframe was found was summed in part only: it is not checked. */
        if (s->crc_partial)
        {
            s->crc_partial = 0;
            s->crc = -1;
        }
        else if (s->crc_prev >= 0)
        {
            int bad = (s->c_recv & 15) != s->crc_prev;
            s->stats.crc_blocks++;
            s->stats.crc_errors += bad;
            s->win_blocks++;
            s->win_errors += bad;
            if (s->win_blocks == FALSE_ALIGN_BLOCKS)
            {
                int false_alignment = s->win_errors >= FALSE_ALIGN_ERRORS;
                s->win_blocks = 0;
                s->win_errors = 0;
                if (false_alignment)
                {
                    s->stats.false_alignments++;
                    lose_alignment(s, 1);
                    return;
                }
            }
        }
        s->crc_prev = s->crc;
        s->crc = 0;
        s->c_recv = 0;
    }
}

static void cas_frame(vb_e1_rx_state_t *s, int ts16)
{
    /* TS16 AIS: too few zeros in a multiframe's worth of TS16 octets (§2.4). */
    s->ts16_zeros += 8 - __builtin_popcount(ts16);
    if (++s->ts16_count == 16)
    {
        s->ts16_ais = s->ts16_zeros < s->cfg.ais_zeros;
        s->ts16_zeros = 0;
        s->ts16_count = 0;
    }
    s->ts16_zero_run = ts16 == 0 ? s->ts16_zero_run + 1 : 0;
    if (!s->cas_aligned)
    {
        if ((ts16 & 0xF0) == 0  &&  s->prev_ts16 > 0)
        {
            s->cas_aligned = 1;
            s->cas_pos = 0;
            s->mfas_bad = 0;
            s->y_run = 0;
            s->rmf = 0;
        }
        s->prev_ts16 = ts16;
        return;
    }
    s->prev_ts16 = ts16;
    s->cas_pos = (s->cas_pos + 1) & 15;
    if (s->ts16_zero_run >= 16)
    {
        s->cas_aligned = 0;
        s->stats.cas_mf_losses++;
        return;
    }
    if (s->cas_pos == 0)
    {
        if ((ts16 & 0xF0) != 0)
        {
            if (++s->mfas_bad >= 2)
            {
                s->cas_aligned = 0;
                s->stats.cas_mf_losses++;
            }
            return;
        }
        s->mfas_bad = 0;
        if (((ts16 & TS16_Y) != 0) != s->rmf)
        {
            if (++s->y_run >= s->cfg.y_multiframes)
            {
                s->rmf = !s->rmf;
                s->y_run = 0;
            }
        }
        else
        {
            s->y_run = 0;
        }
        return;
    }
    int chans[2] = {s->cas_pos - 1, s->cas_pos + 14};
    int vals[2] = {ts16 >> 4, ts16 & 15};
    for (int k = 0;  k < 2;  k++)
    {
        int c = chans[k];
        int v = vals[k];
        if (v == s->abcd[c])
        {
            s->cand_count[c] = 0;
            continue;
        }
        if (v != s->cand[c])
        {
            s->cand[c] = (uint8_t) v;
            s->cand_count[c] = 0;
        }
        if (++s->cand_count[c] >= s->cfg.cas_persistence)
        {
            s->abcd[c] = (uint8_t) v;
            s->cand_count[c] = 0;
            s->stats.abcd_changes++;
        }
    }
}

static void decode_frame(vb_e1_rx_state_t *s, const uint8_t *f)
{
    int ts0 = f[0];
    int was_fas = s->fas_next;

    s->fas_next = !s->fas_next;
    if (was_fas)
    {
        if ((ts0 & 0x7F) != FAS)
        {
            s->stats.fas_errors++;
            if (++s->fas_bad >= 3)
            {
                /* 3 consecutive FAS in error (G.706 §4.1.1). */
                lose_alignment(s, 1);
                return;
            }
        }
        else
        {
            s->fas_bad = 0;
        }
    }
    else
    {
        if ((ts0 & 0x40) == 0)
        {
            if (++s->nfas_bad >= 3  &&  s->cfg.nfas_loss)
            {
                lose_alignment(s, 1);
                return;
            }
        }
        else
        {
            s->nfas_bad = 0;
        }
        s->sa_bits = ts0 & 0x1F;
        if (((ts0 >> 5) & 1) != s->rai)
        {
            if (++s->rai_run >= s->cfg.rai_frames)
            {
                s->rai = !s->rai;
                s->rai_run = 0;
            }
        }
        else
        {
            s->rai_run = 0;
        }
    }
    s->stats.frames++;
    if (s->cfg.crc4 != VB_E1_CRC4_OFF  &&  !s->interworking)
    {
        crc4_frame(s, f, was_fas);
        if (!s->aligned)
            return;
        if (!s->crc_aligned  &&  ++s->crc_since_align >= CRC_SEARCH_FRAMES)
        {
            if (s->cfg.crc4 == VB_E1_CRC4_AUTO  &&  s->crc_search >= s->interworking_frames)
            {
                s->interworking = 1;
            }
            else
            {
                s->stats.crc_mf_timeouts++;
                lose_alignment(s, 0);
                return;
            }
        }
    }
    if (s->cfg.cas)
        cas_frame(s, f[16]);
}

static void write_bearer(const uint8_t *f, uint8_t *bearer, int stride, int col)
{
    for (int c = 0;  c < VB_E1_CHANNELS;  c++)
        bearer[(size_t) c*stride + col] = f[c < 15 ? c + 1 : c + 2];
}

static void idle_bearer(uint8_t *bearer, int stride, int col)
{
    for (int c = 0;  c < VB_E1_CHANNELS;  c++)
        bearer[(size_t) c*stride + col] = VB_E1_IDLE;
}

static void line_octet(vb_e1_rx_state_t *s, int b)
{
    int ones = __builtin_popcount(b);

    /* LOS: a run of los_zeros zero bits; cleared by enough ones in a 256-bit block (§2.5). */
    if (b == 0)
        s->zero_run += 8;
    else
        s->zero_run = __builtin_ctz(b);
    if (s->zero_run >= s->cfg.los_zeros)
        s->los = 1;
    s->block_ones += ones;
    if ((s->pos & 31) == 31)
    {
        if (s->los  &&  s->block_ones >= s->cfg.los_clear_ones  &&  s->zero_run < s->cfg.los_zeros)
            s->los = 0;
        s->block_ones = 0;
    }
    /* AIS: fewer than ais_zeros zeros in 512 bits (§2.5). */
    s->block_zeros += 8 - ones;
    if ((s->pos & 63) == 63)
    {
        s->ais = s->block_zeros < s->cfg.ais_zeros;
        s->block_zeros = 0;
    }
}

int vb_e1_rx(vb_e1_rx_state_t *s, const uint8_t in[], int frames, uint8_t bearer[], int stride)
{
    int col = 0;

    if (frames < 0  ||  (bearer != NULL  &&  stride < frames))
        return VB_ERR_INVALID;
    for (int i = 0;  i < frames*TS;  i++)
    {
        int b = in[i];
        int64_t pos = s->pos;

        line_octet(s, b);
        s->hist[pos & (VB_E1_HISTORY - 1)] = (uint8_t) b;
        if (!s->aligned)
        {
            if ((pos & 31) == 31)
                s->lof_frames++;
            if (s->cfg.crc4 != VB_E1_CRC4_OFF  &&  (pos & 31) == 31)
                s->crc_search++;
            /* FAS here (frame n+2), bit 2 = 1 a frame before, FAS two frames before (G.706 §4.1.2). */
            if (pos >= 2*TS  &&  (b & 0x7F) == FAS
                &&  (s->hist[(pos - TS) & (VB_E1_HISTORY - 1)] & 0x40)
                &&  (s->hist[(pos - 2*TS) & (VB_E1_HISTORY - 1)] & 0x7F) == FAS)
            {
                s->aligned = 1;
                s->ts0_pos = pos;
                s->fas_next = 1;
                s->fas_bad = 0;
                s->nfas_bad = 0;
                s->lof_frames = 0;
                s->crc_since_align = 0;
            }
        }
        if (s->aligned)
        {
            int slot = (int) (pos - s->ts0_pos) & 31;
            s->frame[slot] = (uint8_t) b;
            if (slot == 31)
            {
                if (s->cfg.crc4 != VB_E1_CRC4_OFF  &&  !s->interworking)
                    s->crc_search++;
                decode_frame(s, s->frame);
                s->have_frame = s->aligned;
            }
        }
        s->pos++;
        /* One bearer column per 32 octets consumed (calls start on such a boundary): the
           frame completed in them, if any, so the output does not depend on call sizes. */
        if ((pos & 31) == 31)
        {
            if (bearer != NULL)
            {
                if (s->have_frame)
                    write_bearer(s->frame, bearer, stride, col);
                else
                    idle_bearer(bearer, stride, col);
            }
            col++;
            s->have_frame = 0;
        }
    }
    return frames;
}

int vb_e1_rx_get_status(const vb_e1_rx_state_t *s, vb_e1_rx_status_t *st)
{
    int alarms = 0;

    memset(st, 0, sizeof(*st));
    st->frame_aligned = s->aligned;
    st->crc4_aligned = s->crc_aligned;
    st->cas_aligned = s->cas_aligned;
    st->interworking = s->interworking;
    st->sa_bits = s->sa_bits;
    if (s->los)
        alarms |= VB_E1_ALARM_LOS;
    if (s->ais)
        alarms |= VB_E1_ALARM_AIS;
    if (!s->aligned)
    {
        alarms |= VB_E1_ALARM_LOF;
        if (s->lof_frames >= s->red_frames)
            alarms |= VB_E1_ALARM_RED;
    }
    else
    {
        if (s->rai)
            alarms |= VB_E1_ALARM_RAI;
        if (s->cfg.cas)
        {
            if (!s->cas_aligned)
                alarms |= VB_E1_ALARM_TS16_LOMF;
            else if (s->rmf)
                alarms |= VB_E1_ALARM_TS16_RMF;
            if (s->ts16_ais)
                alarms |= VB_E1_ALARM_TS16_AIS;
        }
    }
    st->alarms = alarms;
    memcpy(st->abcd, s->abcd, sizeof(st->abcd));
    return VB_OK;
}

int vb_e1_rx_get_stats(const vb_e1_rx_state_t *s, vb_e1_rx_stats_t *st)
{
    *st = s->stats;
    st->octets = s->pos;
    return VB_OK;
}
