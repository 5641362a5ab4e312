/*
 * SPDX-License-Identifier: LGPL-2.1-or-later
 * voiceboard native core - chan.c: board tick with play queues, record buffers, DTMF,
 * barge-in and bridges (see vb/chan.h for the method).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "vb/telephony.h"
#include "vb/dtmf.h"
#include "vb/chan.h"
#include "vb/private/dtmf.h"
#include "vb/private/chan.h"

/* Bit i of a barge-in mask stands for digit_order[i]. */
static const char digit_order[] = "0123456789*#ABCD";

static int digit_bit(char digit)
{
    const char *p;

    if (digit >= 'a'  &&  digit <= 'd')
        digit = (char) (digit - 'a' + 'A');
    if (digit == '\0'  ||  (p = strchr(digit_order, digit)) == NULL)
        return -1;
    return (int) (p - digit_order);
}

int vb_chan_digit_mask(const char *digits)
{
    int mask = 0;

    if (digits == NULL)
        return VB_ERR_INVALID;
    for (  ;  *digits;  digits++)
    {
        int bit = digit_bit(*digits);

        if (bit < 0)
            return VB_ERR_INVALID;
        mask |= 1 << bit;
    }
    return mask;
}

static void push_event(vb_board_state_t *s, const vb_board_event_t *ev)
{
    if (s->events_len == s->events_cap)
    {
        /* Keep what is queued: the oldest events are the ones a flow is waiting for. */
        s->stats.events_dropped++;
        return;
    }
    s->events[(s->events_head + s->events_len) % s->events_cap] = *ev;
    s->events_len++;
}

static void push_simple(vb_board_state_t *s, int kind, int ch, int reason, int prompt, int64_t pos)
{
    vb_board_event_t ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = kind;
    ev.channel = ch;
    ev.reason = reason;
    ev.prompt = prompt;
    ev.pos = pos;
    ev.start = -1;
    ev.end = -1;
    push_event(s, &ev);
}

static void chan_clear(vb_chan_t *c)
{
    vb_prompt_t *p = c->head;

    while (p)
    {
        vb_prompt_t *next = p->next;

        free(p);
        p = next;
    }
    free(c->record);
    vb_dtmf_rx_release(&c->dtmf);
}

int vb_board_release(vb_board_state_t *s)
{
    if (s->chan)
    {
        for (int i = 0;  i < s->channels;  i++)
            chan_clear(&s->chan[i]);
    }
    free(s->chan);
    free(s->events);
    s->chan = NULL;
    s->events = NULL;
    return VB_OK;
}

int vb_board_free(vb_board_state_t *s)
{
    if (s != NULL)
    {
        vb_board_release(s);
        if (s->allocated)
            free(s);
    }
    return VB_OK;
}

vb_board_state_t *vb_board_init(vb_board_state_t *s, int channels, int tick, const vb_dtmf_rx_params_t *dtmf)
{
    vb_chan_t *chan;
    vb_board_event_t *events;
    int events_cap;
    int allocated = 0;

    if (channels < 1  ||  channels > VB_BOARD_MAX_CHANNELS  ||  tick < 1  ||  tick > VB_BOARD_MAX_TICK)
        return NULL;
    events_cap = channels*VB_BOARD_EVENTS_PER_CHANNEL;
    if ((chan = (vb_chan_t *) calloc((size_t) channels, sizeof(*chan))) == NULL)
        return NULL;
    if ((events = (vb_board_event_t *) malloc((size_t) events_cap*sizeof(*events))) == NULL)
    {
        free(chan);
        return NULL;
    }
    for (int i = 0;  i < channels;  i++)
    {
        /* The receivers are zero-filled caller storage, as vb_dtmf_rx_init() requires. */
        if (vb_dtmf_rx_init(&chan[i].dtmf, dtmf) == NULL)
        {
            free(events);
            free(chan);
            return NULL;
        }
        chan[i].partner = -1;
    }
    if (s == NULL)
    {
        if ((s = (vb_board_state_t *) malloc(sizeof(*s))) == NULL)
        {
            free(events);
            free(chan);
            return NULL;
        }
        allocated = 1;
    }
    else
    {
        allocated = s->allocated;
        vb_board_release(s);
    }
    memset(s, 0, sizeof(*s));
    s->allocated = allocated;
    s->channels = channels;
    s->tick = tick;
    s->chan = chan;
    s->events = events;
    s->events_cap = events_cap;
    return s;
}

