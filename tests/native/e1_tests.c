/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - e1_tests.c: tests of the E1 framer.
 */
/*! \page e1_tests_page E1 framer tests
\section e1_tests_page_sec_1 What does it do?
Checks vb/e1.h against telephony.md §2: the CRC-4 test vector, a transmitter-receiver round
trip of bearer octets and the ABCD bits of all 30 channels, frame alignment gained and lost
exactly by the G.706 counts, CRC-4 errors coming back as the far end's E bits, the CAS
multiframe rules, every alarm, CRC-4 interworking and the 915-of-1000 false-alignment rule;
and the MFC-R2 tones that travel in the bearer (vb/r2mf.h): each of the 15 signals of both
directions from the generator to the receiver, fed in ragged blocks. (tests/test_r2mf.py
checks the receiver against an independent generator.)
*/
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/e1.h"
#include "vb/private/e1.h"
#include "vb/r2mf.h"
#include "vb/private/r2mf.h"

#define TS VB_E1_TIMESLOTS
#define NCH VB_E1_CHANNELS

static void fail(const char *what, int line)
{
    printf("    Failed (line %d): %s\n", line, what);
    exit(2);
}

#define CHECK(cond) do { if (!(cond)) fail(#cond, __LINE__); } while (0)

/* A transmitter and receiver pair for each end of a back-to-back span. */
typedef struct
{
    vb_e1_rx_state_t *rx;
    vb_e1_tx_state_t *tx;
} end_t;

static void end_init(end_t *e, const vb_e1_config_t *cfg)
{
    e->rx = vb_e1_rx_init(NULL, cfg);
    e->tx = vb_e1_tx_init(NULL, cfg, e->rx);
    CHECK(e->rx != NULL  &&  e->tx != NULL);
}

static void end_free(end_t *e)
{
    vb_e1_tx_free(e->tx);
    vb_e1_rx_free(e->rx);
}

static vb_e1_rx_status_t status(const vb_e1_rx_state_t *rx)
{
    vb_e1_rx_status_t st;
    vb_e1_rx_get_status(rx, &st);
    return st;
}

static vb_e1_rx_stats_t stats(const vb_e1_rx_state_t *rx)
{
    vb_e1_rx_stats_t st;
    vb_e1_rx_get_stats(rx, &st);
    return st;
}

/* Run both directions of a span for n frames, one frame per call. */
static void run_span(end_t *a, end_t *b, int n)
{
    uint8_t f[TS];

    for (int i = 0;  i < n;  i++)
    {
        vb_e1_tx(a->tx, NULL, 0, f, 1);
        vb_e1_rx(b->rx, f, 1, NULL, 0);
        vb_e1_tx(b->tx, NULL, 0, f, 1);
        vb_e1_rx(a->rx, f, 1, NULL, 0);
    }
}

static void test_crc4_vector(void)
{
    uint8_t mf[16*TS];
    uint8_t block[8*TS];

    printf("Test 1: CRC-4 test vector (telephony.md §2.2)\n");
    /* TS0 as in the multiframe table with C = 0, A = 0, Sa = 1, E = 1; TS16 0x0B in frame 0
       and 0x99 elsewhere; every other timeslot 0xD5. */
    static const int bit1[16] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1};
    for (int f = 0;  f < 16;  f++)
    {
        memset(mf + f*TS, 0xD5, TS);
        mf[f*TS] = (f & 1) ? (uint8_t) ((bit1[f] << 7) | 0x5F) : 0x1B;
        mf[f*TS + 16] = f == 0 ? 0x0B : 0x99;
    }
    CHECK(mf[1*TS] == 0x5F  &&  mf[5*TS] == 0xDF);
    CHECK(vb_e1_crc4(mf) == 0x9);           /* 1001 */
    CHECK(vb_e1_crc4(mf + 8*TS) == 0xE);    /* 1110 */
    /* The C bits themselves do not count. */
    mf[0] |= 0x80;
    mf[8*TS + 6*TS] |= 0x80;
    CHECK(vb_e1_crc4(mf) == 0x9  &&  vb_e1_crc4(mf + 8*TS) == 0xE);
    memset(block, 0, sizeof(block));
    CHECK(vb_e1_crc4(block) == 0);
    /* All ones: §2.2 gives 0100 for the remainder over all 2048 ones; the framer sums the
       block with the four C positions at 0, which gives 1101 (bitwise long division). */
    memset(block, 0xFF, sizeof(block));
    CHECK(vb_e1_crc4(block) == 0xD);
    printf("    Passed\n");
}

