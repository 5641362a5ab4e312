/* cffi declarations for vb/cpd.h */
#define VB_CPD_BLOCK ...
#define VB_CPD_MAX_PATTERNS ...
#define VB_CPD_MAX_ELEMENTS ...
#define VB_CPD_MAX_FREQS ...
#define VB_CPD_HISTORY ...
#define VB_CPD_QUEUE ...
typedef struct vb_cpd_state_s vb_cpd_state_t;
enum { VB_CPD_TONE = ..., VB_CPD_SILENCE = ..., VB_CPD_VOICE = ... };
typedef struct { int kind; int pattern; int64_t start; int64_t position; ...; } vb_cpd_event_t;
typedef struct { float f1_hz; float f2_hz; int ms; ...; } vb_cpd_element_t;
typedef struct { int n; int cycles; int cyclic; vb_cpd_element_t e[...]; ...; } vb_cpd_pattern_t;
typedef struct { float min_tone_dbm0; float silence_dbm0; float tone_share_db; float max_twist_db;
                 float jitter_pct; int slack_ms; int continuous_ms; int silence_ms; int voice_ms; ...; }
        vb_cpd_params_t;
int vb_cpd_default_params(vb_cpd_params_t *p);
vb_cpd_state_t *vb_cpd_init(vb_cpd_state_t *s, const vb_cpd_params_t *p);
int vb_cpd_add_pattern(vb_cpd_state_t *s, const vb_cpd_pattern_t *pat);
int vb_cpd_release(vb_cpd_state_t *s);
int vb_cpd_free(vb_cpd_state_t *s);
int vb_cpd_rx(vb_cpd_state_t *s, const int16_t amp[], int samples);
int vb_cpd_get(vb_cpd_state_t *s, vb_cpd_event_t ev[], int max);
int64_t vb_cpd_events_dropped(const vb_cpd_state_t *s);
int vb_cpd_state_size(void);
