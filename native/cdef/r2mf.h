/* cffi declarations for vb/r2mf.h */