static void test_transmitter_layout(void)
{
    vb_e1_config_t cfg;
    vb_e1_tx_state_t *tx;
    uint8_t bearer[NCH*16];
    uint8_t out[16*TS];

    printf("Test 2: Transmitted frame layout (TS0, TS16, channel order)\n");
    vb_e1_default_config(&cfg);
    tx = vb_e1_tx_init(NULL, &cfg, NULL);
    CHECK(tx != NULL);
    for (int c = 0;  c < NCH;  c++)
    {
        for (int f = 0;  f < 16;  f++)
            bearer[c*16 + f] = (uint8_t) (c*7 + f);
        CHECK(vb_e1_tx_set_abcd(tx, c + 1, (c % 15) + 1) == VB_OK);
    }
    CHECK(vb_e1_tx_set_abcd(tx, 0, 1) == VB_ERR_INVALID);
    CHECK(vb_e1_tx_set_abcd(tx, 31, 1) == VB_ERR_INVALID);
    CHECK(vb_e1_tx_set_abcd(tx, 1, 0) == VB_ERR_INVALID);
    CHECK(vb_e1_tx_set_abcd(tx, 15, 0) == VB_ERR_INVALID);
    CHECK(vb_e1_tx_set_abcd(tx, 16, 0) == VB_OK  &&  vb_e1_tx_get_abcd(tx, 16) == 0);
    CHECK(vb_e1_tx_set_abcd(tx, 16, 1) == VB_OK);
    CHECK(vb_e1_tx_set_abcd(tx, 1, 16) == VB_ERR_INVALID);
    CHECK(vb_e1_tx(tx, bearer, 15, out, 16) == VB_ERR_INVALID);
    CHECK(vb_e1_tx(tx, bearer, 16, out, 16) == 16);
    for (int f = 0;  f < 16;  f++)
    {
        const uint8_t *o = out + f*TS;
        if (f & 1)
        {
            CHECK((o[0] & 0x7F) == 0x5F);   /* bit 2 = 1, A = 0, Sa = 11111 */
        }
        else
        {
            CHECK((o[0] & 0x7F) == 0x1B);
        }
        for (int c = 0;  c < NCH;  c++)
            CHECK(o[c < 15 ? c + 1 : c + 2] == (uint8_t) (c*7 + f));
        if (f == 0)
            CHECK(o[16] == 0x0B);
        else
            CHECK(o[16] == (((((f - 1) % 15) + 1) << 4) | (((f + 14) % 15) + 1)));
    }
    /* CRC-4 alignment word 001011 in frames 1..11 and E = 1 in 13, 15 (no receiver linked). */
    static const int bit1[8] = {0, 0, 1, 0, 1, 1, 1, 1};
    for (int k = 0;  k < 8;  k++)
        CHECK((out[(2*k + 1)*TS] >> 7) == bit1[k]);
    /* The C bits of the second multiframe are the CRC of the blocks sent before them. */
    uint8_t out2[16*TS];
    vb_e1_tx(tx, NULL, 0, out2, 16);
    int c2 = 0;
    int c1 = 0;
    for (int k = 0;  k < 4;  k++)
    {
        c1 = (c1 << 1) | (out2[2*k*TS] >> 7);
        c2 = (c2 << 1) | (out2[(8 + 2*k)*TS] >> 7);
    }
    CHECK(c1 == vb_e1_crc4(out + 8*TS));
    CHECK(c2 == vb_e1_crc4(out2));
    vb_e1_tx_free(tx);
    printf("    Passed\n");
}

