/* cffi declarations for vb/chan.h */
