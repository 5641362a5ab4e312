"""Crash-safe WAV writer for recordings (8 kHz, 16-bit, mono).

The RIFF header is rewritten with the true sizes after every write and the file is flushed,
so a recording that was accepted stays a valid WAV up to its last tick even if the process
dies: the crash loses at most the audio of the tick being written.
"""
import os
import struct

import numpy as np

SAMPLE_RATE = 8000


def _header(data_bytes):
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
            + b"data" + struct.pack("<I", data_bytes))


class WavRecorder:
    """Append int16 samples to a WAV file, keeping its header valid on disk."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._file = open(self.path, "wb")
        self.samples = 0
        self._file.write(_header(0))
        self._file.flush()

    def write(self, samples):
        data = np.ascontiguousarray(samples, dtype="<i2").tobytes()
        if not data:
            return
        self._file.seek(0, os.SEEK_END)
        self._file.write(data)
        self.samples += len(data) // 2
        self._file.seek(0)
        self._file.write(_header(self.samples * 2))
        self._file.flush()

    def close(self):
        if not self._file.closed:
            os.fsync(self._file.fileno())
            self._file.close()

    @property
    def seconds(self):
        return self.samples / SAMPLE_RATE
