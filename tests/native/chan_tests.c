/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - chan_tests.c: tests of the board tick.
 */
/*! \page chan_tests_page Board tick tests
\section chan_tests_page_sec_1 What does it do?
Checks vb/chan.h against its documented contract: argument limits, sample-exact play-out of
queued prompts across ticks, flushing, barge-in at the sample where the receiver recognised a
digit (and no barge-in for a digit outside the set), recording up to the maximum, a saturating
full-duplex bridge, and the event positions. DTMF is made by a generator in this file, not by
the library.
*/
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/chan.h"
#include "vb/private/chan.h"

#define TICK VB_BOARD_DEFAULT_TICK

static void fail(const char *what, int line)
{
    printf("    Failed (line %d): %s\n", line, what);
    exit(2);
}

#define CHECK(cond) do { if (!(cond)) fail(#cond, __LINE__); } while (0)

/* A DTMF pair (Q.23 frequencies) at -10 dBm0 per tone, written independently of the core. */
static void my_dtmf(int16_t *out, int n, double row_hz, double col_hz)
{
    double amp = 16141.0*sqrt(2.0)*pow(10.0, -10.0/20.0);  /* peak of a -10 dBm0 sine */

    for (int i = 0;  i < n;  i++)
        out[i] = (int16_t) lrint(amp*(sin(2.0*M_PI*row_hz*i/8000.0 + 0.3) + sin(2.0*M_PI*col_hz*i/8000.0 + 1.1)));
}

static void ramp(int16_t *p, int n, int seed)
{
    for (int i = 0;  i < n;  i++)
        p[i] = (int16_t) (((i + 1)*(seed*2 + 1)*37) % 20001 - 10000);
}

static int take_events(vb_board_state_t *b, vb_board_event_t *ev, int max)
{
    return vb_board_get_events(b, ev, max);
}

static void test_limits(void)
{
    vb_board_state_t *b;

    printf("Test 1: Argument limits\n");
    CHECK(vb_board_init(NULL, 0, TICK, NULL) == NULL);
    CHECK(vb_board_init(NULL, VB_BOARD_MAX_CHANNELS + 1, TICK, NULL) == NULL);
    CHECK(vb_board_init(NULL, 1, 0, NULL) == NULL);
    CHECK(vb_board_init(NULL, 1, VB_BOARD_MAX_TICK + 1, NULL) == NULL);
    CHECK((b = vb_board_init(NULL, VB_BOARD_MAX_CHANNELS, TICK, NULL)) != NULL);
    CHECK(vb_board_channels(b) == VB_BOARD_MAX_CHANNELS  &&  vb_board_tick_size(b) == TICK);
    CHECK(vb_chan_play(b, VB_BOARD_MAX_CHANNELS, NULL, 0, 0) == VB_ERR_INVALID);
    CHECK(vb_chan_play(b, -1, NULL, 0, 0) == VB_ERR_INVALID);
    CHECK(vb_chan_play(b, 0, NULL, -1, 0) == VB_ERR_INVALID);
    CHECK(vb_chan_play(b, 0, NULL, 0, 1 << 16) == VB_ERR_INVALID);
    CHECK(vb_chan_record_start(b, 0, 0) == VB_ERR_INVALID);
    CHECK(vb_board_bridge(b, 3, 3) == VB_ERR_INVALID);
    CHECK(vb_board_unbridge(b, 3) == VB_ERR_STATE);
    CHECK(vb_board_tick(b, NULL, NULL) == VB_ERR_INVALID);
    CHECK(vb_chan_digit_mask("") == 0);
    CHECK(vb_chan_digit_mask("0") == 1);
    CHECK(vb_chan_digit_mask("D") == 1 << 15  &&  vb_chan_digit_mask("d") == 1 << 15);
    CHECK(vb_chan_digit_mask("0123456789*#ABCD") == 0xFFFF);
    CHECK(vb_chan_digit_mask("12x") == VB_ERR_INVALID);
    CHECK(vb_chan_digit_mask(NULL) == VB_ERR_INVALID);
    CHECK(vb_board_partner(b, -1) == VB_ERR_INVALID);
    CHECK(vb_board_unbridge(b, VB_BOARD_MAX_CHANNELS) == VB_ERR_INVALID);
    CHECK(vb_board_bridge(b, 0, VB_BOARD_MAX_CHANNELS) == VB_ERR_INVALID);
    CHECK(vb_board_get_events(b, NULL, -1) == VB_ERR_INVALID);
    CHECK(vb_chan_stop_play(b, -1) == VB_ERR_INVALID);
    CHECK(vb_chan_play_queued(b, -1) == VB_ERR_INVALID);
    CHECK(vb_chan_record_start(b, -1, 100) == VB_ERR_INVALID);
    CHECK(vb_chan_record_stop(b, -1) == VB_ERR_INVALID);
    CHECK(vb_chan_recording(b, -1) == VB_ERR_INVALID);
    CHECK(vb_chan_record_len(b, -1) == VB_ERR_INVALID);
    CHECK(vb_chan_record_take(b, 0, NULL, -1) == VB_ERR_INVALID);
    CHECK(vb_chan_record_take(b, 0, NULL, 0) == 0);
    vb_board_free(b);
    printf("    Passed\n");
}

