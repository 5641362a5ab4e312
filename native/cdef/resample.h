/* cffi declarations for vb/resample.h */
