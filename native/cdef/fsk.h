/* cffi declarations for vb/fsk.h */
typedef struct vb_fsk_tx_state_s vb_fsk_tx_state_t;
typedef struct vb_fsk_rx_state_s vb_fsk_rx_state_t;
enum { VB_FSK_BELL202 = ..., VB_FSK_V23 = ... };
enum { VB_FSK_BYTE = ..., VB_FSK_CARRIER_ON = ..., VB_FSK_CARRIER_OFF = ... };
typedef struct { float mark_hz; float space_hz; float baud; ...; } vb_fsk_spec_t;
typedef struct { int kind; int value; int64_t pos; ...; } vb_fsk_report_t;
typedef struct { int64_t samples; int64_t bytes; int64_t framing_errors; int64_t reports_dropped; ...; }
        vb_fsk_rx_stats_t;
int vb_fsk_spec(vb_fsk_spec_t *spec, int standard);
vb_fsk_tx_state_t *vb_fsk_tx_init(vb_fsk_tx_state_t *s, const vb_fsk_spec_t *spec, float level_dbm0);
int vb_fsk_tx_release(vb_fsk_tx_state_t *s);
int vb_fsk_tx_free(vb_fsk_tx_state_t *s);
int vb_fsk_tx_put_bytes(vb_fsk_tx_state_t *s, const uint8_t buf[], int len);
int vb_fsk_tx_put_bits(vb_fsk_tx_state_t *s, int bit, int count);
int vb_fsk_tx_put_alternating(vb_fsk_tx_state_t *s, int first, int count);
int vb_fsk_tx_queued(const vb_fsk_tx_state_t *s);
int vb_fsk_tx_space(const vb_fsk_tx_state_t *s);
int vb_fsk_tx(vb_fsk_tx_state_t *s, int16_t amp[], int max_samples);
vb_fsk_rx_state_t *vb_fsk_rx_init(vb_fsk_rx_state_t *s, const vb_fsk_spec_t *spec, float min_level_dbm0);
int vb_fsk_rx_release(vb_fsk_rx_state_t *s);
int vb_fsk_rx_free(vb_fsk_rx_state_t *s);
int vb_fsk_rx(vb_fsk_rx_state_t *s, const int16_t amp[], int samples);
int vb_fsk_rx_get(vb_fsk_rx_state_t *s, vb_fsk_report_t out[], int max);
int vb_fsk_rx_carrier(const vb_fsk_rx_state_t *s);
int vb_fsk_rx_get_stats(const vb_fsk_rx_state_t *s, vb_fsk_rx_stats_t *st);
