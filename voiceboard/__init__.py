"""voiceboard: a telephony voice-board driver with a C signal-processing core.

Layers (see docs/architecture.md):

- :mod:`voiceboard.dsp` -- the only module that touches the compiled core: G.711, DTMF
  receiver and generator, tones, call-progress detection, rings and channel buffers.
- board and channel API, media clock (asyncio) -- built on dsp.
- :mod:`drivers` -- the backends behind one contract.
"""

__version__ = "0.1.0"
