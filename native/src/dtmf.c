/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - dtmf.c: streaming DTMF receiver (see vb/dtmf.h for the method).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/dtmf.h"
#include "vb/private/state.h"
#include "vb/private/dtmf.h"

#define HOP VB_DTMF_HOP
#define WINDOW (2*VB_DTMF_HOP)  /* 64-sample Hann window: 8 ms, 125 Hz bins */
#define TONES VB_DTMF_TONES
#define LEAD_HOPS VB_DTMF_LEAD_HOPS

/* Q.23 frequencies: rows (low group) then columns (high group). */
static const float tone_hz[TONES] = {697.0f, 770.0f, 852.0f, 941.0f, 1209.0f, 1336.0f, 1477.0f, 1633.0f};
static const char digit_map[4][4] =
{
    {'1', '2', '3', 'A'},
    {'4', '5', '6', 'B'},
    {'7', '8', '9', 'C'},
    {'*', '0', '#', 'D'}
};

#define GAIN_STEPS 1024        /* window gain table, indexed by sin^2 of the phase error */

typedef float v8sf __attribute__((vector_size(32)));
typedef float v4sf __attribute__((vector_size(16)));

/* Windowed DFT kernels: e^{-j w_k n} times the Hann taper, for the first and the second half
   of a window, real parts in [0] and imaginary parts in [1], one lane per tone. */
static struct
{
    v8sf first[HOP][2];
    v8sf second[HOP][2];
    float hop_rot_re[TONES];    /* e^{-j w_k HOP}: removes the nominal phase advance per hop */
    float hop_rot_im[TONES];
    v8sf rot1[2];               /* e^{-j w_k HOP} and e^{-j w_k 2 HOP}, real and imaginary */
    v8sf rot2[2];
    /* Power gain of the combined window for a tone whose phase error per hop has
       sin^2 = i/GAIN_STEPS (indexing by sin^2 spares an arctangent per tone and hop). */
    float gain[GAIN_STEPS + 1];
    void (*hop_dft)(const int16_t x[HOP], v8sf out[4], float *energy);
} kernel;
static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;

static void hop_dft_portable(const int16_t x[HOP], v8sf out[4], float *energy);
#if defined(__x86_64__) && !defined(VB_NO_TARGET_CLONES)
static void hop_dft_avx2(const int16_t x[HOP], v8sf out[4], float *energy);
#endif

static void kernel_init(void)
{
    for (int n = 0;  n < WINDOW;  n++)
    {
        /* sin^2 form of the Hann window; it sums to WINDOW/2 exactly. */
        double w = sin(M_PI*(n + 0.5)/WINDOW);

        w *= w;
        for (int k = 0;  k < TONES;  k++)
        {
            double phase = 2.0*M_PI*tone_hz[k]*n/VB_SAMPLE_RATE;
            float re = (float) (w*cos(phase));
            float im = (float) (-w*sin(phase));

            if (n < HOP)
            {
                kernel.first[n][0][k] = re;
                kernel.first[n][1][k] = im;
            }
            else
            {
                kernel.second[n - HOP][0][k] = re;
                kernel.second[n - HOP][1][k] = im;
            }
        }
    }
    for (int k = 0;  k < TONES;  k++)
    {
        double phase = 2.0*M_PI*tone_hz[k]*HOP/VB_SAMPLE_RATE;

        kernel.hop_rot_re[k] = (float) cos(phase);
        kernel.hop_rot_im[k] = (float) -sin(phase);
        kernel.rot1[0][k] = (float) cos(phase);
        kernel.rot1[1][k] = (float) -sin(phase);
        kernel.rot2[0][k] = (float) cos(2.0*phase);
        kernel.rot2[1][k] = (float) -sin(2.0*phase);
    }
    for (int i = 0;  i <= GAIN_STEPS;  i++)
    {
        /* |sum w(n) e^{j d n}|^2 / (sum w)^2 for the three overlapped Hann windows, d the
           frequency error in radians per sample: the phase error per hop over HOP. */
        double d = asin(sqrt((double) i/GAIN_STEPS))/HOP;
        double sum_re = 0.0;
        double sum_im = 0.0;
        double sum_w = 0.0;

        for (int n = 0;  n < 2*WINDOW;  n++)
        {
            double w = 0.0;

            for (int start = 0;  start <= WINDOW;  start += HOP)
            {
                if (n >= start  &&  n < start + WINDOW)
                {
                    double h = sin(M_PI*(n - start + 0.5)/WINDOW);

                    w += h*h;
                }
            }
            sum_re += w*cos(d*n);
            sum_im += w*sin(d*n);
            sum_w += w;
        }
        kernel.gain[i] = (float) ((sum_re*sum_re + sum_im*sum_im)/(sum_w*sum_w));
    }
    kernel.hop_dft = hop_dft_portable;
#if defined(__x86_64__) && !defined(VB_NO_TARGET_CLONES)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")  &&  __builtin_cpu_supports("fma"))
        kernel.hop_dft = hop_dft_avx2;
#endif
}