static int bad_channel(const vb_board_state_t *s, int ch)
{
    return ch < 0  ||  ch >= s->channels;
}

/* Remove every prompt from the queue, reporting each with the reason. */
static int flush_queue(vb_board_state_t *s, int ch, int reason, int64_t pos)
{
    vb_chan_t *c = &s->chan[ch];
    int n = 0;

    while (c->head)
    {
        vb_prompt_t *p = c->head;

        c->head = p->next;
        push_simple(s, VB_EV_PLAY_DONE, ch, reason, p->id, pos);
        free(p);
        n++;
    }
    c->tail = NULL;
    c->queued = 0;
    return n;
}

/* Play the queue into out[0 .. n - 1]; pos is the board position of out[0]. */
static void play_out(vb_board_state_t *s, int ch, int16_t out[], int n, int64_t pos)
{
    vb_chan_t *c = &s->chan[ch];
    int k = 0;

    while (c->head)
    {
        vb_prompt_t *p = c->head;
        int take = p->len - p->played;

        if (take > n - k)
            take = n - k;
        memcpy(out + k, p->amp + p->played, (size_t) take*sizeof(int16_t));
        p->played += take;
        c->queued -= take;
        k += take;
        if (p->played < p->len)
            break;
        /* Played to the end: the next prompt follows without a gap. */
        c->head = p->next;
        if (c->head == NULL)
            c->tail = NULL;
        push_simple(s, VB_EV_PLAY_DONE, ch, VB_REASON_END, p->id, pos + k);
        free(p);
    }
    memset(out + k, 0, (size_t) (n - k)*sizeof(int16_t));
}

static void record_in(vb_board_state_t *s, int ch, const int16_t in[], int n, int64_t pos)
{
    vb_chan_t *c = &s->chan[ch];
    int take = c->record_max - c->record_count;

    if (take > n)
        take = n;
    if (take <= 0)
        return;
    if (c->record_len + take > c->record_cap)
    {
        /* Waiting samples never exceed record_max, so neither does the buffer. */
        int cap = (c->record_cap > 0) ? c->record_cap : VB_CHAN_RECORD_FIRST;
        int16_t *grown;

        while (cap < c->record_len + take)
            cap = (cap > c->record_max/2) ? c->record_max : cap*2;
        if (cap > c->record_max)
            cap = c->record_max;
        if ((grown = (int16_t *) realloc(c->record, (size_t) cap*sizeof(int16_t))) == NULL)
        {
            c->recording = 0;
            push_simple(s, VB_EV_RECORD_LIMIT, ch, VB_REASON_NOMEM, 0, pos);
            return;
        }
        c->record = grown;
        c->record_cap = cap;
    }
    memcpy(c->record + c->record_len, in, (size_t) take*sizeof(int16_t));
    c->record_len += take;
    c->record_count += take;
    if (c->record_count == c->record_max)
    {
        c->recording = 0;
        push_simple(s, VB_EV_RECORD_LIMIT, ch, VB_REASON_LIMIT, 0, pos + take);
    }
}

/* Pass on the receiver's events; returns 1 if one of them barges in on the prompt playing. */
static int digit_events(vb_board_state_t *s, int ch, int64_t pos)
{
    vb_chan_t *c = &s->chan[ch];
    vb_dtmf_event_t dev[4];
    int barge = 0;
    int n;

    while ((n = vb_dtmf_rx_get(&c->dtmf, dev, 4)) > 0)
    {
        for (int i = 0;  i < n;  i++)
        {
            vb_board_event_t ev;
            int bit = digit_bit(dev[i].digit);

            memset(&ev, 0, sizeof(ev));
            ev.kind = (dev[i].kind == VB_DTMF_ON) ? VB_EV_DIGIT_ON : VB_EV_DIGIT_OFF;
            ev.channel = ch;
            ev.digit = dev[i].digit;
            ev.reason = VB_REASON_NONE;
            ev.pos = pos;
            ev.start = dev[i].start;
            ev.end = dev[i].end;
            ev.row_dbm0 = dev[i].row_dbm0;
            ev.col_dbm0 = dev[i].col_dbm0;
            ev.twist_db = dev[i].twist_db;
            push_event(s, &ev);
            if (dev[i].kind == VB_DTMF_ON  &&  c->head  &&  bit >= 0  &&  (c->head->barge_in & (1 << bit)))
                barge = 1;
        }
    }
    return barge;
}

