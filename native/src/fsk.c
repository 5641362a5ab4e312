/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - fsk.c: 1200 baud FSK modem for caller ID (see vb/fsk.h for the method).
 */
#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/fsk.h"
#include "vb/private/state.h"
#include "vb/private/fsk.h"

#define CLOCK_WRAP ((int64_t) VB_SAMPLE_RATE*1000)    /* one bit, in milli-baud samples */

/* Carrier detection. The share is in-band power over total power, divided by the filter's
   power gain at the tones: about 1 for FSK, about 0.4 for white noise over 0-4 kHz (0.65 at
   most in 1 s of noise; FSK at SNR 15 dB stays above 0.9: measured with the filters below). */
#define CD_SHARE_ON 0.8f
#define CD_SHARE_OFF 0.7f
#define CD_LEVEL_HYSTERESIS 0.5f    /* carrier is lost 3 dB below the minimum level */
#define CD_SMOOTH (1.0f/64.0f)      /* power smoothing: 8 ms time constant */
#define CD_DEBOUNCE_MS 10           /* a change must hold this long (12 bits at 1200 baud) */
/* Filter corners this far outside the two tones: the tones lose 1-2 dB, while noise outside
   900-2500 Hz (Bell 202) no longer reaches the correlators or counts as in-band power. */
#define BAND_MARGIN_HZ 300.0

int vb_fsk_spec(vb_fsk_spec_t *spec, int standard)
{
    /* Tones and rate: telephony.md §5.1 (spandsp fsk.c, Asterisk callerid.c). */
    switch (standard)
    {
    case VB_FSK_BELL202:
        spec->mark_hz = 1200.0f;
        spec->space_hz = 2200.0f;
        spec->baud = 1200.0f;
        return VB_OK;
    case VB_FSK_V23:
        spec->mark_hz = 1300.0f;
        spec->space_hz = 2100.0f;
        spec->baud = 1200.0f;
        return VB_OK;
    }
    return VB_ERR_INVALID;
}

static int spec_valid(const vb_fsk_spec_t *spec)
{
    float nyquist = VB_SAMPLE_RATE/2.0f;

    return spec != NULL
        && spec->mark_hz > 100.0f && spec->mark_hz < nyquist - 100.0f
        && spec->space_hz > 100.0f && spec->space_hz < nyquist - 100.0f
        && fabsf(spec->mark_hz - spec->space_hz) >= 200.0f
        && spec->baud >= 300.0f && spec->baud <= 2400.0f;
}

static float dbm0_to_power(float dbm0)
{
    return VB_DBM0_RMS*VB_DBM0_RMS*powf(10.0f, dbm0/10.0f);
}

/* ---- transmitter ------------------------------------------------------------------------ */

vb_fsk_tx_state_t *vb_fsk_tx_init(vb_fsk_tx_state_t *s, const vb_fsk_spec_t *spec, float level_dbm0)
{
    if (!spec_valid(spec)  ||  !(level_dbm0 >= -60.0f  &&  level_dbm0 <= 3.14f))
        return NULL;
    if ((s = VB_STATE_CLAIM(s, vb_fsk_tx_state_t)) == NULL)
        return NULL;
    s->spec = *spec;
    s->amplitude = VB_DBM0_RMS*sqrtf(2.0f)*powf(10.0f, level_dbm0/20.0f);
    s->inc[0] = (uint32_t) llrint((double) spec->space_hz/VB_SAMPLE_RATE*4294967296.0);
    s->inc[1] = (uint32_t) llrint((double) spec->mark_hz/VB_SAMPLE_RATE*4294967296.0);
    s->rate_mbaud = llrint(spec->baud*1000.0);
    return s;
}

