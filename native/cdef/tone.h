/* cffi declarations for vb/tone.h */
