"""Two-wire analog lines between an exchange and a board, one tick at a time.

A :class:`LineBank` holds N lines as arrays, so both ends move a whole tick of every line in
one step:

- ``down``: audio the exchange sends towards the board (int16, N x tick);
- ``up``: audio the board sends towards the exchange (int16, N x tick);
- ``ring_v``: RMS ringing voltage the exchange applies this tick (0 when not ringing; a
  China exchange rings at 25 Hz, about 90 Vrms, telephony.md §4.2);
- ``battery``: the exchange feeds loop battery (False during an open-switch interval, the
  disconnect signal of kewlstart lines, §4.3);
- ``offhook``: the board's FXO port has closed the loop.

On FXS lines (the board feeds a phone, e.g. an agent position) the signals run the other way:

- ``ring_to_phone``: RMS ringing voltage the board applies to the phone;
- ``battery_to_phone``: the board feeds loop battery (False: open-switch interval, the board
  hung up);
- ``phone_offhook``: the phone's handset is lifted.

Audio crosses a line with one tick of delay in each direction, as it does through a real
board's buffers. The ringing voltage is modelled by its RMS per tick, not as a 25 Hz waveform:
the board's ring detector sees voltage against threshold with debounce, which is what a
ring-detect opto-coupler gives a real board.
"""
import numpy as np

RING_VRMS = 90.0            # China ringing: 90 ±15 Vrms (telephony.md §4.2, ⚠ [CNTONES])


class LineBank:
    def __init__(self, lines, tick=160):
        self.lines = lines
        self.tick = tick
        self.down = np.zeros((lines, tick), dtype=np.int16)
        self.up = np.zeros((lines, tick), dtype=np.int16)
        self.ring_v = np.zeros(lines, dtype=np.float32)
        self.battery = np.ones(lines, dtype=bool)
        self.offhook = np.zeros(lines, dtype=bool)
        self.ring_to_phone = np.zeros(lines, dtype=np.float32)
        self.battery_to_phone = np.ones(lines, dtype=bool)
        self.phone_offhook = np.zeros(lines, dtype=bool)