static void test_play_out(void)
{
    enum { LEN_A = 410, LEN_B = 37, LEN_C = 500, TICKS = 8 };
    vb_board_state_t *b = vb_board_init(NULL, 2, TICK, NULL);
    int16_t a[LEN_A], bb[LEN_B], c[LEN_C];
    int16_t rx[2*TICK] = {0};
    int16_t tx[2*TICK];
    int16_t sent[TICKS*TICK];
    vb_board_event_t ev[16];
    int ids[3];
    int n;
    int done = 0;

    printf("Test 2: Queued prompts play out back to back, sample-exact\n");
    ramp(a, LEN_A, 1);
    ramp(bb, LEN_B, 2);
    ramp(c, LEN_C, 3);
    ids[0] = vb_chan_play(b, 1, a, LEN_A, 0);
    ids[1] = vb_chan_play(b, 1, bb, LEN_B, 0);
    ids[2] = vb_chan_play(b, 1, c, LEN_C, 0);
    CHECK(ids[0] == 1  &&  ids[1] == 2  &&  ids[2] == 3);
    /* The prompt is copied: the caller may scribble on its buffer. */
    memset(a, 0, sizeof(a));
    ramp(a, LEN_A, 1);
    CHECK(vb_chan_play_queued(b, 1) == LEN_A + LEN_B + LEN_C);
    for (int t = 0;  t < TICKS;  t++)
    {
        CHECK(vb_board_tick(b, rx, tx) >= 0);
        memcpy(sent + t*TICK, tx + TICK, TICK*sizeof(int16_t));
        for (int k = 0;  k < TICK;  k++)
            CHECK(tx[k] == 0);
        while ((n = take_events(b, ev, 16)) > 0)
        {
            for (int i = 0;  i < n;  i++)
            {
                static const int64_t ends[3] = {LEN_A, LEN_A + LEN_B, LEN_A + LEN_B + LEN_C};

                CHECK(ev[i].kind == VB_EV_PLAY_DONE  &&  ev[i].reason == VB_REASON_END  &&  ev[i].channel == 1);
                CHECK(ev[i].prompt == ids[done]  &&  ev[i].pos == ends[done]);
                done++;
            }
        }
    }
    CHECK(done == 3);
    CHECK(memcmp(sent, a, sizeof(a)) == 0);
    CHECK(memcmp(sent + LEN_A, bb, sizeof(bb)) == 0);
    CHECK(memcmp(sent + LEN_A + LEN_B, c, sizeof(c)) == 0);
    for (int k = LEN_A + LEN_B + LEN_C;  k < TICKS*TICK;  k++)
        CHECK(sent[k] == 0);
    CHECK(vb_chan_play_queued(b, 1) == 0);
    CHECK(vb_board_position(b) == TICKS*TICK);
    vb_board_free(b);
    printf("    Passed\n");
}

static void test_flush(void)
{
    vb_board_state_t *b = vb_board_init(NULL, 1, TICK, NULL);
    int16_t p[1000];
    int16_t rx[TICK] = {0};
    int16_t tx[TICK];
    vb_board_event_t ev[8];

    printf("Test 3: Flush reports every queued prompt and silences the channel\n");
    ramp(p, 1000, 4);
    vb_chan_play(b, 0, p, 1000, 0);
    vb_chan_play(b, 0, p, 1000, 0);
    vb_board_tick(b, rx, tx);
    CHECK(memcmp(tx, p, sizeof(tx)) == 0);
    CHECK(vb_chan_stop_play(b, 0) == 2);
    CHECK(take_events(b, ev, 8) == 2);
    CHECK(ev[0].reason == VB_REASON_FLUSH  &&  ev[0].prompt == 1  &&  ev[0].pos == TICK);
    CHECK(ev[1].reason == VB_REASON_FLUSH  &&  ev[1].prompt == 2);
    vb_board_tick(b, rx, tx);
    for (int k = 0;  k < TICK;  k++)
        CHECK(tx[k] == 0);
    CHECK(vb_chan_stop_play(b, 0) == 0);
    vb_board_free(b);
    printf("    Passed\n");
}