static void mix_in(int16_t out[], const int16_t in[], int n)
{
    for (int k = 0;  k < n;  k++)
    {
        int32_t v = (int32_t) out[k] + in[k];

        out[k] = (int16_t) ((v > INT16_MAX) ? INT16_MAX : (v < INT16_MIN) ? INT16_MIN : v);
    }
}

static void tick_channel(vb_board_state_t *s, int ch, const int16_t rx[], int16_t tx[])
{
    vb_chan_t *c = &s->chan[ch];
    int i = 0;

    while (i < s->tick)
    {
        int64_t pos = s->pos + i;
        /* Up to the next hop boundary, where the receiver may report a digit. */
        int n = VB_DTMF_HOP - (int) (pos % VB_DTMF_HOP);

        if (n > s->tick - i)
            n = s->tick - i;
        play_out(s, ch, tx + i, n, pos);
        if (c->recording)
            record_in(s, ch, rx + i, n, pos);
        vb_dtmf_rx(&c->dtmf, rx + i, n);
        if (digit_events(s, ch, pos + n))
            flush_queue(s, ch, VB_REASON_BARGE_IN, pos + n);
        i += n;
    }
}

int vb_board_tick(vb_board_state_t *s, const int16_t rx[], int16_t tx[])
{
    if (rx == NULL  ||  tx == NULL)
        return VB_ERR_INVALID;
    for (int ch = 0;  ch < s->channels;  ch++)
        tick_channel(s, ch, rx + (size_t) ch*s->tick, tx + (size_t) ch*s->tick);
    /* Bridges after the play-out, so each side hears the other's whole tick. */
    for (int ch = 0;  ch < s->channels;  ch++)
    {
        if (s->chan[ch].partner >= 0)
            mix_in(tx + (size_t) ch*s->tick, rx + (size_t) s->chan[ch].partner*s->tick, s->tick);
    }
    s->pos += s->tick;
    s->stats.ticks++;
    return s->events_len;
}

int vb_board_get_events(vb_board_state_t *s, vb_board_event_t ev[], int max)
{
    int n = 0;

    if (max < 0)
        return VB_ERR_INVALID;
    while (n < max  &&  s->events_len > 0)
    {
        ev[n++] = s->events[s->events_head];
        s->events_head = (s->events_head + 1) % s->events_cap;
        s->events_len--;
    }
    return n;
}

int vb_board_bridge(vb_board_state_t *s, int a, int b)
{
    if (bad_channel(s, a)  ||  bad_channel(s, b)  ||  a == b)
        return VB_ERR_INVALID;
    if (s->chan[a].partner == b)
        return VB_OK;
    if (s->chan[a].partner >= 0  ||  s->chan[b].partner >= 0)
        return VB_ERR_STATE;
    s->chan[a].partner = b;
    s->chan[b].partner = a;
    return VB_OK;
}

int vb_board_unbridge(vb_board_state_t *s, int ch)
{
    int partner;

    if (bad_channel(s, ch))
        return VB_ERR_INVALID;
    if ((partner = s->chan[ch].partner) < 0)
        return VB_ERR_STATE;
    s->chan[ch].partner = -1;
    s->chan[partner].partner = -1;
    return partner;
}

int vb_board_partner(const vb_board_state_t *s, int ch)
{
    if (bad_channel(s, ch))
        return VB_ERR_INVALID;
    return (s->chan[ch].partner >= 0) ? s->chan[ch].partner : VB_ERR_STATE;
}

int vb_board_tick_size(const vb_board_state_t *s)
{
    return s->tick;
}

int vb_board_channels(const vb_board_state_t *s)
{
    return s->channels;
}

int64_t vb_board_position(const vb_board_state_t *s)
{
    return s->pos;
}