/* One hop of samples into the two half-window DFTs that touch it, and the hop's energy.
   The portable version works on 4-wide halves (SSE width): 8-wide vectors without AVX
   would be split by the compiler into slow scalar code. */
static void hop_dft_portable(const int16_t x[HOP], v8sf out[4], float *energy)
{
    v4sf acc[8] = {{0}};
    float e = 0.0f;

    for (int n = 0;  n < HOP;  n++)
    {
        const v4sf *first = (const v4sf *) kernel.first[n];
        const v4sf *second = (const v4sf *) kernel.second[n];
        float xn = x[n];

        for (int i = 0;  i < 4;  i++)
        {
            acc[i] += xn*first[i];
            acc[4 + i] += xn*second[i];
        }
        e += xn*xn;
    }
    memcpy(out, acc, sizeof(acc));
    *energy = e;
}

#if defined(__x86_64__) && !defined(VB_NO_TARGET_CLONES)
/* AVX2 + FMA: two interleaved sets of accumulators hide the 4-cycle multiply-add latency. */
__attribute__((target("arch=x86-64-v3")))
static void hop_dft_avx2(const int16_t x[HOP], v8sf out[4], float *energy)
{
    v8sf first_re0 = {0}, first_im0 = {0}, second_re0 = {0}, second_im0 = {0};
    v8sf first_re1 = {0}, first_im1 = {0}, second_re1 = {0}, second_im1 = {0};
    float e0 = 0.0f;
    float e1 = 0.0f;

    for (int n = 0;  n < HOP;  n += 2)
    {
        float x0 = x[n];
        float x1 = x[n + 1];

        first_re0 += x0*kernel.first[n][0];
        first_im0 += x0*kernel.first[n][1];
        second_re0 += x0*kernel.second[n][0];
        second_im0 += x0*kernel.second[n][1];
        first_re1 += x1*kernel.first[n + 1][0];
        first_im1 += x1*kernel.first[n + 1][1];
        second_re1 += x1*kernel.second[n + 1][0];
        second_im1 += x1*kernel.second[n + 1][1];
        e0 += x0*x0;
        e1 += x1*x1;
    }
    out[0] = first_re0 + first_re1;
    out[1] = first_im0 + first_im1;
    out[2] = second_re0 + second_re1;
    out[3] = second_im0 + second_im1;
    *energy = e0 + e1;
}
#endif

static float db_to_power_ratio(float db)
{
    return powf(10.0f, db/10.0f);
}

static float power_to_dbm0(double power)
{
    if (power <= 0.0)
        return -99.0f;
    return (float) (10.0*log10(power/((double) VB_DBM0_RMS*VB_DBM0_RMS)));
}

static float phase_to_offset_hz(double re, double im)
{
    return (float) (atan2(im, re)*VB_SAMPLE_RATE/(2.0*M_PI*HOP));
}

