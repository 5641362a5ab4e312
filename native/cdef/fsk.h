/* cffi declarations for vb/fsk.h */
