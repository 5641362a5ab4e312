"""The prompt store: audio for a prompt id in a language, recorded or rendered by espeak-ng.

Resolution order for ``(id, lang)``:

1. a recording ``<recordings dir>/<lang>/<id>.wav`` (any WAV that voiceboard.audio reads; the
   first directory that has it wins);
2. otherwise the prompt's text in that language rendered by espeak-ng (voice ``cmn-latn-pinyin``
   for zh, ``en-us`` for en), converted to 8 kHz with voiceboard.dsp.resample, its trailing
   silence cut, and cached as ``<cache dir>/<key>.wav``. The key hashes the exact espeak-ng
   input, the voice, the espeak-ng version and the rendering settings, so a prompt is rendered
   again only when one of them changes.

Prompt texts come from prompt files (YAML, ``id: {zh: text, en: text}``; a flow file gives
them under a top-level ``prompts:`` key) and from the built-in table of ivr.say
(ivr/data/say_prompts.yaml). docs/say.md describes the formats and the directory layout.

Chinese text goes to espeak-ng through the ``cmn-latn-pinyin`` voice: the characters that
ivr.say uses are turned into tone-numbered pinyin by :data:`PINYIN` (the stock ``cmn`` voice
reads the pinyin of its dictionary as English, e.g. 万 comes out as "wan four"; espeak-ng 1.51,
``espeak-ng -v cmn -x 十万零五百元三角``), other characters are left to espeak-ng's dictionary.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from ivr import say
from voiceboard import audio, dsp
from voiceboard.errors import AudioFormatError, ConfigError

LANGS = say.LANGS
DEFAULT_VOICES = {"zh": "cmn-latn-pinyin", "en": "en-us"}
ID_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*")
ENTRY_KEYS = set(LANGS) | {"tts"}

# Trailing silence kept after the last sound: espeak-ng 1.51 ends every utterance with about
# 300 ms of silence (measured on "wu3" and "shi2 wan4"), which would put long gaps between
# the parts of a said number. 40 ms leaves the natural decay (chosen by listening).
TAIL_MS = 40
# Samples quieter than this, relative to the prompt's peak, count as silence when trimming
# (chosen: 40 dB is below espeak-ng's decaying tails and above its zero padding).
SILENCE_DB = -40.0
# Changing the rendering code must invalidate the cache: part of every cache key.
RENDER_FORMAT = 1

# Tone-numbered pinyin of the characters in say_prompts.yaml (Xiandai Hanyu Cidian readings;
# tone sandhi is left to espeak-ng). Chinese punctuation becomes ASCII so espeak-ng pauses.
PINYIN = {
    "零": "ling2", "一": "yi1", "二": "er4", "两": "liang3", "三": "san1", "四": "si4", "五": "wu3",
    "六": "liu4", "七": "qi1", "八": "ba1", "九": "jiu3", "幺": "yao1", "十": "shi2", "百": "bai3",
    "千": "qian1", "万": "wan4", "亿": "yi4", "负": "fu4", "点": "dian3", "之": "zhi1", "分": "fen1",
    "元": "yuan2", "角": "jiao3", "整": "zheng3", "块": "kuai4", "毛": "mao2", "年": "nian2",
    "月": "yue4", "日": "ri4", "星": "xing1", "期": "qi1", "号": "hao4", "井": "jing3", "凌": "ling2",
    "晨": "chen2", "上": "shang4", "午": "wu3", "中": "zhong1", "下": "xia4", "晚": "wan3",
    "，": ",", "。": ".", "、": ",", "！": "!", "？": "?", "：": ":", "；": ";",
}


def tts_input(text, lang):
    """The text given to espeak-ng: Chinese characters of :data:`PINYIN` as pinyin syllables."""
    if lang != "zh":
        return text
    out = "".join(f" {PINYIN[c]} " if c in PINYIN else c for c in text)
    return re.sub(r"\s+([,.!?:;])", r"\1", " ".join(out.split()))


@dataclass
class Prompt:
    """A prompt: its ``texts`` by language, optional ``tts`` texts that replace them as the
    espeak-ng input, and where it was defined (``source`` as "file:line")."""
    id: str
    texts: dict
    tts: dict = field(default_factory=dict)
    source: str = ""


# ----------------------------------------------------------------------------------------
# Prompt files
# ----------------------------------------------------------------------------------------

class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of each mapping key (for error messages)."""


def _construct_mapping(loader, node):
    mapping = loader.construct_mapping(node)
    lines = {}
    for key_node, _ in node.value:
        lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1
    return _Mapping(mapping, lines, node.start_mark.line + 1)


class _Mapping(dict):
    def __init__(self, mapping, lines, line):
        super().__init__(mapping)
        self.lines = lines
        self.line = line


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.load(f, Loader=_LineLoader)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{where}: YAML error: {problem}") from None


