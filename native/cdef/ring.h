/* cffi declarations for vb/ring.h */
