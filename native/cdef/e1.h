/* cffi declarations for vb/e1.h */