int vb_fsk_tx_release(vb_fsk_tx_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_fsk_tx_free(vb_fsk_tx_state_t *s)
{
    if (s != NULL)
    {
        vb_fsk_tx_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

int vb_fsk_tx_space(const vb_fsk_tx_state_t *s)
{
    return VB_FSK_TX_QUEUE - s->len;
}

int vb_fsk_tx_queued(const vb_fsk_tx_state_t *s)
{
    return s->len + s->bit_active;
}

static void push_bit(vb_fsk_tx_state_t *s, int bit)
{
    s->queue[(s->head + s->len) & (VB_FSK_TX_QUEUE - 1)] = (uint8_t) bit;
    s->len++;
}

int vb_fsk_tx_put_bytes(vb_fsk_tx_state_t *s, const uint8_t buf[], int len)
{
    if (len < 0)
        return VB_ERR_INVALID;
    if (len > vb_fsk_tx_space(s)/10)
        return VB_ERR_FULL;
    for (int i = 0;  i < len;  i++)
    {
        /* Start bit, 8 data bits LSB first, stop bit (telephony.md §5.1, "Character"). */
        push_bit(s, 0);
        for (int b = 0;  b < 8;  b++)
            push_bit(s, (buf[i] >> b) & 1);
        push_bit(s, 1);
    }
    return VB_OK;
}

int vb_fsk_tx_put_bits(vb_fsk_tx_state_t *s, int bit, int count)
{
    if ((bit != 0  &&  bit != 1)  ||  count < 0)
        return VB_ERR_INVALID;
    if (count > vb_fsk_tx_space(s))
        return VB_ERR_FULL;
    for (int i = 0;  i < count;  i++)
        push_bit(s, bit);
    return VB_OK;
}

int vb_fsk_tx_put_alternating(vb_fsk_tx_state_t *s, int first, int count)
{
    if ((first != 0  &&  first != 1)  ||  count < 0)
        return VB_ERR_INVALID;
    if (count > vb_fsk_tx_space(s))
        return VB_ERR_FULL;
    for (int i = 0;  i < count;  i++)
        push_bit(s, first ^ (i & 1));
    return VB_OK;
}

int vb_fsk_tx(vb_fsk_tx_state_t *s, int16_t amp[], int max_samples)
{
    const float rad = (float) (2.0*M_PI/4294967296.0);
    int i;

    for (i = 0;  i < max_samples;  i++)
    {
        float v;

        if (!s->bit_active)
        {
            if (s->len == 0)
                break;
            s->cur_bit = s->queue[s->head];
            s->head = (s->head + 1) & (VB_FSK_TX_QUEUE - 1);
            s->len--;
            s->bit_active = 1;
        }
        v = s->amplitude*sinf((float) s->phase*rad);
        if (v > 32767.0f)
            v = 32767.0f;
        else if (v < -32767.0f)
            v = -32767.0f;
        amp[i] = (int16_t) lrintf(v);
        s->phase += s->inc[s->cur_bit];
        /* Bit k lasts while k*8000 <= elapsed*baud < (k+1)*8000: exact, no rounding drift. */
        s->bit_clock += s->rate_mbaud;
        if (s->bit_clock >= CLOCK_WRAP)
        {
            s->bit_clock -= CLOCK_WRAP;
            s->bit_active = 0;
        }
    }
    return i;
}

/* ---- receiver --------------------------------------------------------------------------- */

/* Butterworth (Q = 1/sqrt 2) high-pass or low-pass section, after R. Bristow-Johnson's
   "Audio EQ Cookbook" formulas. */
static void biquad_design(vb_fsk_biquad_t *f, double corner_hz, int highpass)
{
    double w0 = 2.0*M_PI*corner_hz/VB_SAMPLE_RATE;
    double alpha = sin(w0)/(2.0*M_SQRT1_2);
    double c = cos(w0);
    double a0 = 1.0 + alpha;
    double b1 = highpass ? -(1.0 + c) : (1.0 - c);
    double b0 = fabs(b1)/2.0;

    memset(f, 0, sizeof(*f));
    f->b0 = (float) (b0/a0);
    f->b1 = (float) (b1/a0);
    f->b2 = (float) (b0/a0);
    f->a1 = (float) (-2.0*c/a0);
    f->a2 = (float) ((1.0 - alpha)/a0);
}

static double complex biquad_response(const vb_fsk_biquad_t *f, double hz)
{
    double complex z1 = cexp(-I*2.0*M_PI*hz/VB_SAMPLE_RATE);
    double complex z2 = z1*z1;

    return (f->b0 + f->b1*z1 + f->b2*z2)/(1.0 + f->a1*z1 + f->a2*z2);
}

/* Group delay in samples, from the phase slope over +-1 Hz. */
static double biquad_delay(const vb_fsk_biquad_t *f, double hz)
{
    double dphi = carg(biquad_response(f, hz + 1.0)/biquad_response(f, hz - 1.0));

    return -dphi/(2.0*M_PI*2.0/VB_SAMPLE_RATE);
}

static float biquad(vb_fsk_biquad_t *f, float x)
{
    float y = f->b0*x + f->b1*f->x1 + f->b2*f->x2 - f->a1*f->y1 - f->a2*f->y2;

    /* Decay to exact zero in silence rather than through denormals. */
    if (fabsf(y) < 1.0e-20f)
        y = 0.0f;
    f->x2 = f->x1;
    f->x1 = x;
    f->y2 = f->y1;
    f->y1 = y;
    return y;
}

vb_fsk_rx_state_t *vb_fsk_rx_init(vb_fsk_rx_state_t *s, const vb_fsk_spec_t *spec, float min_level_dbm0)
{
    double lo;
    double hi;
    double centre;
    double gain = 0.0;
    const float tone[2] = {spec ? spec->mark_hz : 0.0f, spec ? spec->space_hz : 0.0f};

    if (!spec_valid(spec)  ||  !(min_level_dbm0 >= -70.0f  &&  min_level_dbm0 <= 0.0f))
        return NULL;
    if ((s = VB_STATE_CLAIM(s, vb_fsk_rx_state_t)) == NULL)
        return NULL;
    s->spec = *spec;
    s->min_power = dbm0_to_power(min_level_dbm0);
    s->bit_len = VB_SAMPLE_RATE/(double) spec->baud;
    s->span = (int) lrint(s->bit_len);

    lo = fmin(spec->mark_hz, spec->space_hz) - BAND_MARGIN_HZ;
    hi = fmax(spec->mark_hz, spec->space_hz) + BAND_MARGIN_HZ;
    centre = (spec->mark_hz + spec->space_hz)/2.0;
    biquad_design(&s->hp, lo, 1);
    biquad_design(&s->lp, fmin(hi, 0.45*VB_SAMPLE_RATE), 0);
    for (int k = 0;  k < 2;  k++)
    {
        double h = cabs(biquad_response(&s->hp, tone[k])*biquad_response(&s->lp, tone[k]));

        gain += h*h/2.0;
    }
    s->band_gain = (float) gain;
    /* A decision describes the middle of the correlator window, after the filters' delay. */
    s->delay = biquad_delay(&s->hp, centre) + biquad_delay(&s->lp, centre) + (s->span - 1)/2.0;

    for (int k = 0;  k < 2;  k++)
    {
        for (int i = 0;  i < s->span;  i++)
        {
            double phase = 2.0*M_PI*tone[k]*i/VB_SAMPLE_RATE;

            s->kern[2*k][i] = (float) cos(phase);
            s->kern[2*k + 1][i] = (float) sin(phase);
        }
    }
    s->cd_samples = CD_DEBOUNCE_MS*VB_SAMPLE_RATE/1000;
    return s;
}

int vb_fsk_rx_release(vb_fsk_rx_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_fsk_rx_free(vb_fsk_rx_state_t *s)
{
    if (s != NULL)
    {
        vb_fsk_rx_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

static void report(vb_fsk_rx_state_t *s, int kind, int value, int64_t pos)
{
    vb_fsk_report_t *r;

    if (s->queue_len == VB_FSK_RX_QUEUE)
    {
        /* Nobody is reading: keep the newest reports. */
        s->queue_head = (s->queue_head + 1) % VB_FSK_RX_QUEUE;
        s->queue_len--;
        s->stats.reports_dropped++;
    }
    r = &s->queue[(s->queue_head + s->queue_len) % VB_FSK_RX_QUEUE];
    s->queue_len++;
    r->kind = kind;
    r->value = value;
    r->pos = pos;
}

static void carrier_detect(vb_fsk_rx_state_t *s, float x, float y)
{
    float in_band;
    int want;

    s->in_power += CD_SMOOTH*(y*y - s->in_power);
    s->total_power += CD_SMOOTH*(x*x - s->total_power);
    in_band = s->in_power/s->band_gain;
    if (s->carrier)
        want = !(in_band < CD_LEVEL_HYSTERESIS*s->min_power  ||  in_band < CD_SHARE_OFF*s->total_power);
    else
        want = in_band >= s->min_power  &&  in_band >= CD_SHARE_ON*s->total_power;
    if (want == s->carrier)
    {
        s->cd_count = 0;
        return;
    }
    if (++s->cd_count < s->cd_samples)
        return;
    s->carrier = want;
    s->cd_count = 0;
    s->in_char = 0;
    report(s, want ? VB_FSK_CARRIER_ON : VB_FSK_CARRIER_OFF, 0, s->n);
}

/* (|mark|^2 - |space|^2)/(|mark|^2 + |space|^2) over the last bit period of filtered samples. */
static float decision(const vb_fsk_rx_state_t *s)
{
    const float *w = s->hist + s->hist_pos;
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    float mark;
    float space;

    for (int k = 0;  k < 4;  k++)
    {
        for (int i = 0;  i < s->span;  i++)
            acc[k] += w[i]*s->kern[k][i];
    }
    mark = acc[0]*acc[0] + acc[1]*acc[1];
    space = acc[2]*acc[2] + acc[3]*acc[3];
    if (mark + space <= 0.0f)
        return 0.0f;
    return (mark - space)/(mark + space);
}

static void uart(vb_fsk_rx_state_t *s, float d)
{
    double t = (double) s->n;

    if (!s->in_char)
    {
        /* Hunt for the mark-to-space edge of a start bit, placed by interpolation. */
        if (s->carrier  &&  s->prev_d > 0.0f  &&  d <= 0.0f)
        {
            s->edge_t = t - 1.0 + s->prev_d/(s->prev_d - d);
            s->next_t = s->edge_t + 0.5*s->bit_len;
            s->in_char = 1;
            s->bit_index = 0;
            s->shift = 0;
        }
    }
    else if (t >= s->next_t)
    {
        /* next_t lies in (t - 1, t]: interpolate the decision there. */
        float v = s->prev_d + (d - s->prev_d)*(float) (s->next_t - (t - 1.0));
        int bit = v > 0.0f;

        if (s->bit_index == 0)
        {
            if (bit)
                s->in_char = 0;     /* a glitch, not a start bit */
        }
        else if (s->bit_index <= 8)
        {
            s->shift |= bit << (s->bit_index - 1);
        }
        else
        {
            if (bit)
            {
                s->stats.bytes++;
                report(s, VB_FSK_BYTE, s->shift, (int64_t) llround(s->edge_t - s->delay));
            }
            else
            {
                s->stats.framing_errors++;
            }
            s->in_char = 0;
        }
        s->bit_index++;
        s->next_t += s->bit_len;
    }
    s->prev_d = d;
}

int vb_fsk_rx(vb_fsk_rx_state_t *s, const int16_t amp[], int samples)
{
    if (samples <= 0)
        return 0;
    s->stats.samples += samples;
    for (int i = 0;  i < samples;  i++)
    {
        float x = amp[i];
        float y = biquad(&s->lp, biquad(&s->hp, x));

        s->hist[s->hist_pos] = y;
        s->hist[s->hist_pos + s->span] = y;
        if (++s->hist_pos == s->span)
            s->hist_pos = 0;
        carrier_detect(s, x, y);
        uart(s, decision(s));
        s->n++;
    }
    return 0;
}

int vb_fsk_rx_get(vb_fsk_rx_state_t *s, vb_fsk_report_t out[], int max)
{
    int n = 0;

    while (n < max  &&  s->queue_len > 0)
    {
        out[n++] = s->queue[s->queue_head];
        s->queue_head = (s->queue_head + 1) % VB_FSK_RX_QUEUE;
        s->queue_len--;
    }
    return n;
}

int vb_fsk_rx_carrier(const vb_fsk_rx_state_t *s)
{
    return s->carrier;
}

int vb_fsk_rx_get_stats(const vb_fsk_rx_state_t *s, vb_fsk_rx_stats_t *st)
{
    *st = s->stats;
    return VB_OK;
}
