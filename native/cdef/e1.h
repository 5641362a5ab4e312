/* cffi declarations for vb/e1.h */
typedef struct vb_e1_tx_state_s vb_e1_tx_state_t;
typedef struct vb_e1_rx_state_s vb_e1_rx_state_t;
#define VB_E1_TIMESLOTS ...
#define VB_E1_CHANNELS ...
#define VB_E1_FRAME_RATE ...
#define VB_E1_IDLE ...
enum { VB_E1_CRC4_OFF = ..., VB_E1_CRC4_ON = ..., VB_E1_CRC4_AUTO = ... };
enum { VB_E1_ALARM_LOS = ..., VB_E1_ALARM_AIS = ..., VB_E1_ALARM_LOF = ..., VB_E1_ALARM_RED = ...,
       VB_E1_ALARM_RAI = ..., VB_E1_ALARM_TS16_LOMF = ..., VB_E1_ALARM_TS16_AIS = ...,
       VB_E1_ALARM_TS16_RMF = ... };
typedef struct { int crc4; int cas; int sa_bits; int si_bits; int los_zeros; int los_clear_ones;
                 int ais_zeros; int rai_frames; int red_ms; int nfas_loss; int interworking_ms;
                 int cas_persistence; int y_multiframes; ...; } vb_e1_config_t;
typedef struct { int frame_aligned; int crc4_aligned; int cas_aligned; int interworking; int alarms;
                 int sa_bits; uint8_t abcd[30]; ...; } vb_e1_rx_status_t;
typedef struct { int64_t octets; int64_t frames; int64_t fas_errors; int64_t frame_losses;
                 int64_t crc_blocks; int64_t crc_errors; int64_t ebit_errors; int64_t crc_mf_timeouts;
                 int64_t false_alignments; int64_t cas_mf_losses; int64_t abcd_changes; ...; } vb_e1_rx_stats_t;
int vb_e1_default_config(vb_e1_config_t *cfg);
int vb_e1_crc4(const uint8_t smf[]);
vb_e1_tx_state_t *vb_e1_tx_init(vb_e1_tx_state_t *s, const vb_e1_config_t *cfg, const vb_e1_rx_state_t *rx);
int vb_e1_tx_release(vb_e1_tx_state_t *s);
int vb_e1_tx_free(vb_e1_tx_state_t *s);
int vb_e1_tx_set_abcd(vb_e1_tx_state_t *s, int channel, int abcd);
int vb_e1_tx_get_abcd(const vb_e1_tx_state_t *s, int channel);
int vb_e1_tx_set_rai(vb_e1_tx_state_t *s, int on);
int vb_e1_tx_set_sa(vb_e1_tx_state_t *s, int sa);
int vb_e1_tx(vb_e1_tx_state_t *s, const uint8_t bearer[], int stride, uint8_t out[], int frames);
vb_e1_rx_state_t *vb_e1_rx_init(vb_e1_rx_state_t *s, const vb_e1_config_t *cfg);
int vb_e1_rx_release(vb_e1_rx_state_t *s);
int vb_e1_rx_free(vb_e1_rx_state_t *s);
int vb_e1_rx(vb_e1_rx_state_t *s, const uint8_t in[], int frames, uint8_t bearer[], int stride);
int vb_e1_rx_get_status(const vb_e1_rx_state_t *s, vb_e1_rx_status_t *st);
int vb_e1_rx_get_stats(const vb_e1_rx_state_t *s, vb_e1_rx_stats_t *st);
