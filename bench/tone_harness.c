/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * bench/tone_harness.c: tone and DTMF generator throughput, C to C. Benchmark code, not part
 * of the product.
 *
 *   tone_harness IMPL MODE SECONDS [-b BLOCK] [-n PASSES]
 *     IMPL     spandsp (Debian's libspandsp dtmf_tx / tone_gen), or ours (native/src/tone.c;
 *              only in a build with -DVB_BENCH_HAVE_TONE, made when tone.c has vb_tone_tx)
 *     MODE     dtmf   "0123456789*#ABCD" repeated, -10 dBm0 per tone, 50 ms on, 50 ms off
 *              dial   450 Hz continuous, -10 dBm0 (China dial tone, telephony.md 4.1)
 *              dual   350+440 Hz continuous, -10 dBm0 each (US dial tone, telephony.md 4.1)
 *              busy   450 Hz 350 ms on / 350 ms off, -10 dBm0 (China busy, telephony.md 4.1)
 *     SECONDS  audio generated per pass
 *     -b       samples per call (default 160 = one 20 ms tick)
 *     -n       timed passes (default 1)
 *
 * The -10 dBm0 level is China's tone level (telephony.md 4.1, "-10 +- 3 dBm") and the DTMF
 * generator default of both spandsp and ours. Before the timed passes one untimed pass checks
 * the output and measures its level, so a generator that writes nothing cannot look fast.
 * Output: "impl=... mode=... samples=N block=B passes=P rms_dbm0=R cpu_s=T1,T2,...".
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spandsp/telephony.h>
#include <spandsp/logging.h>
#include <spandsp/super_tone_rx.h>
#include <spandsp/dtmf.h>
#include <spandsp/tone_generate.h>

#if defined(VB_BENCH_HAVE_TONE)
#include "vb/telephony.h"
#include "vb/tone.h"
#endif

#define DIGITS "0123456789*#ABCD"
#define LEVEL_DBM0 -10
#define DTMF_ON_MS 50
#define DTMF_OFF_MS 50
#define DBM0_RMS 16141.0   /* RMS of a 0 dBm0 sine in 16-bit units (G.711; tests/signals.py) */

enum {MODE_DTMF, MODE_DIAL, MODE_DUAL, MODE_BUSY};

/* A generator behind one interface: start, produce samples (refilling DTMF digits), stop. */
typedef struct
{
    void *(*start)(int mode);
    int (*fill)(void *g, int mode, int16_t amp[], int n);
    void (*stop)(void *g, int mode);
} gen_t;

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec*1e-9;
}

static void *sp_start(int mode)
{
    tone_gen_descriptor_t *d;
    tone_gen_state_t *t;

    if (mode == MODE_DTMF)
    {
        dtmf_tx_state_t *s = dtmf_tx_init(NULL);

        if (s)
        {
            dtmf_tx_set_level(s, LEVEL_DBM0, 0);
            dtmf_tx_set_timing(s, DTMF_ON_MS, DTMF_OFF_MS);
        }
        return s;
    }
    /* A 1000 ms section followed by a zero-length one repeats the first: a continuous tone. */
    if (mode == MODE_DIAL)
        d = tone_gen_descriptor_init(NULL, 450, LEVEL_DBM0, 0, 0, 1000, 0, 0, 0, 1);
    else if (mode == MODE_DUAL)
        d = tone_gen_descriptor_init(NULL, 350, LEVEL_DBM0, 440, LEVEL_DBM0, 1000, 0, 0, 0, 1);
    else
        d = tone_gen_descriptor_init(NULL, 450, LEVEL_DBM0, 0, 0, 350, 350, 0, 0, 1);
    if (d == NULL)
        return NULL;
    t = tone_gen_init(NULL, d);
    tone_gen_descriptor_free(d);
    return t;
}

static int sp_fill(void *g, int mode, int16_t amp[], int n)
{
    int k;

    if (mode != MODE_DTMF)
        return tone_gen((tone_gen_state_t *) g, amp, n);
    k = dtmf_tx((dtmf_tx_state_t *) g, amp, n);
    if (k < n)
    {
        dtmf_tx_put((dtmf_tx_state_t *) g, DIGITS, -1);
        k += dtmf_tx((dtmf_tx_state_t *) g, amp + k, n - k);
    }
    return k;
}

static void sp_stop(void *g, int mode)
{
    if (mode == MODE_DTMF)
        dtmf_tx_free((dtmf_tx_state_t *) g);
    else
        tone_gen_free((tone_gen_state_t *) g);
}

static const gen_t spandsp_gen = {sp_start, sp_fill, sp_stop};

