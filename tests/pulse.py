"""A private PulseAudio server for sound-card tests: a null sink whose monitor is the default
source, so what PortAudio plays comes back as what it records
(PortAudio -> ALSA pulse plugin -> PulseAudio null sink -> monitor -> back).

The server runs in the foreground as a child process, in a runtime directory of its own, with
only the modules the loop needs (``-n``: no default.pa, so no hardware, D-Bus or X11). As root
it warns that it is "not intended to be run as root" but runs; ``--system`` is not needed.
Clients find it through ``PULSE_SERVER``, which :meth:`PulseServer.start` sets in
``os.environ`` (PortAudio in this process and child processes both read it).

Use the ALSA device ``pulse`` (always defined by the pulse plugin) or ``default`` (mapped to
PulseAudio only if a server was running when ALSA first read its configuration in this
process).
"""
import os
import shutil
import signal
import socket
import subprocess
import time

SINK_RATE = 48000           # the null sink's rate: the 48 kHz path of a typical USB/HDA device


class PulseServer:
    """``with PulseServer(tmpdir) as server:`` -- start, stop (as a device loss) and restart."""

    def __init__(self, directory, rate=SINK_RATE):
        self.directory = os.fspath(directory)
        self.socket = os.path.join(self.directory, "native")
        self.rate = rate
        self.process = None
        self.keeper = None
        self._old_env = {}

    @staticmethod
    def available():
        return shutil.which("pulseaudio") is not None

    def _script(self):
        path = os.path.join(self.directory, "loop.pa")
        with open(path, "w") as f:
            f.write(f"load-module module-native-protocol-unix auth-anonymous=1 socket={self.socket}\n"
                    f"load-module module-null-sink sink_name=loop rate={self.rate} channels=2 "
                    f"sink_properties=device.description=loop\n"
                    "set-default-sink loop\n"
                    "set-default-source loop.monitor\n")
        return path

    def env(self):
        return {"PULSE_SERVER": f"unix:{self.socket}", "PULSE_RUNTIME_PATH": self.directory}

    def start(self, timeout=10.0):
        os.makedirs(self.directory, exist_ok=True)
        script = self._script()
        env = dict(os.environ, HOME=self.directory, XDG_RUNTIME_DIR=self.directory,
                   XDG_CONFIG_HOME=self.directory, PULSE_RUNTIME_PATH=self.directory)
        log = open(os.path.join(self.directory, "pulseaudio.log"), "ab")
        self.process = subprocess.Popen(
            # No shared memory: a client whose server is killed while it holds SHM blocks can
            # deadlock inside libpulse (memimport waits for blocks that the PortAudio thread,
            # itself waiting for the mainloop lock, would release). The tests kill the server.
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no", "--disable-shm=yes",
             "-n", "-F", script],
            env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while not self._accepting():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pulseaudio did not start; see {self.directory}/pulseaudio.log")
            time.sleep(0.02)
        # A null sink with no low-latency client renders in blocks of up to 2 s (its latency
        # range ends there), so a capture that starts first would wait up to 2 s for its first
        # frames. A client playing silence at 10 ms latency keeps the blocks short.
        self.keeper = subprocess.Popen(
            ["pacat", "--playback", "--raw", "--format=s16le", f"--rate={self.rate}", "--channels=2",
             "--latency-msec=10", "/dev/zero"],
            env=dict(env, **self.env()), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        penv = dict(env, **self.env())
        while not subprocess.run(["pactl", "list", "short", "sink-inputs"], env=penv,
                                 capture_output=True).stdout.strip():
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("pacat did not connect to the private pulseaudio")
            time.sleep(0.02)
        # The block scheduled before pacat came is cut short by a suspend and resume.
        for flag in ("1", "0"):
            subprocess.run(["pactl", "suspend-sink", "loop", flag], env=penv, check=True)
        for key, value in self.env().items():
            self._old_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        return self

    def _accepting(self):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(self.socket)
            return True
        except OSError:
            return False

    def stop(self, kill=False):
        """Stop the server (SIGKILL with ``kill``: the device vanishes without a goodbye)."""
        if self.keeper is not None:
            self.keeper.kill()
            self.keeper.wait()
            self.keeper = None
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        try:
            os.unlink(self.socket)
        except FileNotFoundError:
            pass

    def pause(self):
        """Freeze the server (SIGSTOP): a device that hangs instead of going away."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def close(self):
        self.stop()
        for key, value in self._old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._old_env = {}

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
