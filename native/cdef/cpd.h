/* cffi declarations for vb/cpd.h */