static void test_round_trip(void)
{
    vb_e1_config_t cfg;
    end_t a;
    end_t b;
    enum { N = 160 };
    uint8_t bearer[NCH*N];
    uint8_t got[NCH*N];
    uint8_t line[N*TS];

    printf("Test 3: Round trip: bearer octets, ABCD of all 30 channels, no errors\n");
    vb_e1_default_config(&cfg);
    end_init(&a, &cfg);
    end_init(&b, &cfg);
    for (int c = 0;  c < NCH;  c++)
        CHECK(vb_e1_tx_set_abcd(a.tx, c + 1, 1 + (c*11) % 15) == VB_OK);
    int last_col_ok = 0;
    int64_t e_start[2] = {0, 0};
    for (int tick = 0;  tick < 10;  tick++)
    {
        /* While a receiver looks for the CRC-4 multiframe its transmitter sends E = 0 (§2.2),
           which the other end, aligned sooner, counts: only errors after start-up matter. */
        if (tick == 2)
        {
            e_start[0] = stats(a.rx).ebit_errors;
            e_start[1] = stats(b.rx).ebit_errors;
        }
        for (int i = 0;  i < NCH*N;  i++)
            bearer[i] = (uint8_t) (i*31 + tick);
        CHECK(vb_e1_tx(a.tx, bearer, N, line, N) == N);
        CHECK(vb_e1_rx(b.rx, line, N, got, N) == N);
        vb_e1_tx(b.tx, NULL, 0, line, N);
        vb_e1_rx(a.rx, line, N, NULL, 0);
        if (tick >= 1)
        {
            last_col_ok = memcmp(bearer, got, sizeof(got)) == 0;
            CHECK(last_col_ok);
        }
    }
    vb_e1_rx_status_t st = status(b.rx);
    CHECK(st.frame_aligned  &&  st.crc4_aligned  &&  st.cas_aligned  &&  !st.interworking);
    CHECK(st.alarms == 0);
    CHECK(st.sa_bits == 0x1F);
    for (int c = 0;  c < NCH;  c++)
        CHECK(st.abcd[c] == 1 + (c*11) % 15);
    vb_e1_rx_stats_t sb = stats(b.rx);
    CHECK(sb.fas_errors == 0  &&  sb.crc_errors == 0  &&  sb.crc_blocks >= 190  &&  sb.frame_losses == 0);
    CHECK(sb.ebit_errors == e_start[1]  &&  stats(a.rx).ebit_errors == e_start[0]);
    CHECK(status(a.rx).alarms == 0);
    end_free(&a);
    end_free(&b);
    printf("    Passed\n");
}

/* Frames from a fresh transmitter, for feeding a receiver by hand. */
static uint8_t *tx_frames(const vb_e1_config_t *cfg, int n)
{
    vb_e1_tx_state_t *tx = vb_e1_tx_init(NULL, cfg, NULL);
    uint8_t *out = malloc((size_t) n*TS + TS);
    CHECK(tx != NULL  &&  out != NULL);
    vb_e1_tx(tx, NULL, 0, out, n);
    vb_e1_tx_free(tx);
    return out;
}

static void test_alignment_counts(void)
{
    vb_e1_config_t cfg;
    vb_e1_rx_state_t *rx;
    uint8_t *s;

    printf("Test 4: Frame alignment gained and lost by the G.706 counts\n");
    vb_e1_default_config(&cfg);
    cfg.crc4 = VB_E1_CRC4_OFF;
    s = tx_frames(&cfg, 64);
    /* Start one octet after frame 0's TS0: the FAS of frame 2 is then stream octet 63, the
       last of the second block; the FAS of frame 0 was never seen, so the triple is frames
       2, 3, 4 and alignment comes with octet 127, the last of the fourth block. */
    rx = vb_e1_rx_init(NULL, &cfg);
    for (int blk = 0;  blk < 3;  blk++)
    {
        vb_e1_rx(rx, s + 1 + blk*TS, 1, NULL, 0);
        CHECK(!status(rx).frame_aligned);
    }
    vb_e1_rx(rx, s + 1 + 3*TS, 1, NULL, 0);
    CHECK(status(rx).frame_aligned);
    vb_e1_rx_free(rx);

    /* Bit 2 of the NFAS frame between two FAS at 0 (frame 3): no alignment on frames 2-4. */
    uint8_t *t = tx_frames(&cfg, 64);
    t[3*TS] &= (uint8_t) ~0x40;
    rx = vb_e1_rx_init(NULL, &cfg);
    vb_e1_rx(rx, t + 1, 4, NULL, 0);
    CHECK(!status(rx).frame_aligned);
    vb_e1_rx(rx, t + 1 + 4*TS, 2, NULL, 0);      /* frames 4, 5, 6 */
    CHECK(status(rx).frame_aligned);

    /* Lost only on the third consecutive FAS error. */
    rx = vb_e1_rx_init(rx, &cfg);
    vb_e1_rx(rx, s, 8, NULL, 0);
    CHECK(status(rx).frame_aligned);
    uint8_t f[TS];
    int frame = 8;
    for (int round = 0;  round < 2;  round++)
    {
        /* Two FAS errors, then a good FAS: still aligned. */
        for (int k = 0;  k < 6;  k++, frame++)
        {
            memcpy(f, s + (frame % 64)*TS, TS);
            if ((frame & 1) == 0  &&  k < 4)
                f[0] ^= 0x01;
            vb_e1_rx(rx, f, 1, NULL, 0);
            CHECK(status(rx).frame_aligned);
        }
    }
    CHECK(stats(rx).fas_errors == 4  &&  stats(rx).frame_losses == 0);
    for (int k = 0;  k < 5;  k++, frame++)
    {
        memcpy(f, s + (frame % 64)*TS, TS);
        if ((frame & 1) == 0)
            f[0] ^= 0x10;
        vb_e1_rx(rx, f, 1, NULL, 0);
        CHECK(status(rx).frame_aligned == (k < 4));
    }
    CHECK(stats(rx).fas_errors == 7  &&  stats(rx).frame_losses == 1);
    CHECK(status(rx).alarms & VB_E1_ALARM_LOF);

    /* NFAS bit-2 errors lose alignment only when asked to. */
    cfg.nfas_loss = 1;
    rx = vb_e1_rx_init(rx, &cfg);
    vb_e1_rx(rx, s, 8, NULL, 0);
    for (int k = 0;  k < 6;  k++, frame++)
    {
        memcpy(f, s + (frame % 64)*TS, TS);
        if (frame & 1)
            f[0] &= (uint8_t) ~0x40;
        vb_e1_rx(rx, f, 1, NULL, 0);
    }
    CHECK(!status(rx).frame_aligned);
    vb_e1_rx_free(rx);
    free(s);
    free(t);
    printf("    Passed\n");
}