def _looks_like_prompts(doc):
    return isinstance(doc, dict) and bool(doc) and all(isinstance(v, dict) for v in doc.values())


def read_prompt_file(path, required=True):
    """Prompts of a prompt file or of a flow file's ``prompts:`` section as {id: Prompt}.

    With ``required=False`` a YAML file that is neither gives {} (used for directories, where
    flows without prompts sit next to prompt files).

    Raises
    ------
    ConfigError
        "file:line: ..." for bad YAML, a bad id, an unknown language or a text that is not a
        string.
    """
    doc = _read_yaml(path)
    if isinstance(doc, dict) and "prompts" in doc:
        section = doc["prompts"]
        if not isinstance(section, dict):
            raise ConfigError(f"{path}:{doc.lines['prompts']}: 'prompts' must be a mapping of "
                              f"prompt id -> {{zh: text, en: text}}")
        doc = section
    elif not _looks_like_prompts(doc):
        if not required:
            return {}
        raise ConfigError(f"{path}: not a prompt file (id: {{zh: text, en: text}}) nor a flow "
                          f"with a 'prompts:' section")
    found = {}
    for pid, entry in doc.items():
        where = f"{path}:{doc.lines[pid]}"
        if not isinstance(pid, str) or not ID_PATTERN.fullmatch(pid):
            raise ConfigError(f"{where}: prompt id {pid!r}: use letters, digits, '_', '-', '.' "
                              f"and '/' between parts")
        if not isinstance(entry, dict) or not entry:
            raise ConfigError(f"{where}: prompt {pid!r}: expected {{zh: text, en: text}}")
        unknown = sorted(map(str, set(entry) - ENTRY_KEYS))
        if unknown:
            raise ConfigError(f"{where}: prompt {pid!r}: unknown key {unknown[0]!r} "
                              f"(allowed: {', '.join(LANGS)}, tts)")
        tts = entry.get("tts") or {}
        if not isinstance(tts, dict) or set(tts) - set(LANGS):
            raise ConfigError(f"{where}: prompt {pid!r}: 'tts' must map a language "
                              f"({', '.join(LANGS)}) to the text espeak-ng should speak")
        texts = {lang: entry[lang] for lang in LANGS if lang in entry}
        for lang, value in list(texts.items()) + [(f"tts.{k}", v) for k, v in tts.items()]:
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: prompt {pid!r}: {lang} text must be a non-empty "
                                  f"string, got {value!r} (quote words like no/yes/on/off)")
        found[pid] = Prompt(pid, texts, dict(tts), where)
    return found