#if defined(VB_BENCH_HAVE_TONE)
static void *vb_start(int mode)
{
    vb_tone_segment_t seg;
    vb_tone_tx_state_t *t;

    if (mode == MODE_DTMF)
    {
        vb_dtmf_tx_params_t p;

        vb_dtmf_tx_default_params(&p);
        p.row_dbm0 = p.col_dbm0 = LEVEL_DBM0;
        p.on_ms = DTMF_ON_MS;
        p.off_ms = DTMF_OFF_MS;
        return vb_dtmf_tx_init(NULL, &p);
    }
    memset(&seg, 0, sizeof(seg));
    seg.f1_hz = (mode == MODE_DUAL) ? 350.0f : 450.0f;
    seg.f2_hz = (mode == MODE_DUAL) ? 440.0f : 0.0f;
    seg.level1_dbm0 = seg.level2_dbm0 = LEVEL_DBM0;
    seg.on_ms = (mode == MODE_BUSY) ? 350 : 1000;
    seg.off_ms = (mode == MODE_BUSY) ? 350 : 0;
    seg.repeat = 1;
    if ((t = vb_tone_tx_init(NULL)) != NULL  &&  vb_tone_tx_put(t, &seg, 1) != VB_OK)
    {
        vb_tone_tx_free(t);
        return NULL;
    }
    return t;
}

static int vb_fill(void *g, int mode, int16_t amp[], int n)
{
    int k;

    if (mode != MODE_DTMF)
        return vb_tone_tx((vb_tone_tx_state_t *) g, amp, n);
    k = vb_dtmf_tx((vb_dtmf_tx_state_t *) g, amp, n);
    if (k < n)
    {
        vb_dtmf_tx_put((vb_dtmf_tx_state_t *) g, DIGITS);
        k += vb_dtmf_tx((vb_dtmf_tx_state_t *) g, amp + k, n - k);
    }
    return k;
}

static void vb_stop(void *g, int mode)
{
    if (mode == MODE_DTMF)
        vb_dtmf_tx_free((vb_dtmf_tx_state_t *) g);
    else
        vb_tone_tx_free((vb_tone_tx_state_t *) g);
}

static const gen_t ours_gen = {vb_start, vb_fill, vb_stop};
#endif

/* One pass of total samples; with power != NULL also the mean square of the output. */
static int run(const gen_t *gen, int mode, int64_t total, int block, int16_t *buf, double *power)
{
    void *g = gen->start(mode);
    double sum = 0.0;

    if (g == NULL)
        return -1;
    for (int64_t done = 0;  done < total;  done += block)
    {
        int n = (total - done < block) ? (int) (total - done) : block;

        if (gen->fill(g, mode, buf, n) != n)
        {
            gen->stop(g, mode);
            return -1;
        }
        for (int i = 0;  power  &&  i < n;  i++)
            sum += (double) buf[i]*buf[i];
    }
    gen->stop(g, mode);
    if (power)
        *power = sum/(double) total;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: tone_harness spandsp|ours dtmf|dial|dual|busy SECONDS [-b BLOCK] [-n PASSES]\n");
    return 2;
}

int main(int argc, char *argv[])
{
    static const char *modes[] = {"dtmf", "dial", "dual", "busy"};
    const gen_t *gen = NULL;
    int mode = -1;
    int block = 160;
    int passes = 1;
    double seconds;
    double power;
    int64_t total;
    int16_t *buf;
    double *cpu;

    if (argc < 4)
        return usage();
    if (strcmp(argv[1], "spandsp") == 0)
        gen = &spandsp_gen;
#if defined(VB_BENCH_HAVE_TONE)
    else if (strcmp(argv[1], "ours") == 0)
        gen = &ours_gen;
#else
    else if (strcmp(argv[1], "ours") == 0)
    {
        fprintf(stderr, "tone_harness: built without native/src/tone.c (ours not built yet)\n");
        return 3;
    }
#endif
    for (int i = 0;  i < 4;  i++)
    {
        if (strcmp(argv[2], modes[i]) == 0)
            mode = i;
    }
    seconds = atof(argv[3]);
    for (int i = 4;  i < argc;  i++)
    {
        if (strcmp(argv[i], "-b") == 0  &&  i + 1 < argc)
            block = atoi(argv[++i]);
        else if (strcmp(argv[i], "-n") == 0  &&  i + 1 < argc)
            passes = atoi(argv[++i]);
        else
            return usage();
    }
    if (gen == NULL  ||  mode < 0)
        return usage();
    if (seconds <= 0.0  ||  block < 1  ||  passes < 1)
    {
        fprintf(stderr, "tone_harness: SECONDS, -b and -n must be positive\n");
        return 2;
    }
    total = (int64_t) (seconds*8000.0);
    buf = malloc((size_t) block*sizeof(*buf));
    cpu = calloc((size_t) passes, sizeof(*cpu));
    if (buf == NULL  ||  cpu == NULL)
        return 2;

    if (run(gen, mode, total, block, buf, &power) < 0)
    {
        fprintf(stderr, "tone_harness: %s %s: generator failed or wrote short blocks\n", argv[1], argv[2]);
        return 1;
    }
    for (int p = 0;  p < passes;  p++)
    {
        double t0 = cpu_seconds();

        run(gen, mode, total, block, buf, NULL);
        cpu[p] = cpu_seconds() - t0;
    }
    printf("impl=%s mode=%s samples=%lld block=%d passes=%d rms_dbm0=%.2f cpu_s=", argv[1], argv[2],
           (long long) total, block, passes, power > 0.0 ? 10.0*log10(power) - 20.0*log10(DBM0_RMS) : -999.0);
    for (int p = 0;  p < passes;  p++)
        printf("%s%.6f", p ? "," : "", cpu[p]);
    printf("\n");
    free(cpu);
    free(buf);
    return 0;
}
