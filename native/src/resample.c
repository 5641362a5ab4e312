/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - resample.c: streaming polyphase sample-rate converter
 * (see vb/resample.h for the method and the limits).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/resample.h"
#include "vb/private/resample.h"

/* Pass band up to 0.85 x the lower Nyquist frequency: 3400 Hz at 8 kHz, the top of the
   telephone channel (ITU-T G.712). Stop band from the lower Nyquist frequency up. */
#define PASS_EDGE 0.85
/* Designed stop-band attenuation, dB: 10 dB above the 70 dB the converter promises, so the
   Kaiser length formula (accurate to about 2 dB) and float coefficients keep a margin. */
#define STOP_DB 80.0

static int gcd(int a, int b)
{
    while (b)
    {
        int t = a % b;

        a = b;
        b = t;
    }
    return a;
}

/* Modified Bessel function of the first kind, order 0, by its power series. */
static double bessel_i0(double x)
{
    double sum = 1.0;
    double term = 1.0;
    double q = x*x/4.0;

    for (int k = 1;  k < 200  &&  term > 1e-14*sum;  k++)
    {
        term *= q/((double) k*k);
        sum += term;
    }
    return sum;
}

/* Kaiser-window length in input samples for the transition band df (Hz) at rate fs
   (J. F. Kaiser, "Nonrecursive digital filter design using the I0-sinh window function",
   ISCAS 1974: N = (A - 8) / (2.285 dw)). */
static double kaiser_span(double df, double fs)
{
    return (STOP_DB - 8.0)/(2.285*2.0*M_PI*df/fs);
}

/* Fill s->coeffs with the L phases of the windowed-sinc prototype. */
static void design(vb_resample_state_t *s)
{
    int up = s->up;
    int taps = s->taps;
    int64_t centre = (int64_t) s->half*up;
    int64_t length = 2*centre + 1;              /* odd prototype, centred on an input sample */
    double nyquist = 0.5*((s->rate_in < s->rate_out) ? s->rate_in : s->rate_out);
    double fs_up = (double) s->rate_in*up;
    double fc = 0.5*(PASS_EDGE*nyquist + nyquist)/fs_up;   /* cut-off, cycles per sample */
    double beta = 0.1102*(STOP_DB - 8.7);      /* Kaiser (ISCAS 1974), for A > 50 dB */
    double i0_beta = bessel_i0(beta);
    double sum = 0.0;

    for (int64_t j = 0;  j < (int64_t) up*taps;  j++)
    {
        int phase = (int) (j % up);
        int tap = (int) (j / up);
        double h = 0.0;

        if (j < length)
        {
            double x = (double) (j - centre);
            double r = (centre > 0) ? x/(double) centre : 0.0;
            double arg = 2.0*M_PI*fc*x;

            h = (x == 0.0) ? 2.0*fc : sin(arg)/(M_PI*x);
            h *= bessel_i0(beta*sqrt(fmax(0.0, 1.0 - r*r)))/i0_beta;
        }
        sum += h;
        /* Tap k of phase p multiplies input i - k: store it reversed. */
        s->coeffs[(int64_t) phase*taps + (taps - 1 - tap)] = (float) h;
    }
    /* Each phase then sums to about 1: unity gain at DC. */
    for (int64_t j = 0;  j < (int64_t) up*taps;  j++)
        s->coeffs[j] = (float) (s->coeffs[j]*up/sum);
}

vb_resample_state_t *vb_resample_init(vb_resample_state_t *s, int rate_in, int rate_out)
{
    vb_resample_state_t *state;
    int g;

    if (rate_in < VB_RESAMPLE_MIN_RATE  ||  rate_in > VB_RESAMPLE_MAX_RATE
        ||  rate_out < VB_RESAMPLE_MIN_RATE  ||  rate_out > VB_RESAMPLE_MAX_RATE)
    {
        return NULL;
    }
    if ((state = (s != NULL) ? s : (vb_resample_state_t *) malloc(sizeof(*state))) == NULL)
        return NULL;
    memset(state, 0, sizeof(*state));
    state->rate_in = rate_in;
    state->rate_out = rate_out;
    g = gcd(rate_in, rate_out);
    state->up = rate_out/g;
    state->down = rate_in/g;
    if (rate_in == rate_out)
    {
        state->half = 0;
    }
    else
    {
        double nyquist = 0.5*((rate_in < rate_out) ? rate_in : rate_out);

        state->half = (int) ceil(0.5*kaiser_span((1.0 - PASS_EDGE)*nyquist, rate_in));
    }
    state->taps = 2*state->half + 1;
    if ((int64_t) state->up*state->taps > VB_RESAMPLE_MAX_COEFFS
        ||  (state->coeffs = (float *) malloc(sizeof(float)*state->up*state->taps)) == NULL
        ||  (state->hist = (float *) calloc(state->taps - 1 + VB_RESAMPLE_CHUNK, sizeof(float))) == NULL)
    {
        vb_resample_release(state);
        if (s == NULL)
            free(state);
        return NULL;
    }
    if (rate_in == rate_out)
        state->coeffs[0] = 1.0f;
    else
        design(state);
    return state;
}

