/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - r2mf.c: MFC-R2 tones (see vb/r2mf.h for the method; numbers:
 * telephony.md §3.2).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/r2mf.h"
#include "vb/private/state.h"
#include "vb/private/r2mf.h"

#define FREQS VB_R2MF_FREQS

/* f0..f5 of each direction (Q.441; spandsp bell_r2_mf.c, openr2 r2engine.c). */
static const float r2_hz[2][FREQS] =
{
    {1380.0f, 1500.0f, 1620.0f, 1740.0f, 1860.0f, 1980.0f},
    {1140.0f, 1020.0f, 900.0f, 780.0f, 660.0f, 540.0f}
};

/* Frequency indexes of signals 1-15 (§3.2); index 0 unused. */
static const int8_t pair[16][2] =
{
    {-1, -1},
    {0, 1}, {0, 2}, {1, 2}, {0, 3}, {1, 3}, {2, 3}, {0, 4}, {1, 4},
    {2, 4}, {3, 4}, {0, 5}, {1, 5}, {2, 5}, {3, 5}, {4, 5}
};

/* Signal number of each frequency pair (i < j), 0 for none. */
static int signal_of(int i, int j)
{
    for (int n = 1;  n <= 15;  n++)
    {
        if (pair[n][0] == i  &&  pair[n][1] == j)
            return n;
    }
    return 0;
}

int vb_r2mf_freqs(int direction, int signal, float *f1, float *f2)
{
    if ((direction != VB_R2MF_FORWARD  &&  direction != VB_R2MF_BACKWARD)  ||  signal < 1  ||  signal > 15)
        return VB_ERR_INVALID;
    *f1 = r2_hz[direction][pair[signal][0]];
    *f2 = r2_hz[direction][pair[signal][1]];
    return VB_OK;
}

/* ---- generator --------------------------------------------------------------------------- */

vb_r2mf_tx_state_t *vb_r2mf_tx_init(vb_r2mf_tx_state_t *s, int direction, float level_dbm0)
{
    if ((direction != VB_R2MF_FORWARD  &&  direction != VB_R2MF_BACKWARD)
        ||  !(level_dbm0 >= -50.0f  &&  level_dbm0 <= -3.0f))
        return NULL;
    if ((s = VB_STATE_CLAIM(s, vb_r2mf_tx_state_t)) == NULL)
        return NULL;
    s->direction = direction;
    s->amplitude = VB_DBM0_RMS*sqrtf(2.0f)*powf(10.0f, level_dbm0/20.0f);
    return s;
}

