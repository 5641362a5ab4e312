/* cffi declarations for vb/ring.h */
typedef struct vb_ring_state_s vb_ring_state_t;
enum { VB_RING_PAD = ... };
#define VB_RING_MAX_CAPACITY ...
typedef struct { int64_t written; int64_t read; int64_t overrun; int64_t underrun; ...; } vb_ring_stats_t;
vb_ring_state_t *vb_ring_init(vb_ring_state_t *s, int capacity);
int vb_ring_release(vb_ring_state_t *s);
int vb_ring_free(vb_ring_state_t *s);
int vb_ring_write(vb_ring_state_t *s, const int16_t amp[], int samples);
int vb_ring_read(vb_ring_state_t *s, int16_t amp[], int samples, int flags);
int vb_ring_fill(const vb_ring_state_t *s);
int vb_ring_space(const vb_ring_state_t *s);
int vb_ring_capacity(const vb_ring_state_t *s);
int vb_ring_get_stats(const vb_ring_state_t *s, vb_ring_stats_t *st);
int vb_ring_state_size(void);