static void test_block_size_invariance(void)
{
    vb_e1_config_t cfg;
    enum { N = 800 };

    printf("Test 5: Results do not depend on how many frames a call takes\n");
    vb_e1_default_config(&cfg);
    uint8_t *s = tx_frames(&cfg, N);
    for (int i = 40;  i < N*TS;  i += 977)
        s[i] ^= 0x10;                           /* some errors to count */
    vb_e1_rx_state_t *r1 = vb_e1_rx_init(NULL, &cfg);
    vb_e1_rx_state_t *r2 = vb_e1_rx_init(NULL, &cfg);
    static uint8_t b1[NCH*N];
    static uint8_t b2[NCH*N];
    vb_e1_rx(r1, s + 5, N - 1, b1, N);
    uint8_t col[NCH];
    for (int i = 0;  i < N - 1;  i++)
    {
        vb_e1_rx(r2, s + 5 + i*TS, 1, col, 1);
        for (int c = 0;  c < NCH;  c++)
            b2[c*N + i] = col[c];
    }
    for (int c = 0;  c < NCH;  c++)
        CHECK(memcmp(b1 + c*N, b2 + c*N, N - 1) == 0);
    vb_e1_rx_stats_t x = stats(r1);
    vb_e1_rx_stats_t y = stats(r2);
    CHECK(memcmp(&x, &y, sizeof(x)) == 0);
    CHECK(x.crc_errors > 0  &&  x.crc_errors < x.crc_blocks);
    vb_e1_rx_free(r1);
    vb_e1_rx_free(r2);
    free(s);
    printf("    Passed\n");
}

static void test_crc_errors_in_e_bits(void)
{
    vb_e1_config_t cfg;
    end_t a;
    end_t b;
    uint8_t f[TS];

    printf("Test 6: CRC-4 errors are reported back in the far end's E bits\n");
    vb_e1_default_config(&cfg);
    end_init(&a, &cfg);
    end_init(&b, &cfg);
    run_span(&a, &b, 400);
    CHECK(status(a.rx).crc4_aligned  &&  status(b.rx).crc4_aligned);
    CHECK(stats(a.rx).ebit_errors == 0);
    /* One bit error in a bearer octet of each of 7 frames far apart: 7 errored blocks. */
    for (int i = 0;  i < 7*50;  i++)
    {
        vb_e1_tx(a.tx, NULL, 0, f, 1);
        if (i % 50 == 0)
            f[3] ^= 0x04;
        vb_e1_rx(b.rx, f, 1, NULL, 0);
        vb_e1_tx(b.tx, NULL, 0, f, 1);
        vb_e1_rx(a.rx, f, 1, NULL, 0);
    }
    run_span(&a, &b, 64);
    CHECK(stats(b.rx).crc_errors == 7);
    CHECK(stats(a.rx).ebit_errors == 7);
    CHECK(stats(b.rx).ebit_errors == 0  &&  stats(a.rx).crc_errors == 0);
    CHECK(status(b.rx).frame_aligned  &&  status(b.rx).crc4_aligned);
    end_free(&a);
    end_free(&b);
    printf("    Passed\n");
}

