/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - tone.c: cadenced tone generator and DTMF generator (see vb/tone.h).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/tone.h"
#include "vb/private/state.h"
#include "vb/private/tone.h"

#define RAMP (VB_TONE_RAMP_MS*VB_SAMPLE_RATE/1000)  /* 16 samples */
#define TABLE_BITS 10                               /* 1024-point sine table */
#define TABLE_SIZE (1 << TABLE_BITS)

/* One period of a sine plus a guard point for the interpolation. Linear interpolation between
   1024 points is off by at most (2 pi/1024)^2/8 = 4.7e-6 of the peak. */
static float sine_table[TABLE_SIZE + 1];
static float rise_table[RAMP];              /* rise(i, RAMP): every full-length ramp */
static pthread_once_t sine_once = PTHREAD_ONCE_INIT;

/* Raised cosine rising over 'len' samples, sampled mid-sample so that it is never 0 or 1. */
static float rise_of(int i, int len)
{
    return 0.5f - 0.5f*cosf((float) M_PI*(i + 0.5f)/len);
}

static void sine_init(void)
{
    for (int i = 0;  i <= TABLE_SIZE;  i++)
        sine_table[i] = (float) sin(2.0*M_PI*i/TABLE_SIZE);
    for (int i = 0;  i < RAMP;  i++)
        rise_table[i] = rise_of(i, RAMP);
}

static inline float sine_at(uint32_t phase)
{
    uint32_t i = phase >> (32 - TABLE_BITS);
    float frac = (float) ((phase >> (32 - TABLE_BITS - 16)) & 0xFFFF)*(1.0f/65536.0f);

    return sine_table[i] + (sine_table[i + 1] - sine_table[i])*frac;
}

/* Peak amplitude of a sine at a level in dBm0 (telephony.h: 0 dBm0 has RMS VB_DBM0_RMS). */
static float peak_of(float dbm0)
{
    return (float) (VB_DBM0_RMS*M_SQRT2*pow(10.0, dbm0/20.0));
}

static uint32_t step_of(float hz)
{
    return (uint32_t) llround(hz*4294967296.0/VB_SAMPLE_RATE);
}

/* rise_of() from the table for a full ramp (a tone shorter than two ramps has shorter ones). */
static inline float rise(int i, int len)
{
    return (len == RAMP)  ?  rise_table[i]  :  rise_of(i, len);
}

static int segment_sounds(const vb_tone_segment_t *g)
{
    return g->f1_hz > 0.0f  &&  g->on_ms > 0;
}

static int segment_valid(const vb_tone_segment_t *g)
{
    float peak = 0.0f;

    if (g->f1_hz < 0.0f  ||  g->f1_hz >= VB_SAMPLE_RATE/2  ||  g->f2_hz < 0.0f  ||  g->f2_hz >= VB_SAMPLE_RATE/2)
        return 0;
    if (g->on_ms < 0  ||  g->off_ms < 0  ||  g->on_ms + g->off_ms <= 0)
        return 0;
    /* No oscillator may need more than a day of samples (int counts). */
    if (g->on_ms > 86400000  ||  g->off_ms > 86400000)
        return 0;
    if (g->f1_hz > 0.0f)
        peak += peak_of(g->level1_dbm0);
    if (g->f1_hz > 0.0f  &&  g->f2_hz > 0.0f)
        peak += peak_of(g->level2_dbm0);
    return peak <= 32767.0f  &&  isfinite(g->level1_dbm0)  &&  isfinite(g->level2_dbm0);
}

vb_tone_tx_state_t *vb_tone_tx_init(vb_tone_tx_state_t *s)
{
    pthread_once(&sine_once, sine_init);
    return VB_STATE_CLAIM(s, vb_tone_tx_state_t);
}

