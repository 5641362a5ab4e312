/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * bench/dtmf_harness.c: runs one DTMF receiver over a raw 8 kHz s16le file, C to C, so the
 * figure is the detector's own cost (no Python). Benchmark code, not part of the product.
 *
 *   dtmf_harness IMPL FILE [-b BLOCK] [-n PASSES] [-e]
 *     IMPL    ours (native/src/dtmf.c) or spandsp (Debian's libspandsp dtmf_rx)
 *     FILE    raw 8 kHz signed 16-bit little-endian samples
 *     -b      samples per call, as a channel tick feeds them (default 160 = 20 ms)
 *     -n      passes over the file; each pass starts a fresh receiver (default 1)
 *     -e      list the digits of the first pass, one "DIGIT POSITION" per line, where POSITION
 *             is the sample count at the end of the call that reported the digit
 *
 * Both receivers are used the same way: default settings, no callback, and after every call
 * the waiting digits are pulled (vb_dtmf_rx_get / dtmf_rx_get). For ours a digit is its ON
 * event. The last line is "impl=... samples=... block=... passes=... digits=N dropped=N
 * cpu_s=T1,T2,...", one CPU time (CLOCK_PROCESS_CPUTIME_ID) per pass, covering receiver
 * set-up, processing and release, not the file read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vb/telephony.h"
#include "vb/dtmf.h"

#include <spandsp/telephony.h>
#include <spandsp/logging.h>
#include <spandsp/super_tone_rx.h>
#include <spandsp/dtmf.h>

typedef struct
{
    char digit;
    int64_t pos;
} hit_t;

typedef struct
{
    hit_t *hits;
    int n;
    int cap;
} hits_t;

static int add_hit(hits_t *h, char digit, int64_t pos)
{
    if (h->n == h->cap)
    {
        int cap = h->cap ? 2*h->cap : 1024;
        hit_t *p = realloc(h->hits, (size_t) cap*sizeof(*p));

        if (p == NULL)
            return -1;
        h->hits = p;
        h->cap = cap;
    }
    h->hits[h->n].digit = digit;
    h->hits[h->n].pos = pos;
    h->n++;
    return 0;
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec*1e-9;
}

/* One pass of our receiver; returns the events it had to drop (queue overflow), or -1. */
static int64_t pass_ours(const int16_t *amp, int64_t n, int block, hits_t *h)
{
    vb_dtmf_event_t ev[32];
    vb_dtmf_rx_stats_t st;
    vb_dtmf_rx_state_t *s = vb_dtmf_rx_init(NULL, NULL);

    if (s == NULL)
        return -1;
    for (int64_t pos = 0;  pos < n;  pos += block)
    {
        int len = (n - pos < block) ? (int) (n - pos) : block;
        int k;

        vb_dtmf_rx(s, amp + pos, len);
        while ((k = vb_dtmf_rx_get(s, ev, 32)) > 0)
        {
            for (int i = 0;  i < k;  i++)
            {
                if (ev[i].kind == VB_DTMF_ON  &&  add_hit(h, ev[i].digit, pos + len) < 0)
                    return -1;
            }
            if (k < 32)
                break;
        }
    }
    vb_dtmf_rx_get_stats(s, &st);
    vb_dtmf_rx_free(s);
    return st.events_dropped;
}

static int64_t pass_spandsp(const int16_t *amp, int64_t n, int block, hits_t *h)
{
    char buf[MAX_DTMF_DIGITS];
    dtmf_rx_state_t *s = dtmf_rx_init(NULL, NULL, NULL);

    if (s == NULL)
        return -1;
    for (int64_t pos = 0;  pos < n;  pos += block)
    {
        int len = (n - pos < block) ? (int) (n - pos) : block;
        size_t k;

        dtmf_rx(s, amp + pos, len);
        k = dtmf_rx_get(s, buf, MAX_DTMF_DIGITS);
        for (size_t i = 0;  i < k;  i++)
        {
            if (add_hit(h, buf[i], pos + len) < 0)
                return -1;
        }
    }
    dtmf_rx_free(s);
    return 0;
}

static int16_t *read_raw(const char *path, int64_t *n)
{
    FILE *f = fopen(path, "rb");
    long bytes;
    int16_t *amp;

    if (f == NULL)
    {
        fprintf(stderr, "dtmf_harness: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0  ||  (bytes = ftell(f)) < 0  ||  fseek(f, 0, SEEK_SET) != 0)
    {
        fprintf(stderr, "dtmf_harness: %s: cannot find its size\n", path);
        fclose(f);
        return NULL;
    }
    if (bytes % 2)
    {
        fprintf(stderr, "dtmf_harness: %s: odd length %ld, not 16-bit samples\n", path, bytes);
        fclose(f);
        return NULL;
    }
    *n = bytes/2;
    amp = malloc(bytes ? (size_t) bytes : 1);
    if (amp == NULL  ||  fread(amp, 1, (size_t) bytes, f) != (size_t) bytes)
    {
        fprintf(stderr, "dtmf_harness: %s: read failed\n", path);
        free(amp);
        fclose(f);
        return NULL;
    }
    fclose(f);
    return amp;
}

static int usage(void)
{
    fprintf(stderr, "usage: dtmf_harness ours|spandsp FILE [-b BLOCK] [-n PASSES] [-e]\n");
    return 2;
}

int main(int argc, char *argv[])
{
    int64_t (*pass)(const int16_t *, int64_t, int, hits_t *);
    int block = 160;
    int passes = 1;
    int list = 0;
    int64_t n;
    int64_t dropped = 0;
    int first_digits = -1;
    int16_t *amp;
    double *cpu;
    hits_t h = {NULL, 0, 0};

    if (argc < 3)
        return usage();
    if (strcmp(argv[1], "ours") == 0)
        pass = pass_ours;
    else if (strcmp(argv[1], "spandsp") == 0)
        pass = pass_spandsp;
    else
        return usage();
    for (int i = 3;  i < argc;  i++)
    {
        if (strcmp(argv[i], "-e") == 0)
            list = 1;
        else if (strcmp(argv[i], "-b") == 0  &&  i + 1 < argc)
            block = atoi(argv[++i]);
        else if (strcmp(argv[i], "-n") == 0  &&  i + 1 < argc)
            passes = atoi(argv[++i]);
        else
            return usage();
    }
    if (block < 1  ||  passes < 1)
    {
        fprintf(stderr, "dtmf_harness: -b and -n must be positive integers\n");
        return 2;
    }
    if ((amp = read_raw(argv[2], &n)) == NULL)
        return 2;
    if ((cpu = calloc((size_t) passes, sizeof(*cpu))) == NULL)
        return 2;

    for (int p = 0;  p < passes;  p++)
    {
        double t0;
        int64_t d;

        h.n = 0;
        t0 = cpu_seconds();
        d = pass(amp, n, block, &h);
        cpu[p] = cpu_seconds() - t0;
        if (d < 0)
        {
            fprintf(stderr, "dtmf_harness: out of memory\n");
            return 2;
        }
        dropped += d;
        /* Every pass starts from a fresh receiver, so every pass must find the same digits. */
        if (first_digits >= 0  &&  h.n != first_digits)
        {
            fprintf(stderr, "dtmf_harness: pass %d found %d digits, pass 0 found %d\n", p, h.n, first_digits);
            return 1;
        }
        if (first_digits < 0)
        {
            first_digits = h.n;
            for (int i = 0;  list  &&  i < h.n;  i++)
                printf("%c %lld\n", h.hits[i].digit, (long long) h.hits[i].pos);
        }
    }
    printf("impl=%s samples=%lld block=%d passes=%d digits=%d dropped=%lld cpu_s=",
           argv[1], (long long) n, block, passes, first_digits, (long long) dropped);
    for (int p = 0;  p < passes;  p++)
        printf("%s%.6f", p ? "," : "", cpu[p]);
    printf("\n");
    free(cpu);
    free(amp);
    free(h.hits);
    return 0;
}
