/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - cpd.c: call-progress detector (see vb/cpd.h for the method).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/cpd.h"
#include "vb/private/state.h"
#include "vb/private/cpd.h"

#define N VB_CPD_BLOCK
#define GLITCH_BLOCKS 1     /* blocks a new label is held for (see add_block()) */

int vb_cpd_default_params(vb_cpd_params_t *p)
{
    /* cn tones are sent at -10 +-3 dBm0 (telephony.md 4.1, CNTONES, a secondary source) and
       a line may lose up to 26 dB (6): -39 dBm0 at worst. A tone 25 Hz off nominal (the cn
       +-25 Hz tolerance, 4.1) measures 3.9 dB low in the 20 ms window: -43, rounded to -44. */
    p->min_tone_dbm0 = -44.0f;
    /* Total block power: 3 dB below the weakest tone (-39), so it is never taken for silence. */
    p->silence_dbm0 = -42.0f;
    /* A tone 25 Hz off nominal (the cn +-25 Hz tolerance, 4.1) loses 3.9 dB in the 20 ms
       window; 1 dB more leaves room for line noise. */
    p->tone_share_db = -5.0f;
    /* Call-progress pairs are sent at one level (4.1); allow the 8 dB a DTMF receiver allows
       (6) for line slope. */
    p->max_twist_db = 8.0f;
    /* Timing +-10 % (4.1, CNTONES; Asterisk BUSY_PERCENT, 4.4) plus one block. */
    p->jitter_pct = 10.0f;
    p->slack_ms = N*1000/VB_SAMPLE_RATE;
    /* Longer than any cadenced on-time sent on a dial-tone frequency set in the tables (cn,
       de ringback 1000 ms + 10 %), so ringback is never taken for dial tone. */
    p->continuous_ms = 2000;
    /* Asterisk amd.conf.sample: initial_silence 2500 ms, min_word_length 100 ms. */
    p->silence_ms = 2500;
    p->voice_ms = 100;
    return VB_OK;
}

/* Plausibility limits, not standards: levels within the 16-bit range of dBm0 (-80 is below
   the rounding noise of 16 bits), a tolerance that still separates 350 from 700 ms (50 %). */
static int params_valid(const vb_cpd_params_t *p)
{
    return isfinite(p->min_tone_dbm0)  &&  p->min_tone_dbm0 >= -80.0f  &&  p->min_tone_dbm0 <= 3.0f
        && isfinite(p->silence_dbm0)  &&  p->silence_dbm0 >= -80.0f  &&  p->silence_dbm0 <= 3.0f
        && p->tone_share_db >= -20.0f  &&  p->tone_share_db <= 0.0f
        && p->max_twist_db > 0.0f  &&  p->max_twist_db <= 40.0f
        && p->jitter_pct >= 0.0f  &&  p->jitter_pct <= 50.0f
        && p->slack_ms >= 0  &&  p->slack_ms <= 10000
        && p->continuous_ms > 0  &&  p->silence_ms > 0  &&  p->voice_ms > 0;
}

static float dbm0_to_power(float dbm0)
{
    return VB_DBM0_RMS*VB_DBM0_RMS*powf(10.0f, dbm0/10.0f);
}

vb_cpd_state_t *vb_cpd_init(vb_cpd_state_t *s, const vb_cpd_params_t *p)
{
    vb_cpd_params_t defaults;

    if (p == NULL)
    {
        vb_cpd_default_params(&defaults);
        p = &defaults;
    }
    if (!params_valid(p))
        return NULL;
    if ((s = VB_STATE_CLAIM(s, vb_cpd_state_t)) == NULL)
        return NULL;
    s->params = *p;
    s->min_power = dbm0_to_power(p->min_tone_dbm0);
    s->silence_power = dbm0_to_power(p->silence_dbm0);
    s->tone_share = powf(10.0f, p->tone_share_db/10.0f);
    s->max_twist = powf(10.0f, p->max_twist_db/10.0f);
    s->run_label = VB_CPD_LABEL_NONE;
    return s;
}