/* Play a long prompt on channel 0 with the given barge-in set while '5' arrives on rx.
   Returns the sample position of the DIGIT_ON event; *cut gets the first silent sample. */
static int64_t barge_run(const char *set, int64_t *cut)
{
    enum { TICKS = 25, TONE_AT = 1000, TONE_LEN = 600 };
    vb_board_state_t *b = vb_board_init(NULL, 1, TICK, NULL);
    static int16_t prompt[TICKS*TICK];
    static int16_t rx_all[TICKS*TICK];
    static int16_t tx_all[TICKS*TICK];
    vb_board_event_t ev[8];
    int64_t on_pos = -1;

    *cut = -1;
    for (int i = 0;  i < TICKS*TICK;  i++)
        prompt[i] = (int16_t) (3000 + i % 1000);
    memset(rx_all, 0, sizeof(rx_all));
    my_dtmf(rx_all + TONE_AT, TONE_LEN, 770.0, 1336.0);    /* '5' */
    CHECK(vb_chan_play(b, 0, prompt, TICKS*TICK, vb_chan_digit_mask(set)) == 1);
    for (int t = 0;  t < TICKS;  t++)
    {
        int n;

        vb_board_tick(b, rx_all + t*TICK, tx_all + t*TICK);
        n = take_events(b, ev, 8);
        for (int i = 0;  i < n;  i++)
        {
            if (ev[i].kind == VB_EV_DIGIT_ON)
            {
                CHECK(ev[i].digit == '5');
                CHECK(ev[i].pos > t*TICK  &&  ev[i].pos <= (t + 1)*TICK);
                CHECK(ev[i].start >= TONE_AT - 32  &&  ev[i].start <= TONE_AT + 32);
                on_pos = ev[i].pos;
            }
            if (ev[i].kind == VB_EV_PLAY_DONE  &&  ev[i].reason == VB_REASON_BARGE_IN)
            {
                CHECK(ev[i].pos == on_pos);
                *cut = ev[i].pos;
            }
            else if (ev[i].kind == VB_EV_PLAY_DONE)
            {
                CHECK(ev[i].reason == VB_REASON_END  &&  ev[i].pos == TICKS*TICK);
            }
        }
    }
    for (int i = 0;  i < TICKS*TICK;  i++)
    {
        if (*cut >= 0  &&  i >= *cut)
            CHECK(tx_all[i] == 0);
        else
            CHECK(tx_all[i] == prompt[i]);
    }
    vb_board_free(b);
    return on_pos;
}

static void test_barge_in(void)
{
    int64_t cut;
    int64_t on;

    printf("Test 4: Barge-in cuts the prompt at the sample where the digit was recognised\n");
    on = barge_run("5#", &cut);
    CHECK(on > 0  &&  cut == on);
    /* Recognised within the receiver's minimum-on time (6 hops) plus the 4 hops its long
       window needs to fill, plus one for alignment. */
    CHECK(cut - 1000 <= 11*VB_DTMF_HOP);
    printf("    Passed (recognised %d samples after the tone began)\n", (int) (on - 1000));
    printf("Test 5: A digit outside the barge-in set does not stop the prompt\n");
    on = barge_run("1234", &cut);
    CHECK(on > 0  &&  cut == -1);
    printf("    Passed\n");
}

static void test_record(void)
{
    enum { MAX = 20000 };
    vb_board_state_t *b = vb_board_init(NULL, 3, TICK, NULL);
    static int16_t rx_all[200*3*TICK];
    int16_t tx[3*TICK];
    static int16_t got[MAX];
    vb_board_event_t ev[8];
    int have = 0;
    int limit_seen = 0;
    int t;

    printf("Test 6: Recording is sample-exact and stops at its maximum\n");
    for (int i = 0;  i < 200*3*TICK;  i++)
        rx_all[i] = (int16_t) (i*7919 % 30011 - 15000);
    CHECK(vb_chan_record_start(b, 2, MAX) == VB_OK);
    for (t = 0;  t < 200;  t++)
    {
        int n;

        vb_board_tick(b, rx_all + t*3*TICK, tx);
        /* Drain now and then: the buffer holds what was not taken yet. */
        if (t % 7 == 0)
            have += vb_chan_record_take(b, 2, got + have, MAX - have);
        n = take_events(b, ev, 8);
        for (int i = 0;  i < n;  i++)
        {
            CHECK(ev[i].kind == VB_EV_RECORD_LIMIT  &&  ev[i].channel == 2);
            CHECK(ev[i].reason == VB_REASON_LIMIT  &&  ev[i].pos == MAX);
            limit_seen++;
        }
    }
    have += vb_chan_record_take(b, 2, got + have, MAX - have);
    CHECK(limit_seen == 1  &&  have == MAX);
    CHECK(vb_chan_recording(b, 2) == 0  &&  vb_chan_record_len(b, 2) == 0);
    for (int i = 0;  i < MAX;  i++)
        CHECK(got[i] == rx_all[(i/TICK)*3*TICK + 2*TICK + i % TICK]);
    vb_board_free(b);
    printf("    Passed\n");
}