int vb_tone_tx_release(vb_tone_tx_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_tone_tx_free(vb_tone_tx_state_t *s)
{
    if (s != NULL)
    {
        vb_tone_tx_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

int vb_tone_tx_state_size(void)
{
    return (int) sizeof(vb_tone_tx_state_t);
}

int vb_tone_tx_active(const vb_tone_tx_state_t *s)
{
    return s->count > 0;
}

/* Start segment 'seg' of the tone playing. 'end_amp' holds the amplitudes the previous
   segment ended with (0 after silence): this one moves from them to its own levels. */
static void begin_segment(vb_tone_tx_state_t *s, int seg, const float end_amp[2])
{
    const vb_tone_segment_t *g = &s->tones[s->head].seg[seg];
    float f[2] = {g->f1_hz, g->f2_hz};
    float level[2] = {g->level1_dbm0, g->level2_dbm0};
    int r;

    s->seg = seg;
    s->pos = 0;
    s->on_len = g->on_ms*(VB_SAMPLE_RATE/1000);
    s->off_len = g->off_ms*(VB_SAMPLE_RATE/1000);
    s->sounding = segment_sounds(g);
    s->stopping = 0;
    s->decided = 0;
    r = (s->on_len/2 < RAMP) ? s->on_len/2 : RAMP;
    s->ramp_up = 0;
    for (int k = 0;  k < 2;  k++)
    {
        s->from[k] = end_amp[k];
        s->to[k] = (s->sounding  &&  f[k] > 0.0f) ? peak_of(level[k]) : 0.0f;
        /* A slot that falls silent keeps its frequency while it ramps out. */
        if (s->sounding  &&  f[k] > 0.0f)
            s->step[k] = step_of(f[k]);
        if (s->from[k] != s->to[k])
            s->ramp_up = r;
    }
    if (s->sounding  &&  s->off_len == 0)
    {
        /* Whether to ramp down depends on what follows; choose it as late as possible. */
        s->decide_at = s->on_len - r;
        s->ramp_down = r;
    }
    else
    {
        s->decide_at = -1;
        s->ramp_down = s->sounding ? r : 0;
    }
}

static int next_slot(int slot)
{
    return (slot + 1) % VB_TONE_SLOTS;
}

/* Choose what follows the segment playing. */
static void decide(vb_tone_tx_state_t *s)
{
    const vb_tone_t *t = &s->tones[s->head];

    s->decided = 1;
    s->next_end = 0;
    s->next_tone = 0;
    if (s->stopping)
        s->next_end = 1;
    else if (s->seg + 1 < t->n)
        s->next_seg = s->seg + 1;
    else if (s->count > 1)
    {
        s->next_tone = 1;
        s->next_seg = 0;
    }
    else if (t->first_repeat >= 0)
        s->next_seg = t->first_repeat;
    else
        s->next_end = 1;
    if (s->decide_at >= 0)
    {
        /* Sounding with no off-time: keep sounding into a segment that sounds. */
        const vb_tone_t *nt = s->next_tone ? &s->tones[next_slot(s->head)] : t;

        if (!s->next_end  &&  segment_sounds(&nt->seg[s->next_seg]))
            s->ramp_down = 0;
    }
}

static void advance(vb_tone_tx_state_t *s)
{
    float end_amp[2] = {0.0f, 0.0f};

    if (!s->decided)
        decide(s);
    if (s->sounding  &&  s->off_len == 0  &&  s->ramp_down == 0)
    {
        end_amp[0] = s->to[0];
        end_amp[1] = s->to[1];
    }
    if (s->next_end)
    {
        s->count = 0;
        return;
    }
    if (s->next_tone)
    {
        s->head = next_slot(s->head);
        s->count--;
    }
    begin_segment(s, s->next_seg, end_amp);
}

int vb_tone_tx_put(vb_tone_tx_state_t *s, const vb_tone_segment_t seg[], int n)
{
    vb_tone_t *t;
    int first_repeat = -1;
    static const float silent[2] = {0.0f, 0.0f};

    if (n < 1  ||  n > VB_TONE_MAX_SEGMENTS)
        return VB_ERR_INVALID;
    for (int i = 0;  i < n;  i++)
    {
        if (!segment_valid(&seg[i]))
            return VB_ERR_INVALID;
        if (seg[i].repeat  &&  first_repeat < 0)
            first_repeat = i;
        if (!seg[i].repeat  &&  first_repeat >= 0)
            return VB_ERR_INVALID;
    }
    if (s->count == VB_TONE_SLOTS)
        return VB_ERR_FULL;
    t = &s->tones[(s->head + s->count) % VB_TONE_SLOTS];
    memcpy(t->seg, seg, n*sizeof(seg[0]));
    t->n = n;
    t->first_repeat = first_repeat;
    if (s->count++ == 0)
        begin_segment(s, 0, silent);
    return VB_OK;
}

/* Amplitude of slot k at sample 'pos' of the on-time. */
static float envelope(const vb_tone_tx_state_t *s, int k, int pos)
{
    if (pos < s->ramp_up)
        return s->from[k] + (s->to[k] - s->from[k])*rise(pos, s->ramp_up);
    if (pos >= s->on_len - s->ramp_down)
        return s->to[k]*rise(s->on_len - 1 - pos, s->ramp_down);
    return s->to[k];
}

int vb_tone_tx_stop(vb_tone_tx_state_t *s)
{
    float now[2];

    if (s->count == 0)
        return VB_OK;
    if (!s->sounding  ||  s->pos >= s->on_len)
    {
        s->count = 0;
        return VB_OK;
    }
    /* Replace the rest of the segment by a ramp from the present amplitude to silence. */
    now[0] = envelope(s, 0, s->pos);
    now[1] = envelope(s, 1, s->pos);
    s->count = 1;
    s->from[0] = now[0];
    s->from[1] = now[1];
    s->to[0] = s->to[1] = 0.0f;
    s->pos = 0;
    s->on_len = RAMP;
    s->off_len = 0;
    s->ramp_up = RAMP;
    s->ramp_down = 0;
    s->decide_at = -1;
    s->decided = 0;
    s->stopping = 1;
    return VB_OK;
}

static inline int16_t saturate(float x)
{
    x = rintf(x);
    return (int16_t) ((x > 32767.0f) ? 32767 : (x < -32768.0f) ? -32768 : x);
}

/* Write 'len' samples of the on-time, starting at s->pos. The ramps (2 x 16 samples a
   segment) take the envelope sample by sample; the steady part between them has constant
   amplitudes, and a single tone there skips the second oscillator. Every path computes the
   same sums in the same order, so the output does not depend on how a tick cuts the tone. */
static void synth(vb_tone_tx_state_t *s, int16_t amp[], int len)
{
    const int steady_from = s->ramp_up;
    const int steady_to = s->on_len - s->ramp_down;
    const uint32_t d0 = s->step[0];
    const uint32_t d1 = s->step[1];
    uint32_t p0 = s->phase[0];
    uint32_t p1 = s->phase[1];
    int pos = s->pos;
    const int end = pos + len;
    int16_t *out = amp;

    while (pos < end)
    {
        if (pos < steady_from  ||  pos >= steady_to)
        {
            int stop = (pos < steady_from  &&  steady_from < end)  ?  steady_from  :  end;

            for (;  pos < stop;  pos++)
            {
                float x = envelope(s, 0, pos)*sine_at(p0) + envelope(s, 1, pos)*sine_at(p1);

                p0 += d0;
                p1 += d1;
                *out++ = saturate(x);
            }
        }
        else
        {
            const int stop = (steady_to < end)  ?  steady_to  :  end;
            const float a0 = s->to[0];
            const float a1 = s->to[1];

            if (a1 == 0.0f)
            {
                /* a0*s + 0*s' == a0*s: the second oscillator only has to keep its phase. */
                p1 += d1*(uint32_t) (stop - pos);
                for (;  pos < stop;  pos++)
                {
                    *out++ = saturate(a0*sine_at(p0));
                    p0 += d0;
                }
            }
            else
            {
                for (;  pos < stop;  pos++)
                {
                    *out++ = saturate(a0*sine_at(p0) + a1*sine_at(p1));
                    p0 += d0;
                    p1 += d1;
                }
            }
        }
    }
    s->phase[0] = p0;
    s->phase[1] = p1;
    s->pos = end;
}

int vb_tone_tx(vb_tone_tx_state_t *s, int16_t amp[], int max_samples)
{
    int n = 0;

    while (n < max_samples  &&  s->count > 0)
    {
        int run;

        if (s->pos >= s->on_len + s->off_len)
        {
            advance(s);
            continue;
        }
        if (s->pos < s->on_len)
        {
            if (!s->decided  &&  s->pos == s->decide_at)
                decide(s);
            run = s->on_len - s->pos;
            if (!s->decided  &&  s->decide_at >= 0  &&  s->decide_at - s->pos < run)
                run = s->decide_at - s->pos;
            if (run > max_samples - n)
                run = max_samples - n;
            if (s->sounding)
            {
                synth(s, amp + n, run);
            }
            else
            {
                memset(amp + n, 0, run*sizeof(int16_t));
                s->pos += run;
            }
        }
        else
        {
            run = s->on_len + s->off_len - s->pos;
            if (run > max_samples - n)
                run = max_samples - n;
            memset(amp + n, 0, run*sizeof(int16_t));
            s->pos += run;
        }
        n += run;
    }
    return n;
}

/* ---- DTMF generator ------------------------------------------------------------------- */

/* ITU-T Q.23 frequencies (telephony.md 6): rows (low group) and columns (high group). */
static const float dtmf_row_hz[4] = {697.0f, 770.0f, 852.0f, 941.0f};
static const float dtmf_col_hz[4] = {1209.0f, 1336.0f, 1477.0f, 1633.0f};
static const char dtmf_keypad[] = "123A" "456B" "789C" "*0#D";

int vb_dtmf_tx_default_params(vb_dtmf_tx_params_t *p)
{
    /* -10 dBm0 per tone: spandsp's generator default (telephony.md 6). 50 ms on and 50 ms off:
       above the 40 ms tone and at the 50 ms pause a Q.24 receiver must accept (6). */
    p->row_dbm0 = -10.0f;
    p->col_dbm0 = -10.0f;
    p->on_ms = 50;
    p->off_ms = 50;
    /* ',' pauses like the ',' dial modifier of ITU-T V.250: S8, 2 s by default. */
    p->pause_ms = 2000;
    return VB_OK;
}

static int dtmf_params_valid(const vb_dtmf_tx_params_t *p)
{
    /* +3 dBm0: a sine above +3.14 dBm0 does not fit A-law (telephony.md 1.4). */
    return isfinite(p->row_dbm0)  &&  isfinite(p->col_dbm0)
        && p->row_dbm0 <= 3.0f  &&  p->col_dbm0 <= 3.0f
        && peak_of(p->row_dbm0) + peak_of(p->col_dbm0) <= 32767.0f
        && p->on_ms > 0  &&  p->on_ms <= 60000  &&  p->off_ms >= 0  &&  p->off_ms <= 60000
        && p->pause_ms >= 0  &&  p->pause_ms <= 60000;
}

vb_dtmf_tx_state_t *vb_dtmf_tx_init(vb_dtmf_tx_state_t *s, const vb_dtmf_tx_params_t *p)
{
    vb_dtmf_tx_params_t defaults;

    if (p == NULL)
    {
        vb_dtmf_tx_default_params(&defaults);
        p = &defaults;
    }
    if (!dtmf_params_valid(p))
        return NULL;
    if ((s = VB_STATE_CLAIM(s, vb_dtmf_tx_state_t)) == NULL)
        return NULL;
    s->params = *p;
    vb_tone_tx_init(&s->tone);
    return s;
}

int vb_dtmf_tx_set_params(vb_dtmf_tx_state_t *s, const vb_dtmf_tx_params_t *p)
{
    if (!dtmf_params_valid(p))
        return VB_ERR_INVALID;
    s->params = *p;
    return VB_OK;
}

int vb_dtmf_tx_release(vb_dtmf_tx_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_dtmf_tx_free(vb_dtmf_tx_state_t *s)
{
    if (s != NULL)
    {
        vb_dtmf_tx_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

int vb_dtmf_tx_state_size(void)
{
    return (int) sizeof(vb_dtmf_tx_state_t);
}

static char dtmf_normalise(char c)
{
    if (c >= 'a'  &&  c <= 'd')
        c = (char) (c - 'a' + 'A');
    if (c == ','  ||  (c != '\0'  &&  strchr(dtmf_keypad, c) != NULL))
        return c;
    return 0;
}

int vb_dtmf_tx_put(vb_dtmf_tx_state_t *s, const char *digits)
{
    size_t len = strlen(digits);

    for (size_t i = 0;  i < len;  i++)
    {
        if (!dtmf_normalise(digits[i]))
            return VB_ERR_INVALID;
    }
    if (len > (size_t) (VB_DTMF_TX_QUEUE - s->queue_len))
        return VB_ERR_FULL;
    for (size_t i = 0;  i < len;  i++)
    {
        s->queue[(s->queue_head + s->queue_len) % VB_DTMF_TX_QUEUE] = dtmf_normalise(digits[i]);
        s->queue_len++;
    }
    return (int) len;
}

int vb_dtmf_tx_pending(const vb_dtmf_tx_state_t *s)
{
    return s->queue_len;
}

/* Hand the next queued character to the tone generator. Returns 0 when none is left. */
static int start_next(vb_dtmf_tx_state_t *s)
{
    while (s->queue_len > 0)
    {
        char c = s->queue[s->queue_head];
        vb_tone_segment_t g = {0};

        s->queue_head = (s->queue_head + 1) % VB_DTMF_TX_QUEUE;
        s->queue_len--;
        if (c == ',')
        {
            if (s->params.pause_ms == 0)
                continue;
            g.on_ms = s->params.pause_ms;
        }
        else
        {
            int i = (int) (strchr(dtmf_keypad, c) - dtmf_keypad);

            g.f1_hz = dtmf_row_hz[i/4];
            g.f2_hz = dtmf_col_hz[i%4];
            g.level1_dbm0 = s->params.row_dbm0;
            g.level2_dbm0 = s->params.col_dbm0;
            g.on_ms = s->params.on_ms;
            g.off_ms = s->params.off_ms;
        }
        return vb_tone_tx_put(&s->tone, &g, 1) == VB_OK;
    }
    return 0;
}

int vb_dtmf_tx(vb_dtmf_tx_state_t *s, int16_t amp[], int max_samples)
{
    int n = 0;

    while (n < max_samples)
    {
        /* A short count from the tone generator means the digit ended. */
        n += vb_tone_tx(&s->tone, amp + n, max_samples - n);
        if (n < max_samples  &&  !start_next(s))
            break;
    }
    return n;
}
