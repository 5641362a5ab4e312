/* cffi declarations for vb/r2mf.h */
typedef struct vb_r2mf_tx_state_s vb_r2mf_tx_state_t;
typedef struct vb_r2mf_rx_state_s vb_r2mf_rx_state_t;
enum { VB_R2MF_FORWARD = ..., VB_R2MF_BACKWARD = ... };
typedef struct { float min_level_dbm0; float twist_db; float relative_peak_db; int block_size; ...; }
        vb_r2mf_rx_params_t;
int vb_r2mf_freqs(int direction, int signal, float *f1, float *f2);
vb_r2mf_tx_state_t *vb_r2mf_tx_init(vb_r2mf_tx_state_t *s, int direction, float level_dbm0);
int vb_r2mf_tx_release(vb_r2mf_tx_state_t *s);
int vb_r2mf_tx_free(vb_r2mf_tx_state_t *s);
int vb_r2mf_tx_put(vb_r2mf_tx_state_t *s, int signal);
int vb_r2mf_tx_current(const vb_r2mf_tx_state_t *s);
int vb_r2mf_tx(vb_r2mf_tx_state_t *s, int16_t amp[], int max_samples);
int vb_r2mf_rx_default_params(vb_r2mf_rx_params_t *p);
vb_r2mf_rx_state_t *vb_r2mf_rx_init(vb_r2mf_rx_state_t *s, int direction, const vb_r2mf_rx_params_t *p);
int vb_r2mf_rx_release(vb_r2mf_rx_state_t *s);
int vb_r2mf_rx_free(vb_r2mf_rx_state_t *s);
int vb_r2mf_rx(vb_r2mf_rx_state_t *s, const int16_t amp[], int samples);
int vb_r2mf_rx_get(const vb_r2mf_rx_state_t *s);
int64_t vb_r2mf_rx_changes(const vb_r2mf_rx_state_t *s);