int vb_dtmf_rx_default_params(vb_dtmf_rx_params_t *p, int mode)
{
    /* Normal: Q.24 limits with margin. The frequency window is the accept limit
       (1.5 % + 2 Hz) plus 2 Hz for the measurement: anything wider only lets in music and
       voices (notes between 1.5 % and 3.5 % off are "don't care" in Q.24). */
    p->min_level_dbm0 = -45.0f;
    p->normal_twist_db = 9.5f;
    p->reverse_twist_db = 5.5f;
    p->tone_share_db = -1.0f;
    p->freq_tolerance_pct = 1.5f;
    p->freq_tolerance_hz = 4.0f;
    p->min_on_ms = 20;
    p->min_off_ms = 20;
    switch (mode)
    {
    case VB_DTMF_MODE_NORMAL:
        return VB_OK;
    case VB_DTMF_MODE_SENSITIVE:
        p->min_level_dbm0 = -48.0f;
        p->normal_twist_db = 11.0f;
        p->reverse_twist_db = 7.0f;
        p->tone_share_db = -2.0f;
        p->min_on_ms = 20;
        return VB_OK;
    case VB_DTMF_MODE_STRICT:
        p->normal_twist_db = 9.0f;
        p->reverse_twist_db = 5.0f;
        p->tone_share_db = -0.7f;
        p->min_on_ms = 32;
        return VB_OK;
    }
    return VB_ERR_INVALID;
}

static int params_valid(const vb_dtmf_rx_params_t *p)
{
    return p->min_level_dbm0 < 3.2f && p->min_level_dbm0 > -80.0f
        && p->normal_twist_db > 0.0f && p->reverse_twist_db > 0.0f
        && p->tone_share_db < 0.0f && p->tone_share_db > -20.0f
        && p->freq_tolerance_pct > 0.0f && p->freq_tolerance_pct < 6.0f
        && p->freq_tolerance_hz >= 0.0f && p->freq_tolerance_hz < 20.0f
        && p->min_on_ms >= 8 && p->min_on_ms <= 1000
        && p->min_off_ms >= 8 && p->min_off_ms <= 1000;
}

static void apply_params(vb_dtmf_rx_state_t *s, const vb_dtmf_rx_params_t *p)
{
    s->params = *p;
    s->min_power = VB_DBM0_RMS*VB_DBM0_RMS*db_to_power_ratio(p->min_level_dbm0);
    s->normal_twist = db_to_power_ratio(p->normal_twist_db);
    s->reverse_twist = db_to_power_ratio(p->reverse_twist_db);
    s->tone_share = db_to_power_ratio(p->tone_share_db);
    for (int k = 0;  k < TONES;  k++)
    {
        double window_hz = tone_hz[k]*p->freq_tolerance_pct/100.0 + p->freq_tolerance_hz;

        s->tan_window[k] = (float) tan(2.0*M_PI*window_hz*HOP/VB_SAMPLE_RATE);
    }
    {
        /* The window loses the most on the highest tone at the edge of its window. */
        double edge_hz = tone_hz[TONES - 1]*p->freq_tolerance_pct/100.0 + p->freq_tolerance_hz;
        double edge = sin(2.0*M_PI*edge_hz*HOP/VB_SAMPLE_RATE);
        int step = (int) lrint(edge*edge*GAIN_STEPS);

        s->min_gain = kernel.gain[(step > GAIN_STEPS) ? GAIN_STEPS : step];
    }
    s->on_hops = (p->min_on_ms + HOP*1000/VB_SAMPLE_RATE/2)/(HOP*1000/VB_SAMPLE_RATE);
    s->off_hops = (p->min_off_ms + HOP*1000/VB_SAMPLE_RATE/2)/(HOP*1000/VB_SAMPLE_RATE);
}

vb_dtmf_rx_state_t *vb_dtmf_rx_init(vb_dtmf_rx_state_t *s, const vb_dtmf_rx_params_t *p)
{
    vb_dtmf_rx_params_t defaults;

    if (p == NULL)
    {
        vb_dtmf_rx_default_params(&defaults, VB_DTMF_MODE_NORMAL);
        p = &defaults;
    }
    if (!params_valid(p))
        return NULL;
    pthread_once(&kernel_once, kernel_init);
    if ((s = VB_STATE_CLAIM(s, vb_dtmf_rx_state_t)) == NULL)
        return NULL;
    apply_params(s, p);
    return s;
}