static void test_bridge(void)
{
    vb_board_state_t *b = vb_board_init(NULL, 4, TICK, NULL);
    int16_t rx[4*TICK];
    int16_t tx[4*TICK];
    int16_t p[TICK];

    printf("Test 7: Bridge passes audio both ways, mixed with play-out, saturating\n");
    for (int i = 0;  i < 4*TICK;  i++)
        rx[i] = (int16_t) (i*131 % 2001 - 1000);
    rx[1*TICK + 5] = 32000;
    rx[1*TICK + 6] = -32000;
    CHECK(vb_board_bridge(b, 1, 3) == VB_OK);
    CHECK(vb_board_bridge(b, 3, 1) == VB_OK);
    CHECK(vb_board_bridge(b, 1, 2) == VB_ERR_STATE);
    CHECK(vb_board_partner(b, 3) == 1  &&  vb_board_partner(b, 0) == VB_ERR_STATE);
    for (int i = 0;  i < TICK;  i++)
        p[i] = (i == 5) ? 30000 : (i == 6) ? -30000 : 100;
    vb_chan_play(b, 3, p, TICK, 0);
    vb_board_tick(b, rx, tx);
    for (int i = 0;  i < TICK;  i++)
    {
        int32_t want3 = p[i] + rx[1*TICK + i];

        want3 = (want3 > 32767) ? 32767 : (want3 < -32768) ? -32768 : want3;
        CHECK(tx[1*TICK + i] == rx[3*TICK + i]);
        CHECK(tx[3*TICK + i] == want3);
        CHECK(tx[0*TICK + i] == 0  &&  tx[2*TICK + i] == 0);
    }
    CHECK(tx[3*TICK + 5] == 32767  &&  tx[3*TICK + 6] == -32768);
    CHECK(vb_board_unbridge(b, 3) == 1);
    vb_board_tick(b, rx, tx);
    for (int i = 0;  i < 4*TICK;  i++)
        CHECK(tx[i] == 0);
    vb_board_free(b);
    printf("    Passed\n");
}

static void test_dtmf_settings_and_reset(void)
{
    vb_board_state_t *b = vb_board_init(NULL, 2, TICK, NULL);
    vb_dtmf_rx_params_t p;
    vb_dtmf_rx_stats_t st;
    int16_t rx[2*TICK] = {0};
    int16_t tx[2*TICK];
    int16_t prompt[500] = {1};

    printf("Test 8: Per-channel DTMF settings, statistics and a reset with work pending\n");
    vb_dtmf_rx_default_params(&p, VB_DTMF_MODE_STRICT);
    CHECK(vb_chan_set_dtmf_params(b, 1, &p) == VB_OK);
    CHECK(vb_chan_set_dtmf_params(b, 2, &p) == VB_ERR_INVALID);
    p.min_on_ms = 2;
    CHECK(vb_chan_set_dtmf_params(b, 1, &p) == VB_ERR_INVALID);
    CHECK(vb_chan_set_dtmf_params(b, 0, NULL) == VB_ERR_INVALID);
    CHECK(vb_chan_get_dtmf_stats(b, 2, &st) == VB_ERR_INVALID);
    vb_board_tick(b, rx, tx);
    CHECK(vb_chan_get_dtmf_stats(b, 1, &st) == VB_OK  &&  st.samples == TICK);
    /* Reset with prompts queued and a recording held: everything is freed (the
       AddressSanitizer build of this program checks for leaks). */
    vb_chan_play(b, 0, prompt, 500, 0);
    vb_chan_record_start(b, 1, 1000);
    vb_board_tick(b, rx, tx);
    CHECK(vb_board_init(b, 1, 80, NULL) == b);
    CHECK(vb_board_channels(b) == 1  &&  vb_board_tick_size(b) == 80  &&  vb_board_position(b) == 0);
    CHECK(vb_chan_play_queued(b, 0) == 0  &&  vb_chan_record_len(b, 0) == 0);
    CHECK(vb_board_get_events(b, NULL, 0) == 0);
    CHECK(vb_board_init(b, 0, 80, NULL) == NULL);
    CHECK(vb_board_channels(b) == 1);
    vb_board_free(b);
    printf("    Passed\n");
}

int main(void)
{
    test_limits();
    test_play_out();
    test_flush();
    test_barge_in();
    test_record();
    test_bridge();
    test_dtmf_settings_and_reset();
    printf("Tests passed.\n");
    return 0;
}