int vb_resample_release(vb_resample_state_t *s)
{
    free(s->coeffs);
    free(s->hist);
    s->coeffs = NULL;
    s->hist = NULL;
    return VB_OK;
}

int vb_resample_free(vb_resample_state_t *s)
{
    if (s != NULL)
    {
        vb_resample_release(s);
        free(s);
    }
    return VB_OK;
}

int vb_resample_taps(const vb_resample_state_t *s)
{
    return s->taps;
}

/* Outputs n >= out_count that inputs [0, available) complete: those with
   floor(n*M/L) + half < available. */
static int64_t outputs_ready(const vb_resample_state_t *s, int64_t available)
{
    int64_t end = available - s->half;
    int64_t total;

    if (end <= 0)
        return 0;
    total = (end*s->up - 1)/s->down + 1;
    return (total > s->out_count) ? total - s->out_count : 0;
}

int vb_resample_max_out(const vb_resample_state_t *s, int samples)
{
    int64_t n;

    if (samples < 0)
        return VB_ERR_INVALID;
    n = outputs_ready(s, s->in_count + samples);
    return (n > INT_MAX) ? VB_ERR_INVALID : (int) n;
}

int vb_resample_pending(const vb_resample_state_t *s)
{
    /* The stream owes ceil(in_count * L / M) outputs in all. */
    int64_t owed = (s->in_count*s->up + s->down - 1)/s->down;

    return (int) (owed - s->out_count);
}

static int16_t saturate(float y)
{
    if (y >= 32767.0f)
        return INT16_MAX;
    if (y <= -32768.0f)
        return INT16_MIN;
    return (int16_t) lrintf(y);
}

static float dot(const float *c, const float *x, int n)
{
    float a0 = 0.0f;
    float a1 = 0.0f;
    float a2 = 0.0f;
    float a3 = 0.0f;
    int k = 0;

    for (  ;  k + 4 <= n;  k += 4)
    {
        a0 += c[k]*x[k];
        a1 += c[k + 1]*x[k + 1];
        a2 += c[k + 2]*x[k + 2];
        a3 += c[k + 3]*x[k + 3];
    }
    for (  ;  k < n;  k++)
        a0 += c[k]*x[k];
    return (a0 + a1) + (a2 + a3);
}

/* Consume samples (silence when in is NULL) and write the outputs they complete, stopping
   at output index limit. The caller has checked the room in out. */
static int run(vb_resample_state_t *s, const int16_t in[], int samples, int16_t out[], int64_t limit)
{
    int keep = s->taps - 1;
    int written = 0;

    while (samples > 0)
    {
        int chunk = (samples < VB_RESAMPLE_CHUNK) ? samples : VB_RESAMPLE_CHUNK;
        int64_t base = s->in_count - keep;      /* input index held in hist[0] */
        int64_t available = s->in_count + chunk;

        for (int j = 0;  j < chunk;  j++)
            s->hist[keep + j] = (in != NULL) ? (float) in[j] : 0.0f;
        while (s->out_count < limit)
        {
            int64_t t = s->out_count*s->down;
            int64_t last = t/s->up + s->half;   /* newest input this output needs */

            if (last >= available)
                break;
            out[written++] = saturate(dot(s->coeffs + (t % s->up)*s->taps,
                                          s->hist + (last - base) - keep, s->taps));
            s->out_count++;
        }
        memmove(s->hist, s->hist + chunk, keep*sizeof(float));
        s->in_count = available;
        if (in != NULL)
            in += chunk;
        samples -= chunk;
    }
    return written;
}

int vb_resample(vb_resample_state_t *s, const int16_t in[], int samples, int16_t out[], int max_out)
{
    int needed = vb_resample_max_out(s, samples);

    if (needed < 0)
        return needed;
    if (needed > max_out)
        return VB_ERR_FULL;
    return run(s, in, samples, out, INT64_MAX);
}

int vb_resample_flush(vb_resample_state_t *s, int16_t out[], int max_out)
{
    int owed = vb_resample_pending(s);
    int64_t limit = s->out_count + owed;
    int written;

    if (owed > max_out)
        return VB_ERR_FULL;
    /* The last owed output looks half taps ahead of the last input. */
    written = run(s, NULL, s->half, out, limit);
    s->in_count = 0;
    s->out_count = 0;
    memset(s->hist, 0, sizeof(float)*(s->taps - 1 + VB_RESAMPLE_CHUNK));
    return written;
}