int vb_dtmf_rx_set_params(vb_dtmf_rx_state_t *s, const vb_dtmf_rx_params_t *p)
{
    vb_dtmf_rx_params_t merged = s->params;

    if (p->min_level_dbm0 < 0.0f)
        merged.min_level_dbm0 = p->min_level_dbm0;
    if (p->normal_twist_db > 0.0f)
        merged.normal_twist_db = p->normal_twist_db;
    if (p->reverse_twist_db > 0.0f)
        merged.reverse_twist_db = p->reverse_twist_db;
    if (p->tone_share_db < 0.0f)
        merged.tone_share_db = p->tone_share_db;
    if (p->freq_tolerance_pct > 0.0f)
        merged.freq_tolerance_pct = p->freq_tolerance_pct;
    if (p->freq_tolerance_hz > 0.0f)
        merged.freq_tolerance_hz = p->freq_tolerance_hz;
    if (p->min_on_ms > 0)
        merged.min_on_ms = p->min_on_ms;
    if (p->min_off_ms > 0)
        merged.min_off_ms = p->min_off_ms;
    if (!params_valid(&merged))
        return VB_ERR_INVALID;
    apply_params(s, &merged);
    return VB_OK;
}

int vb_dtmf_rx_get_params(const vb_dtmf_rx_state_t *s, vb_dtmf_rx_params_t *p)
{
    *p = s->params;
    return VB_OK;
}

int vb_dtmf_rx_release(vb_dtmf_rx_state_t *s)
{
    (void) s;
    return VB_OK;
}

