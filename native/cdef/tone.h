/* cffi declarations for vb/tone.h */
#define VB_TONE_RAMP_MS ...
#define VB_TONE_MAX_SEGMENTS ...
#define VB_TONE_QUEUE ...
#define VB_DTMF_TX_QUEUE ...
typedef struct vb_tone_tx_state_s vb_tone_tx_state_t;
typedef struct vb_dtmf_tx_state_s vb_dtmf_tx_state_t;
typedef struct { float f1_hz; float f2_hz; float level1_dbm0; float level2_dbm0; int on_ms; int off_ms;
                 int repeat; ...; } vb_tone_segment_t;
typedef struct { float row_dbm0; float col_dbm0; int on_ms; int off_ms; int pause_ms; ...; } vb_dtmf_tx_params_t;
vb_tone_tx_state_t *vb_tone_tx_init(vb_tone_tx_state_t *s);
int vb_tone_tx_release(vb_tone_tx_state_t *s);
int vb_tone_tx_free(vb_tone_tx_state_t *s);
int vb_tone_tx_put(vb_tone_tx_state_t *s, const vb_tone_segment_t seg[], int n);
int vb_tone_tx_stop(vb_tone_tx_state_t *s);
int vb_tone_tx(vb_tone_tx_state_t *s, int16_t amp[], int max_samples);
int vb_tone_tx_active(const vb_tone_tx_state_t *s);
int vb_tone_tx_state_size(void);
int vb_dtmf_tx_default_params(vb_dtmf_tx_params_t *p);
vb_dtmf_tx_state_t *vb_dtmf_tx_init(vb_dtmf_tx_state_t *s, const vb_dtmf_tx_params_t *p);
int vb_dtmf_tx_set_params(vb_dtmf_tx_state_t *s, const vb_dtmf_tx_params_t *p);
int vb_dtmf_tx_release(vb_dtmf_tx_state_t *s);
int vb_dtmf_tx_free(vb_dtmf_tx_state_t *s);
int vb_dtmf_tx_put(vb_dtmf_tx_state_t *s, const char *digits);
int vb_dtmf_tx(vb_dtmf_tx_state_t *s, int16_t amp[], int max_samples);
int vb_dtmf_tx_pending(const vb_dtmf_tx_state_t *s);
int vb_dtmf_tx_state_size(void);
