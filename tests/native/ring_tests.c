/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - ring_tests.c: tests of the SPSC sample ring.
 */
/*! \page ring_tests_page SPSC ring tests
\section ring_tests_page_sec_1 What does it do?
Checks the documented contract of vb/ring.h: capacity rules, order across the wrap-around,
overrun and underrun counts, padding, and then moves a long stream between a writer thread and
a reader thread, checking every sample against its sequence number, a checksum of the whole
stream, and that the counters seen from both threads agree.

Usage: ring_tests [samples]   (samples for the two-thread tests; default 10000000)
*/
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/ring.h"
#include "vb/private/ring.h"

#define CHUNK_MAX 509       /* odd, above a 20 ms tick (160), so chunks straddle the wrap */

static void fail(const char *what)
{
    printf("    Failed: %s\n", what);
    exit(2);
}

#define CHECK(cond) do { if (!(cond)) fail(#cond); } while (0)

/* The sample at stream position i: not periodic in any power of two the ring could hide. */
static int16_t seq_value(uint64_t i)
{
    return (int16_t) (uint16_t) ((i*2654435761u) >> 7);
}

static uint32_t xorshift(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static uint64_t fnv1a(uint64_t h, const int16_t *amp, int n)
{
    for (int i = 0;  i < n;  i++)
    {
        h ^= (uint16_t) amp[i];
        h *= 1099511628211u;
    }
    return h;
}

static void test_capacity(void)
{
    vb_ring_state_t *r;

    printf("Test 1: Capacity rules\n");
    CHECK(vb_ring_init(NULL, 0) == NULL);
    CHECK(vb_ring_init(NULL, 1) == NULL);
    CHECK(vb_ring_init(NULL, 6) == NULL);
    CHECK(vb_ring_init(NULL, -8) == NULL);
    CHECK(vb_ring_init(NULL, VB_RING_MAX_CAPACITY + 1) == NULL);
    CHECK((r = vb_ring_init(NULL, 8)) != NULL);
    CHECK(vb_ring_capacity(r) == 8);
    CHECK(vb_ring_fill(r) == 0);
    CHECK(vb_ring_space(r) == 8);
    vb_ring_free(r);
    printf("    Passed\n");
}

static void test_order_and_wrap(void)
{
    vb_ring_state_t *r = vb_ring_init(NULL, 16);
    int16_t in[16];
    int16_t out[16];
    uint64_t wpos = 0;
    uint64_t rpos = 0;
    vb_ring_stats_t st;

    printf("Test 2: Order across the wrap-around\n");
    CHECK(r != NULL);
    /* 7 in, 5 out repeatedly: the indices cross the end of the storage many times. */
    for (int round = 0;  round < 100;  round++)
    {
        int n = (round & 1) ? 5 : 7;
        int got;

        for (int i = 0;  i < n;  i++)
            in[i] = seq_value(wpos + i);
        CHECK(vb_ring_write(r, in, n) == n);
        wpos += n;
        got = vb_ring_read(r, out, 6, 0);
        CHECK(got == 6);
        for (int i = 0;  i < got;  i++)
            CHECK(out[i] == seq_value(rpos + i));
        rpos += got;
        CHECK(vb_ring_fill(r) == (int) (wpos - rpos));
        CHECK(vb_ring_space(r) == 16 - (int) (wpos - rpos));
    }
    vb_ring_get_stats(r, &st);
    CHECK(st.written == (int64_t) wpos  &&  st.read == (int64_t) rpos);
    CHECK(st.overrun == 0  &&  st.underrun == 0);
    /* Every slot is usable. */
    vb_ring_read(r, out, vb_ring_fill(r), 0);
    CHECK(vb_ring_write(r, in, 16) == 16);
    CHECK(vb_ring_fill(r) == 16  &&  vb_ring_space(r) == 0);
    vb_ring_free(r);
    printf("    Passed\n");
}

static void test_overrun(void)
{
    vb_ring_state_t *r = vb_ring_init(NULL, 8);
    int16_t in[12];
    int16_t out[12];
    vb_ring_stats_t st;

    printf("Test 3: Overrun drops the samples that do not fit and counts them\n");
    for (int i = 0;  i < 12;  i++)
        in[i] = seq_value(i);
    CHECK(vb_ring_write(r, in, 12) == 8);
    CHECK(vb_ring_write(r, in, 3) == 0);
    vb_ring_get_stats(r, &st);
    CHECK(st.written == 8  &&  st.overrun == 7);
    /* The unread samples were not overwritten. */
    CHECK(vb_ring_read(r, out, 8, 0) == 8);
    CHECK(memcmp(out, in, 8*sizeof(int16_t)) == 0);
    printf("    Passed\n");
    vb_ring_free(r);
}

static void test_underrun(void)
{
    vb_ring_state_t *r = vb_ring_init(NULL, 8);
    int16_t in[3] = {101, -102, 103};
    int16_t out[6];
    vb_ring_stats_t st;

    printf("Test 4: Underrun counts the shortfall; VB_RING_PAD fills it with silence\n");
    CHECK(vb_ring_write(r, in, 3) == 3);
    for (int i = 0;  i < 6;  i++)
        out[i] = 7777;
    CHECK(vb_ring_read(r, out, 6, VB_RING_PAD) == 3);
    CHECK(out[0] == 101  &&  out[1] == -102  &&  out[2] == 103);
    CHECK(out[3] == 0  &&  out[4] == 0  &&  out[5] == 0);
    vb_ring_get_stats(r, &st);
    CHECK(st.underrun == 3);
    /* Without the flag the caller's buffer beyond the samples taken is left alone. */
    CHECK(vb_ring_write(r, in, 1) == 1);
    for (int i = 0;  i < 6;  i++)
        out[i] = 7777;
    CHECK(vb_ring_read(r, out, 4, 0) == 1);
    CHECK(out[0] == 101  &&  out[1] == 7777  &&  out[3] == 7777);
    vb_ring_get_stats(r, &st);
    CHECK(st.underrun == 6  &&  st.read == 4);
    CHECK(vb_ring_read(r, out, 0, 0) == 0);
    vb_ring_get_stats(r, &st);
    CHECK(st.underrun == 6);
    vb_ring_free(r);
    printf("    Passed\n");
}

static void test_invalid(void)
{
    vb_ring_state_t storage;
    vb_ring_state_t *r;
    int16_t buf[4] = {0};

    printf("Test 5: Invalid arguments; a state in caller storage\n");
    memset(&storage, 0, sizeof(storage));
    CHECK((r = vb_ring_init(&storage, 4)) == &storage);
    CHECK(vb_ring_state_size() == (int) sizeof(storage));
    CHECK(vb_ring_write(r, buf, -1) == VB_ERR_INVALID);
    CHECK(vb_ring_read(r, buf, -1, 0) == VB_ERR_INVALID);
    CHECK(vb_ring_read(r, buf, 1, 4) == VB_ERR_INVALID);
    CHECK(vb_ring_write(r, buf, 3) == 3);
    /* Re-initialising resets the contents and the counters. */
    CHECK(vb_ring_init(r, 8) == r);
    CHECK(vb_ring_fill(r) == 0  &&  vb_ring_capacity(r) == 8);
    vb_ring_release(r);
    printf("    Passed\n");
}

typedef struct
{
    vb_ring_state_t *ring;
    uint64_t total;
    uint32_t seed;
    int check_space;        /* write only what fits (no overrun) or push blindly */
    uint64_t hash;
    uint64_t moved;         /* samples the ring accepted or delivered */
    uint64_t missing;       /* samples dropped (writer) or short (reader) */
    int bad_sequence;
} side_t;

static void *writer(void *arg)
{
    side_t *w = (side_t *) arg;
    int16_t chunk[CHUNK_MAX];
    uint64_t pos = 0;

    w->hash = 1469598103934665603u;
    while (pos < w->total)
    {
        int n = 1 + (int) (xorshift(&w->seed) % CHUNK_MAX);
        int put;

        if ((uint64_t) n > w->total - pos)
            n = (int) (w->total - pos);
        if (w->check_space)
        {
            int space = vb_ring_space(w->ring);

            if (space == 0)
            {
                sched_yield();
                continue;
            }
            if (n > space)
                n = space;
        }
        for (int i = 0;  i < n;  i++)
            chunk[i] = seq_value(pos + i);
        put = vb_ring_write(w->ring, chunk, n);
        if (w->check_space)
        {
            /* Everything accepted must be passed on in order. */
            w->hash = fnv1a(w->hash, chunk, put);
            pos += put;
        }
        else
        {
            w->missing += (uint64_t) (n - put);
            pos += n;
            if (put < n)
                sched_yield();
        }
        w->moved += (uint64_t) put;
    }
    return NULL;
}

static void *reader(void *arg)
{
    side_t *r = (side_t *) arg;
    int16_t chunk[CHUNK_MAX];

    r->hash = 1469598103934665603u;
    while (r->moved < __atomic_load_n(&r->total, __ATOMIC_ACQUIRE))
    {
        int want = 1 + (int) (xorshift(&r->seed) % CHUNK_MAX);
        int got = vb_ring_read(r->ring, chunk, want, 0);

        r->missing += (uint64_t) (want - got);
        if (r->check_space)
        {
            for (int i = 0;  i < got;  i++)
            {
                if (chunk[i] != seq_value(r->moved + i))
                    r->bad_sequence++;
            }
            r->hash = fnv1a(r->hash, chunk, got);
        }
        r->moved += (uint64_t) got;
        if (got == 0)
            sched_yield();
    }
    return NULL;
}

static void run_threads(side_t *w, side_t *r)
{
    pthread_t tw;
    pthread_t tr;

    CHECK(pthread_create(&tr, NULL, reader, r) == 0);
    CHECK(pthread_create(&tw, NULL, writer, w) == 0);
    CHECK(pthread_join(tw, NULL) == 0);
    CHECK(pthread_join(tr, NULL) == 0);
}

static void test_threads_exact(uint64_t total)
{
    vb_ring_state_t *ring = vb_ring_init(NULL, 1024);
    side_t w = {ring, total, 2463534242u, 1, 0, 0, 0, 0};
    side_t r = {ring, total, 88675123u, 1, 0, 0, 0, 0};
    vb_ring_stats_t st;

    printf("Test 6: Two threads, %llu samples, sequence and checksum\n", (unsigned long long) total);
    run_threads(&w, &r);
    CHECK(r.bad_sequence == 0);
    CHECK(r.moved == total  &&  w.moved == total);
    CHECK(r.hash == w.hash);
    vb_ring_get_stats(ring, &st);
    CHECK(st.written == (int64_t) total  &&  st.read == (int64_t) total);
    CHECK(st.overrun == 0);
    CHECK(st.underrun == (int64_t) r.missing);
    vb_ring_free(ring);
    printf("    Passed (reader short by %llu samples in all)\n", (unsigned long long) r.missing);
}

static void test_threads_overrun(uint64_t total)
{
    vb_ring_state_t *ring = vb_ring_init(NULL, 256);
    side_t w = {ring, total, 521288629u, 0, 0, 0, 0, 0};
    side_t r = {ring, 0, 3735928559u, 0, 0, 0, 0, 0};
    vb_ring_stats_t st;
    pthread_t tw;
    pthread_t tr;

    printf("Test 7: Two threads, a writer that does not wait: drops counted exactly\n");
    /* The reader stops once it has everything the writer got in; that count is only known
       when the writer is done, so it starts with "unlimited" and is given the goal after. */
    r.total = UINT64_MAX;
    CHECK(pthread_create(&tr, NULL, reader, &r) == 0);
    CHECK(pthread_create(&tw, NULL, writer, &w) == 0);
    CHECK(pthread_join(tw, NULL) == 0);
    vb_ring_get_stats(ring, &st);
    CHECK(st.written == (int64_t) w.moved);
    CHECK(st.overrun == (int64_t) w.missing);
    CHECK(w.moved + w.missing == total);
    __atomic_store_n(&r.total, w.moved, __ATOMIC_RELEASE);
    CHECK(pthread_join(tr, NULL) == 0);
    CHECK(r.moved == w.moved);
    vb_ring_get_stats(ring, &st);
    CHECK(st.read == (int64_t) w.moved);
    vb_ring_free(ring);
    printf("    Passed (%llu of %llu samples dropped)\n", (unsigned long long) w.missing,
           (unsigned long long) total);
}

int main(int argc, char *argv[])
{
    uint64_t total = (argc > 1) ? strtoull(argv[1], NULL, 10) : 10000000u;

    test_capacity();
    test_order_and_wrap();
    test_overrun();
    test_underrun();
    test_invalid();
    test_threads_exact(total);
    test_threads_overrun(total/10);
    printf("Tests passed.\n");
    return 0;
}