static void test_cas(void)
{
    vb_e1_config_t cfg;
    end_t a;
    end_t b;

    printf("Test 7: CAS multiframe: ABCD persistence, MFAS loss and Y bit\n");
    vb_e1_default_config(&cfg);
    end_init(&a, &cfg);
    end_init(&b, &cfg);
    run_span(&a, &b, 200);
    vb_e1_rx_status_t st = status(b.rx);
    CHECK(st.cas_aligned);
    for (int c = 0;  c < NCH;  c++)
        CHECK(st.abcd[c] == 0x0B);
    int64_t changes = stats(b.rx).abcd_changes;
    CHECK(changes == NCH);                      /* from "none yet" to idle */
    /* Each channel in turn: a change for 9 multiframes is ignored, for 10 it is taken. */
    for (int c = 1;  c <= NCH;  c++)
    {
        vb_e1_tx_set_abcd(a.tx, c, 0x03);
        run_span(&a, &b, 9*16);
        vb_e1_tx_set_abcd(a.tx, c, 0x0B);
        run_span(&a, &b, 20*16);
        CHECK(status(b.rx).abcd[c - 1] == 0x0B);
        vb_e1_tx_set_abcd(a.tx, c, 0x03);
        run_span(&a, &b, 11*16);
        st = status(b.rx);
        for (int k = 0;  k < NCH;  k++)
            CHECK(st.abcd[k] == (k == c - 1 ? 0x03 : 0x0B));
        vb_e1_tx_set_abcd(a.tx, c, 0x0B);
        run_span(&a, &b, 11*16);
    }
    CHECK(stats(b.rx).abcd_changes == changes + 2*NCH);

    /* MFAS in error once: kept; twice in a row: lost, and the far end sees Y. */
    uint8_t f[TS];
    for (int errors = 1;  errors <= 2;  errors++)
    {
        int hit = 0;
        for (int i = 0;  i < 64;  i++)
        {
            vb_e1_tx(a.tx, NULL, 0, f, 1);
            if ((f[16] & 0xF0) == 0  &&  hit < errors)
            {
                f[16] |= 0x80;
                hit++;
            }
            vb_e1_rx(b.rx, f, 1, NULL, 0);
            vb_e1_tx(b.tx, NULL, 0, f, 1);
            vb_e1_rx(a.rx, f, 1, NULL, 0);
        }
        if (errors == 1)
            CHECK(status(b.rx).cas_aligned  &&  stats(b.rx).cas_mf_losses == 0);
    }
    CHECK(stats(b.rx).cas_mf_losses == 1);
    /* Realigned at the next MFAS; meanwhile a saw the Y bit for 2 multiframes at most. */
    CHECK(status(b.rx).cas_aligned);
    CHECK(status(b.rx).abcd[0] == 0x0B);
    end_free(&a);
    end_free(&b);

    /* TS16 all zeros for a multiframe: lost; Y from the far end: remote MF alarm. */
    end_init(&a, &cfg);
    end_init(&b, &cfg);
    run_span(&a, &b, 200);
    for (int i = 0;  i < 48;  i++)
    {
        vb_e1_tx(a.tx, NULL, 0, f, 1);
        f[16] = 0;
        vb_e1_rx(b.rx, f, 1, NULL, 0);
        vb_e1_tx(b.tx, NULL, 0, f, 1);
        vb_e1_rx(a.rx, f, 1, NULL, 0);
    }
    CHECK(!status(b.rx).cas_aligned);
    CHECK(status(b.rx).alarms & VB_E1_ALARM_TS16_LOMF);
    CHECK(status(a.rx).alarms & VB_E1_ALARM_TS16_RMF);
    run_span(&a, &b, 100);
    CHECK(status(b.rx).alarms == 0  &&  status(a.rx).alarms == 0);
    end_free(&a);
    end_free(&b);
    printf("    Passed\n");
}