int vb_cpd_release(vb_cpd_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_cpd_free(vb_cpd_state_t *s)
{
    if (s != NULL)
    {
        vb_cpd_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

int vb_cpd_state_size(void)
{
    return (int) sizeof(vb_cpd_state_t);
}

int64_t vb_cpd_events_dropped(const vb_cpd_state_t *s)
{
    return s->events_dropped;
}

/* Index of a frequency in 'freqs', adding it to the scratch list if new; -1 when full. */
static int freq_index(float hz, float freqs[], int *nfreqs)
{
    for (int i = 0;  i < *nfreqs;  i++)
    {
        if (freqs[i] == hz)
            return i;
    }
    if (*nfreqs == VB_CPD_MAX_FREQS)
        return -1;
    freqs[*nfreqs] = hz;
    return (*nfreqs)++;
}

/* Label of an element: silence, or a tone set (found or added to the scratch lists). */
static int element_label(const vb_cpd_element_t *e, float freqs[], int *nfreqs, int sets[][2], int *nsets)
{
    float lo = e->f1_hz;
    float hi = e->f2_hz;
    int a;
    int b = -1;

    if (lo == 0.0f)
        return VB_CPD_LABEL_SILENCE;
    if (hi > 0.0f  &&  hi < lo)
    {
        lo = e->f2_hz;
        hi = e->f1_hz;
    }
    if ((a = freq_index(lo, freqs, nfreqs)) < 0)
        return VB_ERR_FULL;
    if (hi > 0.0f  &&  hi != lo  &&  (b = freq_index(hi, freqs, nfreqs)) < 0)
        return VB_ERR_FULL;
    for (int i = 0;  i < *nsets;  i++)
    {
        if (sets[i][0] == a  &&  sets[i][1] == b)
            return i;
    }
    if (*nsets == VB_CPD_MAX_SETS)
        return VB_ERR_FULL;
    sets[*nsets][0] = a;
    sets[*nsets][1] = b;
    return (*nsets)++;
}

int vb_cpd_add_pattern(vb_cpd_state_t *s, const vb_cpd_pattern_t *pat)
{
    float freqs[VB_CPD_MAX_FREQS];
    int sets[VB_CPD_MAX_SETS][2];
    int nfreqs = s->nfreqs;
    int nsets = s->nsets;
    vb_cpd_pat_t p;
    float tol = s->params.jitter_pct/100.0f;
    int slack = s->params.slack_ms*(VB_SAMPLE_RATE/1000);

    if (s->position > 0  ||  s->pending_len > 0)
        return VB_ERR_STATE;
    if (pat->n < 1  ||  pat->n > VB_CPD_MAX_ELEMENTS  ||  pat->cycles < 1  ||  pat->cycles*pat->n > VB_CPD_HISTORY)
        return VB_ERR_INVALID;
    for (int i = 0;  i < pat->n;  i++)
    {
        const vb_cpd_element_t *e = &pat->e[i];

        if (!(e->f1_hz >= 0.0f  &&  e->f1_hz < VB_SAMPLE_RATE/2  &&  e->f2_hz >= 0.0f  &&  e->f2_hz < VB_SAMPLE_RATE/2))
            return VB_ERR_INVALID;
        if (e->f1_hz == 0.0f  &&  e->f2_hz != 0.0f)
            return VB_ERR_INVALID;
        /* Ten minutes: far above any cadence element in the tables (de call waiting 5 s). */
        if (e->ms < 0  ||  e->ms > 600000)
            return VB_ERR_INVALID;
    }
    memset(&p, 0, sizeof(p));
    p.n = pat->n;
    p.cycles = pat->cycles;
    p.cyclic = pat->cyclic != 0;
    p.continuous = pat->n == 1  &&  pat->e[0].ms == 0;
    if (p.continuous  &&  pat->e[0].f1_hz == 0.0f)
        return VB_ERR_INVALID;
    memcpy(freqs, s->freq_hz, sizeof(freqs));
    memcpy(sets, s->set_freq, sizeof(sets));
    for (int i = 0;  i < pat->n;  i++)
    {
        int label = element_label(&pat->e[i], freqs, &nfreqs, sets, &nsets);
        int nominal = pat->e[i].ms*(VB_SAMPLE_RATE/1000);

        if (label == VB_ERR_FULL)
            return VB_ERR_FULL;
        if (!p.continuous  &&  nominal == 0)
            return VB_ERR_INVALID;
        p.e[i].label = label;
        p.e[i].min_len = (int) floorf(nominal*(1.0f - tol)) - slack;
        p.e[i].max_len = (int) ceilf(nominal*(1.0f + tol)) + slack;
    }
    for (int i = 0;  i < pat->n;  i++)
    {
        int next = i + 1;

        if (next == pat->n)
        {
            if (!p.cyclic  ||  pat->n == 1)
                break;
            next = 0;
        }
        if (p.e[i].label == p.e[next].label)
            return VB_ERR_INVALID;
    }
    if (s->npats == VB_CPD_MAX_PATTERNS)
        return VB_ERR_FULL;
    for (int i = s->nfreqs;  i < nfreqs;  i++)
    {
        s->freq_hz[i] = freqs[i];
        s->coeff[i] = (float) (2.0*cos(2.0*M_PI*freqs[i]/VB_SAMPLE_RATE));
    }
    s->nfreqs = nfreqs;
    memcpy(s->set_freq, sets, sizeof(sets));
    s->nsets = nsets;
    s->pat[s->npats] = p;
    return s->npats++;
}

static void push_event(vb_cpd_state_t *s, int kind, int pattern, int64_t start)
{
    vb_cpd_event_t *ev;

    if (s->queue_len == VB_CPD_QUEUE)
    {
        /* Nobody is reading: keep the newest events. */
        s->queue_head = (s->queue_head + 1) % VB_CPD_QUEUE;
        s->queue_len--;
        s->events_dropped++;
    }
    ev = &s->queue[(s->queue_head + s->queue_len) % VB_CPD_QUEUE];
    s->queue_len++;
    ev->kind = kind;
    ev->pattern = pattern;
    ev->start = start;
    ev->position = s->position;
}

int vb_cpd_get(vb_cpd_state_t *s, vb_cpd_event_t ev[], int max)
{
    int n = 0;

    while (n < max  &&  s->queue_len > 0)
    {
        ev[n++] = s->queue[s->queue_head];
        s->queue_head = (s->queue_head + 1) % VB_CPD_QUEUE;
        s->queue_len--;
    }
    return n;
}

/* Label one block: silence, the tone set carrying the most power, or other. */
static int classify(const vb_cpd_state_t *s, const int16_t x[N])
{
    float power[VB_CPD_MAX_FREQS];
    float energy = 0.0f;
    int best = VB_CPD_LABEL_OTHER;
    float best_power = 0.0f;

    for (int n = 0;  n < N;  n++)
        energy += (float) x[n]*x[n];
    energy /= N;
    if (energy < s->silence_power)
        return VB_CPD_LABEL_SILENCE;
    for (int k = 0;  k < s->nfreqs;  k++)
    {
        float c = s->coeff[k];
        float s1 = 0.0f;
        float s2 = 0.0f;

        for (int n = 0;  n < N;  n++)
        {
            float s0 = x[n] + c*s1 - s2;

            s2 = s1;
            s1 = s0;
        }
        /* |X|^2 * 2/N^2: the mean square of a sine at this frequency. */
        power[k] = (s1*s1 + s2*s2 - c*s1*s2)*(2.0f/((float) N*N));
    }
    for (int i = 0;  i < s->nsets;  i++)
    {
        float pa = power[s->set_freq[i][0]];
        float total = pa;

        if (pa < s->min_power)
            continue;
        if (s->set_freq[i][1] >= 0)
        {
            float pb = power[s->set_freq[i][1]];

            if (pb < s->min_power  ||  pa > pb*s->max_twist  ||  pb > pa*s->max_twist)
                continue;
            total += pb;
        }
        if (total < energy*s->tone_share)
            continue;
        if (total > best_power)
        {
            best = i;
            best_power = total;
        }
    }
    return best;
}

static const vb_cpd_seg_t *history_at(const vb_cpd_state_t *s, int i)
{
    return &s->history[(s->history_head + i) % VB_CPD_HISTORY];
}

/* Whether the newest segments match pattern p; *start gets where the match begins. */
static int pattern_matches(const vb_cpd_state_t *s, const vb_cpd_pat_t *p, int64_t *start)
{
    int len = p->cycles*p->n;
    int first = s->history_len - len;
    int rotations = p->cyclic ? p->n : 1;

    if (first < 0)
        return 0;
    for (int r = 0;  r < rotations;  r++)
    {
        int i;

        for (i = 0;  i < len;  i++)
        {
            const vb_cpd_seg_t *g = history_at(s, first + i);
            const vb_cpd_elem_t *e = &p->e[(r + i) % p->n];

            if (g->label != e->label  ||  g->len < e->min_len  ||  g->len > e->max_len)
                break;
        }
        if (i == len)
        {
            *start = history_at(s, first)->start;
            return 1;
        }
    }
    return 0;
}

/* The open run is complete: file it and match the cadences against the history. */
static void close_run(vb_cpd_state_t *s)
{
    vb_cpd_seg_t *g;

    if (s->run_label == VB_CPD_LABEL_NONE)
        return;
    if (s->history_len == VB_CPD_HISTORY)
    {
        s->history_head = (s->history_head + 1) % VB_CPD_HISTORY;
        s->history_len--;
    }
    g = &s->history[(s->history_head + s->history_len) % VB_CPD_HISTORY];
    s->history_len++;
    g->label = s->run_label;
    g->start = s->run_start;
    g->len = s->run_len;
    for (int i = 0;  i < s->npats;  i++)
    {
        vb_cpd_pat_t *p = &s->pat[i];
        int64_t start;
        int match;

        if (p->continuous)
            continue;
        match = pattern_matches(s, p, &start);
        if (match  &&  !p->active)
            push_event(s, VB_CPD_TONE, i, start);
        p->active = match;
    }
}

static void open_run(vb_cpd_state_t *s, int label, int64_t len)
{
    s->run_start = s->run_start + s->run_len;
    s->run_label = label;
    s->run_len = len;
    s->run_reported = 0;
}

/* Events that need no finished segment: a run that has lasted long enough. */
static void check_open_run(vb_cpd_state_t *s)
{
    int64_t ms = s->run_len*1000/VB_SAMPLE_RATE;

    if (s->run_reported)
        return;
    if (s->run_label == VB_CPD_LABEL_SILENCE  &&  ms >= s->params.silence_ms)
    {
        push_event(s, VB_CPD_SILENCE, -1, s->run_start);
        s->run_reported = 1;
    }
    else if (s->run_label == VB_CPD_LABEL_OTHER  &&  ms >= s->params.voice_ms)
    {
        push_event(s, VB_CPD_VOICE, -1, s->run_start);
        s->run_reported = 1;
    }
    else if (s->run_label >= 0  &&  ms >= s->params.continuous_ms)
    {
        for (int i = 0;  i < s->npats;  i++)
        {
            if (s->pat[i].continuous  &&  s->pat[i].e[0].label == s->run_label)
            {
                push_event(s, VB_CPD_TONE, i, s->run_start);
                s->run_reported = 1;
            }
        }
    }
}

/* Run-length encoding of block labels. A label that differs from the open run is held for
   GLITCH_BLOCKS blocks before it opens a run of its own: a block that straddles an edge (part
   tone, part silence) can take any label, and one dropout must not split a tone. Held blocks
   go back to the run if its label returns, or are split half and half between the runs on
   either side if a third label follows. */
static void add_block(vb_cpd_state_t *s, int label)
{
    s->position += N;
    if (s->run_label == VB_CPD_LABEL_NONE)
    {
        open_run(s, label, N);
    }
    else if (s->glitch_blocks > 0)
    {
        if (label == s->glitch_label)
        {
            s->glitch_len += N;
            if (++s->glitch_blocks > GLITCH_BLOCKS)
            {
                close_run(s);
                open_run(s, label, s->glitch_len);
                s->glitch_blocks = 0;
                s->glitch_len = 0;
            }
        }
        else if (label == s->run_label)
        {
            s->run_len += s->glitch_len + N;
            s->glitch_blocks = 0;
            s->glitch_len = 0;
        }
        else
        {
            int64_t half = s->glitch_len/2;

            s->run_len += half;
            close_run(s);
            open_run(s, label, s->glitch_len - half + N);
            s->glitch_blocks = 0;
            s->glitch_len = 0;
        }
    }
    else if (label == s->run_label)
    {
        s->run_len += N;
    }
    else
    {
        s->glitch_label = label;
        s->glitch_blocks = 1;
        s->glitch_len = N;
    }
    check_open_run(s);
}

int vb_cpd_rx(vb_cpd_state_t *s, const int16_t amp[], int samples)
{
    int i = 0;

    if (samples <= 0)
        return 0;
    if (s->pending_len > 0)
    {
        int take = N - s->pending_len;

        if (take > samples)
            take = samples;
        memcpy(s->pending + s->pending_len, amp, take*sizeof(int16_t));
        s->pending_len += take;
        i = take;
        if (s->pending_len < N)
            return 0;
        add_block(s, classify(s, s->pending));
        s->pending_len = 0;
    }
    for (  ;  i + N <= samples;  i += N)
        add_block(s, classify(s, amp + i));
    if (i < samples)
    {
        memcpy(s->pending, amp + i, (samples - i)*sizeof(int16_t));
        s->pending_len = samples - i;
    }
    return 0;
}
