"""Exception tree of voiceboard (see STYLE.md, "Errors").

Control-flow signals (:class:`Hangup`, :class:`StopPlayback`) are not failures and do not
derive from :class:`VoiceBoardError`.
"""


class VoiceBoardError(Exception):
    """Root of every voiceboard failure."""


class NativeError(VoiceBoardError):
    """A call into the native core failed; ``code`` is the VB_ERR_* value."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


class BoardError(VoiceBoardError, OSError):
    """A backend could not open a board or move audio."""


class BoardNotOpenError(BoardError):
    """The board is not open."""

    def __init__(self):
        super().__init__("attempting to use a board that is not open")


class BoardTimeout(BoardError, TimeoutError):
    """A backend did not answer in time (for example an AT command)."""


class ChannelStateError(VoiceBoardError):
    """An operation is not allowed in the channel's current state."""


class ConfigError(VoiceBoardError, ValueError):
    """Bad configuration or bad user input; the message names where it came from."""


class FlowError(ConfigError):
    """An error in a flow file, with its place."""

    def __init__(self, message, path=None, line=None, node=None):
        super().__init__(message)
        self.path = path
        self.line = line
        self.node = node


class AudioFormatError(ConfigError):
    """An audio file or buffer that cannot be used (format, rate, emptiness)."""


class Hangup(Exception):
    """The far end hung up; ends the operation in progress."""


class StopPlayback(Exception):
    """Stop the prompt that is playing."""