static void test_alarms(void)
{
    vb_e1_config_t cfg;
    end_t a;
    end_t b;
    uint8_t f[TS];

    printf("Test 8: Alarms: LOS, AIS, LOF/red, RAI, TS16 AIS, and recovery\n");
    vb_e1_default_config(&cfg);
    end_init(&a, &cfg);
    end_init(&b, &cfg);
    run_span(&a, &b, 400);
    CHECK(status(a.rx).alarms == 0  &&  status(b.rx).alarms == 0);

    /* LOS: 255 zero bits in a row (31 octets + 7 bits); the first full zero octets do not. */
    uint8_t zeros[TS];
    memset(zeros, 0, sizeof(zeros));
    vb_e1_tx(a.tx, NULL, 0, f, 1);
    f[31] = 0x80;                               /* ends in 7 zero bits */
    vb_e1_rx(b.rx, f, 1, NULL, 0);
    memcpy(f, zeros, TS);
    f[31] = 0x01;                               /* 31 zero octets + 7 zero bits = 255 */
    vb_e1_rx(b.rx, f, 1, NULL, 0);
    CHECK(status(b.rx).alarms & VB_E1_ALARM_LOS);
    /* The far end sees our A bit (RAI) after 3 NFAS frames. */
    for (int i = 0;  i < 40;  i++)
    {
        vb_e1_rx(b.rx, zeros, 1, NULL, 0);
        vb_e1_tx(b.tx, NULL, 0, f, 1);
        vb_e1_rx(a.rx, f, 1, NULL, 0);
    }
    CHECK(status(b.rx).alarms & VB_E1_ALARM_LOF);
    CHECK(!(status(b.rx).alarms & VB_E1_ALARM_RED));
    /* ... and the Y bit: without frame alignment b has no CAS multiframe either. */
    CHECK(status(a.rx).alarms == (VB_E1_ALARM_RAI | VB_E1_ALARM_TS16_RMF));
    /* Red after LOF has lasted 100 ms. */
    for (int i = 0;  i < 800;  i++)
        vb_e1_rx(b.rx, zeros, 1, NULL, 0);
    CHECK((status(b.rx).alarms & (VB_E1_ALARM_LOS | VB_E1_ALARM_RED)) == (VB_E1_ALARM_LOS | VB_E1_ALARM_RED));
    run_span(&a, &b, 64);
    CHECK(status(b.rx).alarms == 0  &&  status(a.rx).alarms == 0);

    /* AIS: all ones. */
    uint8_t ones[TS];
    memset(ones, 0xFF, sizeof(ones));
    for (int i = 0;  i < 4;  i++)
        vb_e1_rx(b.rx, ones, 1, NULL, 0);
    CHECK(status(b.rx).alarms & VB_E1_ALARM_AIS);
    CHECK(!(status(b.rx).alarms & VB_E1_ALARM_LOS));
    run_span(&a, &b, 64);
    CHECK(status(b.rx).alarms == 0);
    /* Two zeros in 512 bits are still AIS; three are not. */
    for (int zeros_in = 2;  zeros_in <= 3;  zeros_in++)
    {
        vb_e1_rx_state_t *rx = vb_e1_rx_init(NULL, &cfg);
        for (int blk = 0;  blk < 4;  blk++)
        {
            memset(f, 0xFF, TS);
            if (blk < 2)
                f[5] = (uint8_t) (0xFF << zeros_in);
            vb_e1_rx(rx, f, 1, NULL, 0);
            memset(f, 0xFF, TS);
            if (blk >= 2)
                f[9] = (uint8_t) (0xFF << zeros_in);
            vb_e1_rx(rx, f, 1, NULL, 0);
        }
        CHECK(((status(rx).alarms & VB_E1_ALARM_AIS) != 0) == (zeros_in == 2));
        vb_e1_rx_free(rx);
    }

    /* RAI forced at the far end: 2 NFAS frames are not enough, 3 are; and it clears. */
    vb_e1_tx_set_rai(a.tx, 1);
    run_span(&a, &b, 4);
    CHECK(!(status(b.rx).alarms & VB_E1_ALARM_RAI));
    run_span(&a, &b, 2);
    CHECK(status(b.rx).alarms & VB_E1_ALARM_RAI);
    vb_e1_tx_set_rai(a.tx, 0);
    run_span(&a, &b, 8);
    CHECK(status(b.rx).alarms == 0);

    /* TS16 AIS: all ones in TS16 (the CAS multiframe goes with it). */
    for (int i = 0;  i < 64;  i++)
    {
        vb_e1_tx(a.tx, NULL, 0, f, 1);
        f[16] = 0xFF;
        vb_e1_rx(b.rx, f, 1, NULL, 0);
    }
    CHECK(status(b.rx).alarms & VB_E1_ALARM_TS16_AIS);
    CHECK(status(b.rx).alarms & VB_E1_ALARM_TS16_LOMF);
    CHECK(status(b.rx).frame_aligned);
    run_span(&a, &b, 64);
    CHECK(status(b.rx).alarms == 0);
    end_free(&a);
    end_free(&b);
    printf("    Passed\n");
}