int vb_r2mf_tx_release(vb_r2mf_tx_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_r2mf_tx_free(vb_r2mf_tx_state_t *s)
{
    if (s != NULL)
    {
        vb_r2mf_tx_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

int vb_r2mf_tx_put(vb_r2mf_tx_state_t *s, int signal)
{
    if (signal < 0  ||  signal > 15)
        return VB_ERR_INVALID;
    if (signal == s->signal)
        return VB_OK;
    s->signal = signal;
    s->phase[0] = s->phase[1] = 0;
    if (signal > 0)
    {
        for (int k = 0;  k < 2;  k++)
        {
            double hz = r2_hz[s->direction][pair[signal][k]];
            s->inc[k] = (uint32_t) llrint(hz/VB_SAMPLE_RATE*4294967296.0);
        }
    }
    return VB_OK;
}

int vb_r2mf_tx_current(const vb_r2mf_tx_state_t *s)
{
    return s->signal;
}

int vb_r2mf_tx(vb_r2mf_tx_state_t *s, int16_t amp[], int max_samples)
{
    if (max_samples < 0)
        return VB_ERR_INVALID;
    if (s->signal == 0)
    {
        memset(amp, 0, sizeof(int16_t)*(size_t) max_samples);
        return max_samples;
    }
    const float step = 2.0f*(float) M_PI/4294967296.0f;
    for (int i = 0;  i < max_samples;  i++)
    {
        float v = s->amplitude*(sinf((float) s->phase[0]*step) + sinf((float) s->phase[1]*step));
        amp[i] = (int16_t) lrintf(v);
        s->phase[0] += s->inc[0];
        s->phase[1] += s->inc[1];
    }
    return max_samples;
}

/* ---- receiver ------------------------------------------------------------------------------ */

int vb_r2mf_rx_default_params(vb_r2mf_rx_params_t *p)
{
    p->min_level_dbm0 = -36.5f;     /* spandsp bell_r2_mf.c threshold (§3.2) */
    p->twist_db = 7.0f;             /* spandsp; Asterisk R2_MF_TWIST 5.0 = 7 dB */
    p->relative_peak_db = 11.0f;    /* Asterisk R2_MF_RELATIVE_PEAK 12.6 = 11 dB */
    p->block_size = 133;            /* spandsp and Asterisk R2_GSIZE */
    return VB_OK;
}

vb_r2mf_rx_state_t *vb_r2mf_rx_init(vb_r2mf_rx_state_t *s, int direction, const vb_r2mf_rx_params_t *p)
{
    vb_r2mf_rx_params_t def;
    if (p == NULL)
    {
        vb_r2mf_rx_default_params(&def);
        p = &def;
    }
    if ((direction != VB_R2MF_FORWARD  &&  direction != VB_R2MF_BACKWARD)
        ||  !(p->min_level_dbm0 >= -60.0f  &&  p->min_level_dbm0 <= -3.0f)
        ||  !(p->twist_db >= 0.0f  &&  p->twist_db <= 20.0f)
        ||  !(p->relative_peak_db >= 0.0f  &&  p->relative_peak_db <= 40.0f)
        ||  p->block_size < 80  ||  p->block_size > 400)
        return NULL;
    if ((s = VB_STATE_CLAIM(s, vb_r2mf_rx_state_t)) == NULL)
        return NULL;
    s->direction = direction;
    s->p = *p;
    for (int k = 0;  k < FREQS;  k++)
        s->coef[k] = 2.0f*cosf(2.0f*(float) M_PI*r2_hz[direction][k]/VB_SAMPLE_RATE);
    /* |X|^2 = (a N / 2)^2 and a^2 / 2 = power, so |X|^2 = power N^2 / 2. */
    float n = (float) p->block_size;
    float power = VB_DBM0_RMS*VB_DBM0_RMS*powf(10.0f, p->min_level_dbm0/10.0f);
    s->min_power = power*n*n/2.0f;
    s->twist = powf(10.0f, p->twist_db/10.0f);
    s->relative_peak = powf(10.0f, p->relative_peak_db/10.0f);
    return s;
}

int vb_r2mf_rx_release(vb_r2mf_rx_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_r2mf_rx_free(vb_r2mf_rx_state_t *s)
{
    if (s != NULL)
    {
        vb_r2mf_rx_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

static int block_result(vb_r2mf_rx_state_t *s)
{
    float e[FREQS];
    int a = -1;
    int b = -1;

    for (int k = 0;  k < FREQS;  k++)
    {
        e[k] = s->v1[k]*s->v1[k] + s->v2[k]*s->v2[k] - s->coef[k]*s->v1[k]*s->v2[k];
        s->v1[k] = s->v2[k] = 0.0f;
        if (a < 0  ||  e[k] > e[a])
        {
            b = a;
            a = k;
        }
        else if (b < 0  ||  e[k] > e[b])
        {
            b = k;
        }
    }
    /* a is the strongest, b the second. */
    if (e[b] < s->min_power  ||  e[a] > e[b]*s->twist)
        return 0;
    for (int k = 0;  k < FREQS;  k++)
    {
        if (k != a  &&  k != b  &&  e[k]*s->relative_peak > e[b])
            return 0;
    }
    return a < b ? signal_of(a, b) : signal_of(b, a);
}

int vb_r2mf_rx(vb_r2mf_rx_state_t *s, const int16_t amp[], int samples)
{
    if (samples < 0)
        return VB_ERR_INVALID;
    int i = 0;
    while (i < samples)
    {
        int n = s->p.block_size - s->count;
        if (n > samples - i)
            n = samples - i;
        for (int k = 0;  k < FREQS;  k++)
        {
            float v1 = s->v1[k];
            float v2 = s->v2[k];
            float c = s->coef[k];
            for (int j = 0;  j < n;  j++)
            {
                float v0 = c*v1 - v2 + (float) amp[i + j];
                v2 = v1;
                v1 = v0;
            }
            s->v1[k] = v1;
            s->v2[k] = v2;
        }
        i += n;
        s->count += n;
        if (s->count == s->p.block_size)
        {
            s->count = 0;
            int hit = block_result(s);
            /* Two blocks in a row must agree before the reported signal changes. */
            if (hit == s->last_hit  &&  hit != s->current)
            {
                s->current = hit;
                s->changes++;
            }
            s->last_hit = hit;
        }
    }
    return 0;
}

int vb_r2mf_rx_get(const vb_r2mf_rx_state_t *s)
{
    return s->current;
}

int64_t vb_r2mf_rx_changes(const vb_r2mf_rx_state_t *s)
{
    return s->changes;
}
