/* cffi declarations for vb/chan.h (uses the DTMF types of cdef/dtmf.h) */
typedef struct vb_board_state_s vb_board_state_t;
#define VB_BOARD_MAX_CHANNELS ...
#define VB_BOARD_DEFAULT_TICK ...
#define VB_BOARD_MAX_TICK ...
enum { VB_EV_DIGIT_ON = ..., VB_EV_DIGIT_OFF = ..., VB_EV_PLAY_DONE = ..., VB_EV_RECORD_LIMIT = ... };
enum { VB_REASON_NONE = ..., VB_REASON_END = ..., VB_REASON_BARGE_IN = ..., VB_REASON_FLUSH = ...,
       VB_REASON_LIMIT = ..., VB_REASON_NOMEM = ... };
typedef struct { int kind; int channel; char digit; int reason; int prompt; int64_t pos; int64_t start;
                 int64_t end; float row_dbm0; float col_dbm0; float twist_db; ...; } vb_board_event_t;
typedef struct { int64_t ticks; int64_t events_dropped; ...; } vb_board_stats_t;
vb_board_state_t *vb_board_init(vb_board_state_t *s, int channels, int tick, const vb_dtmf_rx_params_t *dtmf);
int vb_board_release(vb_board_state_t *s);
int vb_board_free(vb_board_state_t *s);
int vb_board_tick(vb_board_state_t *s, const int16_t rx[], int16_t tx[]);
int vb_board_get_events(vb_board_state_t *s, vb_board_event_t ev[], int max);
int vb_board_bridge(vb_board_state_t *s, int a, int b);
int vb_board_unbridge(vb_board_state_t *s, int ch);
int vb_board_partner(const vb_board_state_t *s, int ch);
int vb_board_tick_size(const vb_board_state_t *s);
int vb_board_channels(const vb_board_state_t *s);
int64_t vb_board_position(const vb_board_state_t *s);
int vb_board_get_stats(const vb_board_state_t *s, vb_board_stats_t *st);
int vb_chan_digit_mask(const char *digits);
int vb_chan_play(vb_board_state_t *s, int ch, const int16_t amp[], int samples, int barge_in);
int vb_chan_stop_play(vb_board_state_t *s, int ch);
int64_t vb_chan_play_queued(const vb_board_state_t *s, int ch);
int vb_chan_record_start(vb_board_state_t *s, int ch, int max_samples);
int vb_chan_record_stop(vb_board_state_t *s, int ch);
int vb_chan_recording(const vb_board_state_t *s, int ch);
int vb_chan_record_len(const vb_board_state_t *s, int ch);
int vb_chan_record_take(vb_board_state_t *s, int ch, int16_t amp[], int max);
int vb_chan_set_dtmf_params(vb_board_state_t *s, int ch, const vb_dtmf_rx_params_t *p);
int vb_chan_get_dtmf_stats(const vb_board_state_t *s, int ch, vb_dtmf_rx_stats_t *st);
