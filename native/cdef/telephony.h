/* cffi declarations for vb/telephony.h: values come from the compiler. */
#define VB_SAMPLE_RATE ...
enum { VB_OK = ..., VB_ERR_NOMEM = ..., VB_ERR_INVALID = ..., VB_ERR_FULL = ..., VB_ERR_EMPTY = ..., VB_ERR_STATE = ... };
const char *vb_strerror(int code);
