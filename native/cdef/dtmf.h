/* cffi declarations for vb/dtmf.h */
typedef struct vb_dtmf_rx_state_s vb_dtmf_rx_state_t;
enum { VB_DTMF_ON = ..., VB_DTMF_OFF = ... };
enum { VB_DTMF_MODE_NORMAL = ..., VB_DTMF_MODE_SENSITIVE = ..., VB_DTMF_MODE_STRICT = ... };
typedef struct { int kind; char digit; int64_t start; int64_t end; float row_dbm0; float col_dbm0;
                 float twist_db; float row_offset_hz; float col_offset_hz; ...; } vb_dtmf_event_t;
typedef struct { float min_level_dbm0; float normal_twist_db; float reverse_twist_db; float tone_share_db;
                 float freq_tolerance_pct; float freq_tolerance_hz; int min_on_ms; int min_off_ms; ...; }
        vb_dtmf_rx_params_t;
typedef struct { int64_t samples; int64_t digits; int64_t rejected_short; int64_t events_dropped; ...; }
        vb_dtmf_rx_stats_t;
int vb_dtmf_rx_default_params(vb_dtmf_rx_params_t *p, int mode);
vb_dtmf_rx_state_t *vb_dtmf_rx_init(vb_dtmf_rx_state_t *s, const vb_dtmf_rx_params_t *p);
int vb_dtmf_rx_set_params(vb_dtmf_rx_state_t *s, const vb_dtmf_rx_params_t *p);
int vb_dtmf_rx_get_params(const vb_dtmf_rx_state_t *s, vb_dtmf_rx_params_t *p);
int vb_dtmf_rx_release(vb_dtmf_rx_state_t *s);
int vb_dtmf_rx_free(vb_dtmf_rx_state_t *s);
int vb_dtmf_rx(vb_dtmf_rx_state_t *s, const int16_t amp[], int samples);
int vb_dtmf_rx_fillin(vb_dtmf_rx_state_t *s, int samples);
int vb_dtmf_rx_get(vb_dtmf_rx_state_t *s, vb_dtmf_event_t ev[], int max);
int vb_dtmf_rx_current(const vb_dtmf_rx_state_t *s);
int vb_dtmf_rx_get_stats(const vb_dtmf_rx_state_t *s, vb_dtmf_rx_stats_t *st);
int vb_dtmf_rx_state_size(void);