static void test_interworking(void)
{
    vb_e1_config_t cfg;
    vb_e1_config_t off;

    printf("Test 9: CRC-4 to non-CRC-4 interworking after 400 ms (G.706 Annex B)\n");
    vb_e1_default_config(&cfg);
    off = cfg;
    off.crc4 = VB_E1_CRC4_OFF;
    uint8_t *s = tx_frames(&off, 8000);
    vb_e1_rx_state_t *rx = vb_e1_rx_init(NULL, &cfg);
    /* 390 ms: still searching, the frame search restarted every 8 ms. */
    vb_e1_rx(rx, s, 3120, NULL, 0);
    CHECK(!status(rx).interworking);
    CHECK(stats(rx).crc_mf_timeouts >= 40);
    vb_e1_rx(rx, s + 3120*TS, 400, NULL, 0);
    vb_e1_rx_status_t st = status(rx);
    CHECK(st.interworking  &&  st.frame_aligned  &&  !st.crc4_aligned  &&  st.cas_aligned);
    int64_t timeouts = stats(rx).crc_mf_timeouts;
    vb_e1_rx(rx, s + 3520*TS, 4000, NULL, 0);
    CHECK(stats(rx).crc_mf_timeouts == timeouts  &&  status(rx).frame_aligned);
    /* A receiver that requires CRC-4 never settles. */
    cfg.crc4 = VB_E1_CRC4_ON;
    rx = vb_e1_rx_init(rx, &cfg);
    vb_e1_rx(rx, s, 8000, NULL, 0);
    CHECK(!status(rx).interworking  &&  stats(rx).crc_mf_timeouts > 100);
    /* Our transmitter sends E = 0 while interworking. */
    cfg.crc4 = VB_E1_CRC4_AUTO;
    rx = vb_e1_rx_init(rx, &cfg);
    vb_e1_tx_state_t *tx = vb_e1_tx_init(NULL, &cfg, rx);
    vb_e1_rx(rx, s, 4000, NULL, 0);
    CHECK(status(rx).interworking);
    uint8_t out[16*TS];
    vb_e1_tx(tx, NULL, 0, out, 16);
    CHECK((out[13*TS] >> 7) == 0  &&  (out[15*TS] >> 7) == 0);
    vb_e1_tx_free(tx);
    vb_e1_rx_free(rx);
    free(s);
    printf("    Passed\n");
}

static void test_false_alignment(void)
{
    vb_e1_config_t cfg;

    printf("Test 10: 915 errored CRC-4 blocks of 1000 restart the frame search\n");
    vb_e1_default_config(&cfg);
    enum { N = 16*1100 };
    uint8_t *s = tx_frames(&cfg, N);
    /* Every sub-multiframe errored from frame 160 on (one bit in TS5 of its first frame). */
    for (int f = 160;  f < N;  f += 8)
        s[f*TS + 5] ^= 0x01;
    vb_e1_rx_state_t *rx = vb_e1_rx_init(NULL, &cfg);
    vb_e1_rx(rx, s, 160, NULL, 0);
    CHECK(status(rx).crc4_aligned);
    int64_t before = stats(rx).crc_blocks;
    int64_t left = 1000 - before % 1000;
    /* The window is counted from the first checked block: it closes after 1000 blocks. */
    vb_e1_rx(rx, s + 160*TS, (int) (left*8) - 8, NULL, 0);
    CHECK(stats(rx).false_alignments == 0  &&  status(rx).frame_aligned);
    vb_e1_rx(rx, s + (160 + left*8 - 8)*TS, 8, NULL, 0);
    CHECK(stats(rx).false_alignments == 1);
    free(s);

    /* Exactly 914 errored blocks in the first window: kept; exactly 915: false alignment. */
    for (int errored = 914;  errored <= 915;  errored++)
    {
        s = tx_frames(&cfg, N);
        for (int k = 0;  k < errored;  k++)
            s[(160 + 8*k)*TS + 5] ^= 0x01;
        rx = vb_e1_rx_init(rx, &cfg);
        vb_e1_rx(rx, s, N, NULL, 0);
        CHECK(stats(rx).crc_blocks >= 1000);
        CHECK(stats(rx).false_alignments == (errored == 915));
        free(s);
    }
    vb_e1_rx_free(rx);
    printf("    Passed\n");
}