def find_prompt_files(paths):
    """(file, required) pairs for files and directories (``*.yaml``/``*.yml`` below a
    directory, sorted; those are optional)."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.suffix in (".yaml", ".yml") and f.is_file())
            out += [(f, False) for f in files]
        elif p.exists():
            out.append((p, True))
        else:
            raise ConfigError(f"{p}: no such file or directory")
    return out


def builtin_prompts():
    """The prompts of ivr.say (ivr/data/say_prompts.yaml) as {id: Prompt}."""
    return read_prompt_file(say.DATA_FILE)


# ----------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------

def default_cache_dir():
    """$IVR_PROMPT_CACHE, else $XDG_CACHE_HOME/ivr/prompts, else ~/.cache/ivr/prompts."""
    if os.environ.get("IVR_PROMPT_CACHE"):
        return Path(os.environ["IVR_PROMPT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ivr" / "prompts"


def trim_silence(samples, tail_ms=TAIL_MS, silence_db=SILENCE_DB):
    """Cut what follows the last sample louder than ``silence_db`` below the peak, keeping
    ``tail_ms`` ms; leading silence is kept (espeak-ng starts speaking within 12 ms)."""
    mag = np.abs(samples.astype(np.int32))
    if not mag.size or not mag.max():
        return samples
    loud = np.flatnonzero(mag >= mag.max() * 10 ** (silence_db / 20))
    end = min(samples.size, loud[-1] + 1 + tail_ms * dsp.SAMPLE_RATE // 1000)
    return samples[:end]


@dataclass
class BuildStats:
    """What :meth:`PromptStore.build` did, in prompt renderings (one id in one language)."""
    rendered: int = 0
    unchanged: int = 0
    recorded: int = 0

    @property
    def total(self):
        return self.rendered + self.unchanged + self.recorded


class PromptStore:
    """Audio of prompts by id and language.

    Parameters
    ----------
    files : iterable of paths
        Prompt files, flow files or directories of them (see :func:`read_prompt_file`).
    recordings : iterable of paths
        Directories holding ``<lang>/<id>.wav``; searched in order, before any rendering.
    cache_dir : path, optional
        Where rendered prompts are kept (default :func:`default_cache_dir`).
    voices : dict, optional
        espeak-ng voice per language, merged over :data:`DEFAULT_VOICES`.
    espeak : str
        The espeak-ng program.
    builtin : bool
        Include the prompts of ivr.say.

    Raises
    ------
    ConfigError
        A bad prompt file, or an id defined twice with different texts.
    """

    def __init__(self, files=(), recordings=(), cache_dir=None, voices=None, espeak="espeak-ng",
                 builtin=True):
        self.prompts = builtin_prompts() if builtin else {}
        for path, required in find_prompt_files(files):
            for pid, prompt in read_prompt_file(path, required).items():
                old = self.prompts.get(pid)
                if old is not None and (old.texts, old.tts) != (prompt.texts, prompt.tts):
                    raise ConfigError(f"{prompt.source}: prompt {pid!r} is already defined with "
                                      f"other text at {old.source}")
                self.prompts.setdefault(pid, prompt)
        self.recordings = [Path(d) for d in recordings]
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.voices = {**DEFAULT_VOICES, **(voices or {})}
        self.espeak = espeak
        self._espeak_version = None
        self._known_voices = None
        self._loaded = {}

    # --- lookup ------------------------------------------------------------------------------

    def text(self, pid, lang="zh"):
        """The prompt's text in ``lang`` (ConfigError if it has none)."""
        _check_lang(lang)
        prompt = self.prompts.get(pid)
        if prompt is None:
            raise ConfigError(f"prompt {pid!r}: not defined in any prompt file")
        if lang not in prompt.texts:
            raise ConfigError(f"prompt {pid!r} ({prompt.source}) has no {lang} text")
        return prompt.texts[lang]

    def recording(self, pid, lang="zh"):
        """Path of the recording of ``(pid, lang)``, or None."""
        _check_lang(lang)
        for d in self.recordings:
            path = d / lang / f"{pid}.wav"
            if path.is_file():
                return path
        return None

    def cache_key(self, pid, lang="zh"):
        """Hex digest naming the rendering of ``(pid, lang)`` in the cache."""
        blob = json.dumps([self._spoken(pid, lang), self.voices[lang], self.espeak_version(), dsp.SAMPLE_RATE,
                           TAIL_MS, SILENCE_DB, RENDER_FORMAT], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def cached_path(self, pid, lang="zh"):
        return self.cache_dir / f"{self.cache_key(pid, lang)}.wav"

    def path(self, pid, lang="zh"):
        """The file that plays for ``(pid, lang)``: the recording, else the rendering (made
        now if it is not in the cache)."""
        recorded = self.recording(pid, lang)
        if recorded is not None:
            return recorded
        cached = self.cached_path(pid, lang)
        if not cached.is_file():
            self._render(pid, lang, cached)
        return cached

    def load(self, pid, lang="zh"):
        """int16 samples at 8 kHz of ``(pid, lang)``, for Channel.play (kept in memory).

        A prompt missing from the cache is rendered here, synchronously (about 10 ms with
        espeak-ng 1.51 on this project's machine): run :meth:`build` before taking calls."""
        key = (pid, lang)
        if key not in self._loaded:
            samples, _ = audio.read_audio(self.path(pid, lang))
            self._loaded[key] = samples
        return self._loaded[key]

    def load_all(self, refs):
        """Samples for language-qualified ids such as ivr.say returns (``"zh/digits/5"``)."""
        out = []
        for ref in refs:
            lang, pid = split_ref(ref)
            out.append(self.load(pid, lang))
        return out

    # --- rendering ---------------------------------------------------------------------------

    def espeak_version(self):
        """First line of ``espeak-ng --version`` (part of every cache key)."""
        if self._espeak_version is None:
            try:
                done = subprocess.run([self.espeak, "--version"], capture_output=True, text=True,
                                      check=False)
            except OSError as exc:
                raise ConfigError(f"cannot run {self.espeak!r} to render prompts: "
                                  f"{exc.strerror or exc} (install espeak-ng or record the "
                                  f"prompts)") from None
            lines = done.stdout.strip().splitlines()
            if done.returncode or not lines:
                raise ConfigError(f"{self.espeak} --version failed (exit {done.returncode})")
            self._espeak_version = lines[0]
        return self._espeak_version

    def check_voice(self, lang):
        """Fail unless espeak-ng knows the voice of ``lang``: given an unknown voice it speaks
        with its default one and still exits 0 (espeak-ng 1.51)."""
        voice = self.voices[lang]
        if self._known_voices is None:
            self.espeak_version()
            done = subprocess.run([self.espeak, "--voices"], capture_output=True, text=True, check=False)
            known = set()
            for line in done.stdout.splitlines()[1:]:
                cols = line.split()
                if len(cols) >= 5:
                    # Language, VoiceName, File and the file's base name all select a voice.
                    known |= {cols[1], cols[3], cols[4], cols[4].rsplit("/", 1)[-1]}
            self._known_voices = {k.lower() for k in known}
        if voice.split("+", 1)[0].lower() not in self._known_voices:
            raise ConfigError(f"espeak-ng voice {voice!r} for {lang} is not installed "
                              f"(see espeak-ng --voices)")

    def _spoken(self, pid, lang):
        """The espeak-ng input: the prompt's tts text, else its text through tts_input."""
        text = self.text(pid, lang)
        return self.prompts[pid].tts.get(lang) or tts_input(text, lang)

    def _render(self, pid, lang, dest):
        spoken = self._spoken(pid, lang)
        self.check_voice(lang)
        voice = self.voices[lang]
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            raw = Path(tmp) / "espeak.wav"
            # Text on stdin: no option parsing of prompt text that starts with "-".
            done = subprocess.run([self.espeak, "-v", voice, "-w", str(raw), "--stdin"],
                                  input=spoken.encode(), capture_output=True, check=False)
            if done.returncode or not raw.is_file():
                err = done.stderr.decode(errors="replace").strip().splitlines()
                raise ConfigError(f"prompt {pid!r} ({lang}): {self.espeak} -v {voice} failed "
                                  f"(exit {done.returncode}){': ' + err[-1] if err else ''}")
            try:
                samples, _ = audio.read_audio(raw)
            except AudioFormatError as exc:
                raise ConfigError(f"prompt {pid!r} ({lang}): espeak-ng gave no usable audio "
                                  f"({exc})") from None
            out = Path(tmp) / "prompt.wav"
            audio.write_wav(out, trim_silence(samples))
            os.replace(out, dest)

    def entries(self, langs=LANGS):
        """Every (id, lang) the store has text for, sorted."""
        return [(pid, lang) for pid in sorted(self.prompts) for lang in langs
                if lang in self.prompts[pid].texts]

    def build(self, entries=None, force=False, progress=None):
        """Render every prompt that has no recording and no up-to-date cached rendering.

        Parameters
        ----------
        entries : list of (id, lang), optional
            Default: :meth:`entries`.
        force : bool
            Render again even when the cache holds the rendering.
        progress : callable, optional
            ``progress(total)`` returns a bar with ``update(n)`` and ``close()``; default
            :func:`progress_bar` on stderr.

        Returns
        -------
        BuildStats
        """
        entries = self.entries() if entries is None else list(entries)
        stats = BuildStats()
        bar = (progress or progress_bar)(len(entries))
        try:
            for pid, lang in entries:
                if self.recording(pid, lang) is not None:
                    stats.recorded += 1
                else:
                    dest = self.cached_path(pid, lang)
                    if force or not dest.is_file():
                        self._render(pid, lang, dest)
                        self._loaded.pop((pid, lang), None)
                        stats.rendered += 1
                    else:
                        stats.unchanged += 1
                bar.update(1)
        finally:
            bar.close()
        return stats


def split_ref(ref):
    """("zh", "digits/5") from "zh/digits/5"."""
    lang, _, pid = ref.partition("/")
    if lang not in LANGS or not pid:
        raise ConfigError(f"prompt {ref!r}: expected <lang>/<id> with lang one of {', '.join(LANGS)}")
    return lang, pid


def _check_lang(lang):
    if lang not in LANGS:
        raise ConfigError(f"unknown language {lang!r} (choose from {', '.join(LANGS)})")


# ----------------------------------------------------------------------------------------
# Progress bar
# ----------------------------------------------------------------------------------------

class TextBar:
    """A one-line progress bar redrawn with carriage returns (used when tqdm is missing)."""

    WIDTH = 30  # characters of bar: fits an 80-column terminal with the counts

    def __init__(self, total, desc="prompts", stream=None):
        self.total, self.desc, self.count = total, desc, 0
        self.stream = stream if stream is not None else sys.stderr
        self._draw()

    def update(self, n=1):
        self.count += n
        self._draw()

    def _draw(self):
        frac = self.count / self.total if self.total else 1.0
        filled = int(frac * self.WIDTH)
        self.stream.write(f"\r{self.desc} [{'#' * filled}{'.' * (self.WIDTH - filled)}] "
                          f"{self.count}/{self.total} {frac:4.0%}")
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()


def progress_bar(total, desc="prompts", stream=None, use_tqdm=None):
    """tqdm's bar when tqdm is installed (``use_tqdm=None``), else :class:`TextBar`."""
    if use_tqdm is not False:
        try:
            from tqdm import tqdm
        except ImportError:
            if use_tqdm:
                raise
        else:
            return tqdm(total=total, desc=desc, unit="prompt", file=stream or sys.stderr)
    return TextBar(total, desc, stream)
