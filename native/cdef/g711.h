/* cffi declarations for vb/g711.h */
int vb_lin2alaw(uint8_t out[], const int16_t in[], int n);
int vb_alaw2lin(int16_t out[], const uint8_t in[], int n);
int vb_lin2ulaw(uint8_t out[], const int16_t in[], int n);
int vb_ulaw2lin(int16_t out[], const uint8_t in[], int n);
int vb_alaw2ulaw(uint8_t out[], const uint8_t in[], int n);
int vb_ulaw2alaw(uint8_t out[], const uint8_t in[], int n);
