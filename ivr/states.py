"""Timer, counter and type-ahead rules of the menu and collect nodes, written once.

This module imports nothing. The interpreter feeds a :class:`Dialog` events and carries out
the commands it returns, so the tests drive every edge without a board (docs/flows.md,
"Timing rules", has the same rules in prose with the tests that hold them).

States::

    PROMPT    the node's prompt is playing (greeting, or a re-prompt)
    FIRST     waiting for the first digit: first-digit timer, and the overall timer if set
    NEXT      one digit or more in: the inter-digit timer replaces the first-digit timer
    READBACK  the read-back of the entry is playing (collect with confirm)
    CONFIRM   waiting for the confirm key after the read-back
    DONE

Events: ``prompt_end(barged)`` (the prompt played out, or a barge-in digit stopped it),
``digit(d)``, ``timeout()`` (the timer of the last "wait" ran out), ``hangup()``.

Commands, returned as lists of tuples::

    ("play", parts, count, barge_in)   parts: names among greeting, short_greeting, noinput,
                                       nomatch, readback, played as one prompt; count: the
                                       counter value that picks a per-count prompt
    ("flush",)                         clear the channel's type-ahead buffer
    ("wait", seconds, timer)           wait up to ``seconds`` for a digit; timer: first,
                                       inter or overall (seconds None: no limit)
    ("done", outcome, digits)          outcome: match, noinput_exhausted, nomatch_exhausted,
                                       back, top, hangup

The rules:

1. The first-digit timer starts when the prompt ends, not when it starts.
2. A prompt with barge-in stops at the first digit, and that digit starts the entry.
   Digits typed during a prompt without barge-in are dropped when it ends (the caller was
   told to listen; Nuance flushes there too).
3. The inter-digit timer starts after each digit and replaces the first-digit timer.
4. The overall timer (if any) runs from the end of the prompt; when it fires, digits typed so
   far are judged as if the entry had ended, never thrown away.
5. A digit string that is complete and cannot grow ends the entry at once (no inter-digit
   wait); one that is complete but could grow waits for the inter-digit timer; one that can
   neither be complete nor grow is a no-match at once.
6. A terminator ends the entry; the entry must then be complete.
7. No-input and no-match have separate counters, kept for one visit of the node. The event
   that brings a counter to its maximum exhausts the node; otherwise the per-count prompt
   and then the short greeting play.
8. After a no-match the type-ahead buffer is flushed, so the rest of a mistyped entry is not
   read as the next answer.
9. The repeat key (as the first key) replays the long greeting without counting; back and
   top keys end the node.
10. With confirm, a complete entry is read back; the confirm key accepts it, any other key is
    a no-match and silence a no-input (both re-ask for the whole entry).
11. A hangup ends the dialog in any state.
"""

PROMPT = "PROMPT"
FIRST = "FIRST"
NEXT = "NEXT"
READBACK = "READBACK"
CONFIRM = "CONFIRM"
DONE = "DONE"

STATES = (PROMPT, FIRST, NEXT, READBACK, CONFIRM, DONE)


class DialogError(Exception):
    """An event that has no edge in the current state."""