int vb_board_get_stats(const vb_board_state_t *s, vb_board_stats_t *st)
{
    *st = s->stats;
    return VB_OK;
}

int vb_chan_play(vb_board_state_t *s, int ch, const int16_t amp[], int samples, int barge_in)
{
    vb_chan_t *c;
    vb_prompt_t *p;

    if (bad_channel(s, ch)  ||  samples < 0  ||  (samples > 0  &&  amp == NULL)
        ||  barge_in < 0  ||  barge_in >= (1 << (int) (sizeof(digit_order) - 1)))
    {
        return VB_ERR_INVALID;
    }
    if ((p = (vb_prompt_t *) malloc(sizeof(*p) + (size_t) samples*sizeof(int16_t))) == NULL)
        return VB_ERR_NOMEM;
    c = &s->chan[ch];
    if (samples > 0)
        memcpy(p->amp, amp, (size_t) samples*sizeof(int16_t));
    p->next = NULL;
    p->id = c->last_id = (c->last_id == INT_MAX) ? 1 : c->last_id + 1;
    p->barge_in = barge_in;
    p->len = samples;
    p->played = 0;
    if (c->tail)
        c->tail->next = p;
    else
        c->head = p;
    c->tail = p;
    c->queued += samples;
    return p->id;
}

int vb_chan_stop_play(vb_board_state_t *s, int ch)
{
    if (bad_channel(s, ch))
        return VB_ERR_INVALID;
    return flush_queue(s, ch, VB_REASON_FLUSH, s->pos);
}

int64_t vb_chan_play_queued(const vb_board_state_t *s, int ch)
{
    if (bad_channel(s, ch))
        return VB_ERR_INVALID;
    return s->chan[ch].queued;
}

int vb_chan_record_start(vb_board_state_t *s, int ch, int max_samples)
{
    vb_chan_t *c;

    if (bad_channel(s, ch)  ||  max_samples <= 0)
        return VB_ERR_INVALID;
    c = &s->chan[ch];
    c->recording = 1;
    c->record_max = max_samples;
    c->record_count = 0;
    c->record_len = 0;
    /* A buffer from an earlier, longer recording would break the "never above the
       maximum" rule that the growth step relies on. */
    if (c->record_cap > max_samples)
    {
        free(c->record);
        c->record = NULL;
        c->record_cap = 0;
    }
    return VB_OK;
}

int vb_chan_record_stop(vb_board_state_t *s, int ch)
{
    if (bad_channel(s, ch))
        return VB_ERR_INVALID;
    s->chan[ch].recording = 0;
    return VB_OK;
}

int vb_chan_recording(const vb_board_state_t *s, int ch)
{
    if (bad_channel(s, ch))
        return VB_ERR_INVALID;
    return s->chan[ch].recording;
}

int vb_chan_record_len(const vb_board_state_t *s, int ch)
{
    if (bad_channel(s, ch))
        return VB_ERR_INVALID;
    return s->chan[ch].record_len;
}

int vb_chan_record_take(vb_board_state_t *s, int ch, int16_t amp[], int max)
{
    vb_chan_t *c;
    int n;

    if (bad_channel(s, ch)  ||  max < 0  ||  (max > 0  &&  amp == NULL))
        return VB_ERR_INVALID;
    c = &s->chan[ch];
    n = (max < c->record_len) ? max : c->record_len;
    if (n == 0)
        return 0;
    memcpy(amp, c->record, (size_t) n*sizeof(int16_t));
    memmove(c->record, c->record + n, (size_t) (c->record_len - n)*sizeof(int16_t));
    c->record_len -= n;
    return n;
}

int vb_chan_set_dtmf_params(vb_board_state_t *s, int ch, const vb_dtmf_rx_params_t *p)
{
    if (bad_channel(s, ch)  ||  p == NULL)
        return VB_ERR_INVALID;
    return vb_dtmf_rx_set_params(&s->chan[ch].dtmf, p);
}

int vb_chan_get_dtmf_stats(const vb_board_state_t *s, int ch, vb_dtmf_rx_stats_t *st)
{
    if (bad_channel(s, ch))
        return VB_ERR_INVALID;
    return vb_dtmf_rx_get_stats(&s->chan[ch].dtmf, st);
}