static void test_r2mf(void)
{
    enum { N = 4000 };
    int16_t amp[N];

    printf("Test 11: MFC-R2 tones: every signal of both directions, any block size\n");
    CHECK(vb_r2mf_tx_init(NULL, 2, -11.0f) == NULL);
    CHECK(vb_r2mf_tx_init(NULL, VB_R2MF_FORWARD, 0.0f) == NULL);
    for (int dir = VB_R2MF_FORWARD;  dir <= VB_R2MF_BACKWARD;  dir++)
    {
        vb_r2mf_tx_state_t *tx = vb_r2mf_tx_init(NULL, dir, -11.0f);
        vb_r2mf_rx_state_t *rx = vb_r2mf_rx_init(NULL, dir, NULL);
        vb_r2mf_rx_state_t *other = vb_r2mf_rx_init(NULL, !dir, NULL);
        CHECK(tx != NULL  &&  rx != NULL  &&  other != NULL);
        CHECK(vb_r2mf_tx_put(tx, 16) == VB_ERR_INVALID  &&  vb_r2mf_tx_put(tx, -1) == VB_ERR_INVALID);
        for (int sig = 1;  sig <= 15;  sig++)
        {
            CHECK(vb_r2mf_tx_put(tx, sig) == VB_OK  &&  vb_r2mf_tx_current(tx) == sig);
            CHECK(vb_r2mf_tx(tx, amp, 800) == 800);
            CHECK(vb_r2mf_tx_put(tx, 0) == VB_OK);
            CHECK(vb_r2mf_tx(tx, amp + 800, 800) == 800);
            CHECK(amp[900] == 0  &&  amp[1599] == 0);
            int at = 0;
            int seen = 0;
            for (int step = 1;  at < 1600;  step = step*7 % 311 + 1)
            {
                int n = step < 1600 - at ? step : 1600 - at;
                CHECK(vb_r2mf_rx(rx, amp + at, n) == 0);
                vb_r2mf_rx(other, amp + at, n);
                at += n;
                if (vb_r2mf_rx_get(rx) == sig)
                    seen = 1;
                CHECK(vb_r2mf_rx_get(rx) == 0  ||  vb_r2mf_rx_get(rx) == sig);
                CHECK(vb_r2mf_rx_get(other) == 0);
            }
            CHECK(seen  &&  vb_r2mf_rx_get(rx) == 0);
            CHECK(vb_r2mf_rx_changes(rx) == 2*sig);
            float f1;
            float f2;
            CHECK(vb_r2mf_freqs(dir, sig, &f1, &f2) == VB_OK  &&  f1 != f2);
        }
        CHECK(vb_r2mf_freqs(dir, 0, NULL, NULL) == VB_ERR_INVALID);
        vb_r2mf_tx_free(tx);
        vb_r2mf_rx_free(rx);
        vb_r2mf_rx_free(other);
    }
    printf("    Passed\n");
}

/* The state memory contract of every module (vb/private/state.h), on two of them: _free()
   frees only what _init(NULL) allocated, also after a re-_init. Freeing caller storage would
   abort (glibc) or be reported (ASan); not freeing the allocated one would be a leak (LSan). */
static void test_state_memory(void)
{
    vb_e1_config_t cfg;
    vb_e1_rx_state_t rx_storage;
    vb_r2mf_tx_state_t mf_storage;
    vb_e1_rx_state_t *rx;
    vb_r2mf_tx_state_t *mf;

    printf("Test 12: _free() frees what _init(NULL) allocated and nothing else\n");
    vb_e1_default_config(&cfg);
    memset(&rx_storage, 0xA5, sizeof(rx_storage));      /* not zeroed: any garbage will do */
    rx_storage.allocated = 0;
    CHECK(vb_e1_rx_init(&rx_storage, &cfg) == &rx_storage  &&  rx_storage.allocated == 0);
    vb_e1_rx_free(&rx_storage);
    memset(&mf_storage, 0, sizeof(mf_storage));
    CHECK(vb_r2mf_tx_init(&mf_storage, VB_R2MF_FORWARD, -8.0f) == &mf_storage);
    vb_r2mf_tx_free(&mf_storage);

    CHECK((rx = vb_e1_rx_init(NULL, &cfg)) != NULL  &&  rx->allocated == 1);
    CHECK(vb_e1_rx_init(rx, &cfg) == rx  &&  rx->allocated == 1);
    vb_e1_rx_free(rx);
    CHECK((mf = vb_r2mf_tx_init(NULL, VB_R2MF_BACKWARD, -8.0f)) != NULL);
    CHECK(vb_r2mf_tx_init(mf, VB_R2MF_FORWARD, -8.0f) == mf);
    vb_r2mf_tx_free(mf);
    printf("    Passed\n");
}

int main(void)
{
    test_crc4_vector();
    test_transmitter_layout();
    test_round_trip();
    test_alignment_counts();
    test_block_size_invariance();
    test_crc_errors_in_e_bits();
    test_cas();
    test_alarms();
    test_interworking();
    test_false_alignment();
    test_r2mf();
    test_state_memory();
    printf("Tests passed.\n");
    return 0;
}