class Dialog:
    """The rules of one visit to a menu or collect node.

    ``classify(digits, terminated)`` returns ``(complete, extendable)``: whether the digits
    are an acceptable entry, and whether more digits could still make one. Timers are in
    seconds (None: no limit); ``now`` is the caller's clock in seconds.
    """

    def __init__(self, classify, terminators="", first_timeout=5.0, inter_timeout=3.0,
                 overall_timeout=None, max_noinput=3, max_nomatch=3, barge_in=True,
                 repeat_key="", back_key="", top_key="", confirm=False, confirm_key="1"):
        self.classify = classify
        self.terminators = terminators
        self.first_timeout = first_timeout
        self.inter_timeout = inter_timeout
        self.overall_timeout = overall_timeout
        self.max_noinput = max_noinput
        self.max_nomatch = max_nomatch
        self.barge_in = barge_in
        self.repeat_key = repeat_key
        self.back_key = back_key
        self.top_key = top_key
        self.confirm = confirm
        self.confirm_key = confirm_key
        self.state = None
        self.digits = ""
        self.noinput = 0
        self.nomatch = 0
        self.outcome = None
        self.branches = []          # what happened, in order: noinput, nomatch, repeat, ...
        self._timer = None
        self._deadline = None

    # --- entry points ----------------------------------------------------------------------

    def start(self, now=0.0):
        """Begin the visit: play the long greeting."""
        if self.state is not None:
            raise DialogError("start() called twice")
        self.state = PROMPT                                     # (start) -> PROMPT
        return [("play", ("greeting",), 0, self.barge_in)]

    def prompt_end(self, barged, now):
        if self.state is PROMPT:
            self.state = FIRST                                  # PROMPT -> FIRST
            self.digits = ""
            self._deadline = None if self.overall_timeout is None else now + self.overall_timeout
            out = [] if barged or self.barge_in else [("flush",)]
            return out + [self._wait("first", now)]
        if self.state is READBACK:
            self.state = CONFIRM                                # READBACK -> CONFIRM
            self._deadline = None
            return [self._wait("first", now)]
        raise DialogError(f"prompt_end in {self.state}")

    def digit(self, d, now):
        if self.state is FIRST:
            if d == self.repeat_key:
                self.branches.append("repeat")
                self.state = PROMPT                             # FIRST -> PROMPT (repeat key)
                return [("play", ("greeting",), 0, self.barge_in)]
            if d in (self.back_key, self.top_key) and d:
                self.branches.append("back" if d == self.back_key else "top")
                return self._done("back" if d == self.back_key else "top")  # FIRST -> DONE
            if d in self.terminators:
                return self._judge(True, now)                   # FIRST -> DONE | PROMPT | READBACK
            self.digits = d
            return self._after_digit(now)                       # FIRST -> NEXT | DONE | PROMPT
        if self.state is NEXT:
            if d in self.terminators:
                return self._judge(True, now)                   # NEXT -> DONE | PROMPT | READBACK
            self.digits += d
            return self._after_digit(now)                       # NEXT -> NEXT | DONE | PROMPT
        if self.state is CONFIRM:
            if d == self.confirm_key:
                return self._done("match")                      # CONFIRM -> DONE (confirmed)
            return self._nomatch()                              # CONFIRM -> PROMPT (re-enter)
        raise DialogError(f"digit in {self.state}")

    def timeout(self, now):
        if self.state is FIRST:
            return self._noinput()                              # FIRST -> PROMPT | DONE (no input)
        if self.state is NEXT:
            return self._judge(False, now)                      # NEXT -> DONE | PROMPT (timer ran out)
        if self.state is CONFIRM:
            return self._noinput()                              # CONFIRM -> PROMPT | DONE (silence)
        raise DialogError(f"timeout in {self.state}")

    def hangup(self, now=0.0):
        if self.state is DONE:
            return []
        return self._done("hangup")                             # any -> DONE (hangup)

    # --- helpers ------------------------------------------------------------------------------

    def _wait(self, timer, now):
        seconds = self.first_timeout if timer == "first" else self.inter_timeout
        if self._deadline is not None:
            left = max(0.0, self._deadline - now)
            if seconds is None or left <= seconds:
                seconds, timer = left, "overall"
        self._timer = timer
        return ("wait", seconds, timer)

    def _after_digit(self, now):
        complete, extendable = self.classify(self.digits, False)
        if complete and not extendable:
            return self._accept()
        if not extendable:
            return self._nomatch()
        self.state = NEXT
        return [self._wait("inter", now)]

    def _judge(self, terminated, now):
        complete, _ = self.classify(self.digits, terminated)
        if complete:
            return self._accept()
        return self._nomatch()

    def _accept(self):
        if self.confirm:
            self.state = READBACK                               # FIRST/NEXT -> READBACK
            return [("play", ("readback",), 0, True)]
        return self._done("match")                              # FIRST/NEXT -> DONE (match)

    def _noinput(self):
        self.noinput += 1
        self.branches.append("noinput")
        if self.noinput >= self.max_noinput:
            self.branches.append("noinput_exhausted")
            return self._done("noinput_exhausted")              # -> DONE (no-input exhausted)
        self.state = PROMPT                                     # -> PROMPT (no-input re-prompt)
        return [("play", ("noinput", "short_greeting"), self.noinput, self.barge_in)]

    def _nomatch(self):
        self.nomatch += 1
        self.branches.append("nomatch")
        if self.nomatch >= self.max_nomatch:
            self.branches.append("nomatch_exhausted")
            return [("flush",)] + self._done("nomatch_exhausted")  # -> DONE (no-match exhausted)
        self.state = PROMPT                                     # -> PROMPT (no-match re-prompt)
        return [("flush",), ("play", ("nomatch", "short_greeting"), self.nomatch, self.barge_in)]

    def _done(self, outcome):
        self.state = DONE
        self.outcome = outcome
        return [("done", outcome, self.digits)]