int vb_dtmf_rx_free(vb_dtmf_rx_state_t *s)
{
    if (s != NULL)
    {
        vb_dtmf_rx_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

int vb_dtmf_rx_state_size(void)
{
    return (int) sizeof(vb_dtmf_rx_state_t);
}

static void push_event(vb_dtmf_rx_state_t *s, int kind, int64_t end)
{
    vb_dtmf_event_t *ev;
    double hops = (s->level_hops > 0) ? s->level_hops : 1;

    if (s->queue_len == VB_DTMF_QUEUE)
    {
        /* Nobody is reading: keep the newest events. */
        s->queue_head = (s->queue_head + 1) % VB_DTMF_QUEUE;
        s->queue_len--;
        s->stats.events_dropped++;
    }
    ev = &s->queue[(s->queue_head + s->queue_len) % VB_DTMF_QUEUE];
    s->queue_len++;
    ev->kind = kind;
    ev->digit = s->digit;
    ev->start = s->start;
    ev->end = end;
    ev->row_dbm0 = power_to_dbm0(s->row_power_sum/hops);
    ev->col_dbm0 = power_to_dbm0(s->col_power_sum/hops);
    ev->twist_db = ev->row_dbm0 - ev->col_dbm0;
    ev->row_offset_hz = phase_to_offset_hz(s->row_phase_re, s->row_phase_im);
    ev->col_offset_hz = phase_to_offset_hz(s->col_phase_re, s->col_phase_im);
}

/* Phase advance of tone k since the previous window, less its nominal advance:
   X_now * conj(X_before) * e^{-j w_k HOP}. Its angle is 2 pi (f - f_k) HOP / 8000. */
static void phase_error(const vb_dtmf_rx_state_t *s, int k, float re, float im, float *out_re, float *out_im)
{
    float cross_re = re*s->long_re[k] + im*s->long_im[k];
    float cross_im = im*s->long_re[k] - re*s->long_im[k];

    *out_re = cross_re*kernel.hop_rot_re[k] - cross_im*kernel.hop_rot_im[k];
    *out_im = cross_re*kernel.hop_rot_im[k] + cross_im*kernel.hop_rot_re[k];
}

/* The strongest tone of a group (first = 0 rows, 4 columns) that is loud enough and whose
   measured frequency is inside its window; -1 if none. Its power, corrected for the window's
   loss at the measured frequency offset, replaces power[k]. */
static int best_tone(const vb_dtmf_rx_state_t *s, int first, const float re[], const float im[],
                     float power[], float *rot_re, float *rot_im)
{
    int best = -1;
    float best_power = 0.0f;

    for (int k = first;  k < first + 4;  k++)
    {
        float r;
        float i;
        float corrected;
        int step;

        if (power[k] < s->min_power*s->min_gain)
            continue;
        phase_error(s, k, re[k], im[k], &r, &i);
        if (r <= 0.0f  ||  fabsf(i) > s->tan_window[k]*r)
            continue;
        step = (int) (i*i/(r*r + i*i)*GAIN_STEPS + 0.5f);
        corrected = power[k]/kernel.gain[step];
        if (corrected < s->min_power  ||  corrected <= best_power)
            continue;
        best = k;
        best_power = corrected;
        *rot_re = r;
        *rot_im = i;
    }
    if (best >= 0)
        power[best] = best_power;
    return best;
}

static float group_max(const float power[], int first)
{
    float m = power[first];

    for (int k = first + 1;  k < first + 4;  k++)
    {
        if (power[k] > m)
            m = power[k];
    }
    return m;
}

/* Classify the analysis that ends with this hop: the digit it holds, or 0.

   The tests use a 128-sample window made of the last three 64-sample Hann windows (one hop
   apart, phase-aligned at the tones): they sum to a Tukey window, flat over the middle 64
   samples. Its finer resolution keeps a voice's neighbouring harmonics (~120 Hz apart) out of
   the tone powers, which the 64-sample window cannot (talk-off, docs/talkoff.md), and it costs
   no per-sample work. The frequency test compares this window with the one a hop before. */
static char classify(vb_dtmf_rx_state_t *s, const v8sf dft[4], float hop_energy)
{
    /* Sum of the combined window: three Hann windows of sum 32. */
    static const float window_sum = 3.0f*(WINDOW/2);
    float re[TONES];
    float im[TONES];
    float power[TONES];
    float total;
    float row_re = 0.0f;
    float row_im = 0.0f;
    float col_re = 0.0f;
    float col_im = 0.0f;
    int row = -1;
    int col = -1;
    v8sf w1_re, w1_im, w2_re, w2_im, w3_re, w3_im, long_re, long_im, power_v;

    /* The 64-sample window that began one hop ago is complete now. */
    memcpy(&w1_re, s->half_re, sizeof(w1_re));
    memcpy(&w1_im, s->half_im, sizeof(w1_im));
    w1_re += dft[2];
    w1_im += dft[3];
    memcpy(&w2_re, s->w1_re, sizeof(w2_re));
    memcpy(&w2_im, s->w1_im, sizeof(w2_im));
    memcpy(&w3_re, s->w2_re, sizeof(w3_re));
    memcpy(&w3_im, s->w2_im, sizeof(w3_im));
    /* Phase-align the later windows to the first one's start and add. */
    long_re = w3_re + (w2_re*kernel.rot1[0] - w2_im*kernel.rot1[1]) + (w1_re*kernel.rot2[0] - w1_im*kernel.rot2[1]);
    long_im = w3_im + (w2_re*kernel.rot1[1] + w2_im*kernel.rot1[0]) + (w1_re*kernel.rot2[1] + w1_im*kernel.rot2[0]);
    /* Tone power: |X|^2 * 2 / (sum of window)^2. */
    power_v = (long_re*long_re + long_im*long_im)*(2.0f/(window_sum*window_sum));
    memcpy(re, &long_re, sizeof(re));
    memcpy(im, &long_im, sizeof(im));
    memcpy(power, &power_v, sizeof(power));
    /* Mean power under the same window: the tapered end hops weigh half. */
    total = (0.5f*s->hop_energy[0] + s->hop_energy[1] + s->hop_energy[2] + 0.5f*hop_energy)/window_sum;

    /* Most windows hold no digit: the energy tests need no phase work. */
    if (group_max(power, 0) + group_max(power, 4) >= total*s->tone_share*s->min_gain)
    {
        row = best_tone(s, 0, re, im, power, &row_re, &row_im);
        if (row >= 0)
            col = best_tone(s, 4, re, im, power, &col_re, &col_im);
    }
    memcpy(s->half_re, &dft[0], sizeof(s->half_re));
    memcpy(s->half_im, &dft[1], sizeof(s->half_im));
    memcpy(s->w2_re, s->w1_re, sizeof(s->w2_re));
    memcpy(s->w2_im, s->w1_im, sizeof(s->w2_im));
    memcpy(s->w1_re, &w1_re, sizeof(s->w1_re));
    memcpy(s->w1_im, &w1_im, sizeof(s->w1_im));
    memcpy(s->long_re, re, sizeof(s->long_re));
    memcpy(s->long_im, im, sizeof(s->long_im));
    s->hop_energy[0] = s->hop_energy[1];
    s->hop_energy[1] = s->hop_energy[2];
    s->hop_energy[2] = hop_energy;

    if (row < 0  ||  col < 0)
        return 0;
    if (power[row] > power[col]*s->normal_twist  ||  power[col] > power[row]*s->reverse_twist)
        return 0;
    if (power[row] + power[col] < total*s->tone_share)
        return 0;
    s->hop_row_power = power[row];
    s->hop_col_power = power[col];
    s->hop_row_re = row_re;
    s->hop_row_im = row_im;
    s->hop_col_re = col_re;
    s->hop_col_im = col_im;
    return digit_map[row][col - 4];
}

static void add_level(vb_dtmf_rx_state_t *s)
{
    s->row_power_sum += s->hop_row_power;
    s->col_power_sum += s->hop_col_power;
    s->row_phase_re += s->hop_row_re;
    s->row_phase_im += s->hop_row_im;
    s->col_phase_re += s->hop_col_re;
    s->col_phase_im += s->hop_col_im;
    s->level_hops++;
}

static void reset_levels(vb_dtmf_rx_state_t *s)
{
    s->row_power_sum = s->col_power_sum = 0.0;
    s->row_phase_re = s->row_phase_im = 0.0;
    s->col_phase_re = s->col_phase_im = 0.0;
    s->level_hops = 0;
}

static void start_candidate(vb_dtmf_rx_state_t *s, char hit, float energy, int64_t hop_start)
{
    s->cand = hit;
    s->cand_steady = 1;
    s->cand_misses = 0;
    s->cand_peak = energy;
    /* Energies of this hop and the ones before it: where the tone began is decided once its
       full level is known (tone_start()). A hit needs the tone in most of the long window,
       so the tone may have begun up to LEAD_HOPS - 1 hops before the first hit. */
    memcpy(s->cand_lead, s->recent_energy, sizeof(s->cand_lead));
    s->cand_start = hop_start - (LEAD_HOPS - 1)*HOP;
    reset_levels(s);
    add_level(s);
}

/* The first sample of the tone: in the first of the lead hops that carries tone, as far from
   its end as the hop's share of the full tone energy says. */
static int64_t tone_start(const vb_dtmf_rx_state_t *s)
{
    for (int k = 0;  k < LEAD_HOPS;  k++)
    {
        float share = s->cand_lead[k]/s->cand_peak;

        if (share >= 0.05f)
        {
            int64_t start = s->cand_start + (k + 1)*HOP - (int64_t) lrintf(((share > 1.0f) ? 1.0f : share)*HOP);

            return (start < 0) ? 0 : start;
        }
    }
    return s->cand_start + (LEAD_HOPS - 1)*HOP;
}

/* Timing: a candidate becomes a digit after on_hops hops of steady tone (hop energy within
   2.2 dB of the strongest hop so far); a digit ends after off_hops hops without it. */
static void track(vb_dtmf_rx_state_t *s, char hit, float energy)
{
    int64_t hop_start = s->hop*HOP;
    int steady;

    if (s->digit)
    {
        if (hit == s->digit)
        {
            s->off_hops_seen = 0;
            if (energy > s->peak)
                s->peak = energy;
            if (energy >= 0.6f*s->peak)
            {
                s->steady_end = hop_start + HOP;
                add_level(s);
            }
            return;
        }
        if (++s->off_hops_seen < s->off_hops)
            return;
        push_event(s, VB_DTMF_OFF, s->steady_end);
        s->digit = 0;
        s->cand = 0;
        /* A different digit may have begun while this one was ending. */
        if (hit)
            start_candidate(s, hit, energy, hop_start);
        return;
    }

    if (hit  &&  hit == s->cand)
    {
        s->cand_misses = 0;
        if (energy > s->cand_peak)
            s->cand_peak = energy;
        steady = energy >= 0.6f*s->cand_peak;
        if (steady)
        {
            s->cand_steady++;
            add_level(s);
        }
        if (s->cand_steady >= s->on_hops)
        {
            s->digit = s->cand;
            s->start = tone_start(s);
            s->peak = s->cand_peak;
            s->steady_end = hop_start + HOP;
            s->off_hops_seen = 0;
            s->stats.digits++;
            push_event(s, VB_DTMF_ON, -1);
        }
        return;
    }
    if (hit)
    {
        if (s->cand  &&  s->cand_steady >= 2)
            s->stats.rejected_short++;
        start_candidate(s, hit, energy, hop_start);
        return;
    }
    /* One hop without the tone is forgiven (noise); two end the candidate. */
    if (s->cand  &&  ++s->cand_misses >= 2)
    {
        if (s->cand_steady >= 2)
            s->stats.rejected_short++;
        s->cand = 0;
    }
}

static void analyse_hop(vb_dtmf_rx_state_t *s, const int16_t x[HOP])
{
    v8sf dft[4];
    float energy;
    char hit;

    kernel.hop_dft(x, dft, &energy);
    memmove(s->recent_energy, s->recent_energy + 1, (LEAD_HOPS - 1)*sizeof(float));
    s->recent_energy[LEAD_HOPS - 1] = energy;
    hit = classify(s, dft, energy);
    track(s, hit, energy);
    s->hop++;
}

int vb_dtmf_rx(vb_dtmf_rx_state_t *s, const int16_t amp[], int samples)
{
    int i = 0;

    if (samples <= 0)
        return 0;
    s->stats.samples += samples;
    if (s->pending_len > 0)
    {
        int take = HOP - s->pending_len;

        if (take > samples)
            take = samples;
        memcpy(s->pending + s->pending_len, amp, take*sizeof(int16_t));
        s->pending_len += take;
        i = take;
        if (s->pending_len < HOP)
            return 0;
        analyse_hop(s, s->pending);
        s->pending_len = 0;
    }
    for (  ;  i + HOP <= samples;  i += HOP)
        analyse_hop(s, amp + i);
    if (i < samples)
    {
        memcpy(s->pending, amp + i, (samples - i)*sizeof(int16_t));
        s->pending_len = samples - i;
    }
    return 0;
}

int vb_dtmf_rx_fillin(vb_dtmf_rx_state_t *s, int samples)
{
    static const int16_t silence[HOP] = {0};

    while (samples > 0)
    {
        int n = (samples > HOP) ? HOP : samples;

        vb_dtmf_rx(s, silence, n);
        samples -= n;
    }
    return 0;
}

int vb_dtmf_rx_get(vb_dtmf_rx_state_t *s, vb_dtmf_event_t ev[], int max)
{
    int n = 0;

    while (n < max  &&  s->queue_len > 0)
    {
        ev[n++] = s->queue[s->queue_head];
        s->queue_head = (s->queue_head + 1) % VB_DTMF_QUEUE;
        s->queue_len--;
    }
    return n;
}

int vb_dtmf_rx_current(const vb_dtmf_rx_state_t *s)
{
    return s->digit;
}

int vb_dtmf_rx_get_stats(const vb_dtmf_rx_state_t *s, vb_dtmf_rx_stats_t *st)
{
    *st = s->stats;
    return VB_OK;
}
