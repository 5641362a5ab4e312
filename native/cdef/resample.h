/* cffi declarations for vb/resample.h */
typedef struct vb_resample_state_s vb_resample_state_t;
#define VB_RESAMPLE_MIN_RATE ...
#define VB_RESAMPLE_MAX_RATE ...
#define VB_RESAMPLE_MAX_COEFFS ...
vb_resample_state_t *vb_resample_init(vb_resample_state_t *s, int rate_in, int rate_out);
int vb_resample_release(vb_resample_state_t *s);
int vb_resample_free(vb_resample_state_t *s);
int vb_resample_max_out(const vb_resample_state_t *s, int samples);
int vb_resample(vb_resample_state_t *s, const int16_t in[], int samples, int16_t out[], int max_out);
int vb_resample_pending(const vb_resample_state_t *s);
int vb_resample_flush(vb_resample_state_t *s, int16_t out[], int max_out);
int vb_resample_taps(const vb_resample_state_t *s);
