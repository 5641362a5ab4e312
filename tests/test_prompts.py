"""The prompt store: prompt files, recordings that override TTS, espeak-ng renderings cached
by hash and rebuilt only when their text changes, the progress bar, ``ivr prompts build``,
and said prompts played to a caller on the emulated board. espeak-ng runs for real."""
import asyncio
import io
import os
import subprocess
import wave

import numpy as np
import pytest

import drivers
from ivr import cli, prompts, say
from ivr.prompts import PromptStore
from voiceboard import audio, clock, dsp
from voiceboard.errors import ConfigError

PROMPTS_YAML = """\
# a prompt file
welcome: {zh: 欢迎致电, en: Welcome}
menu/main:
  zh: 查询余额请按幺
  en: For your balance, press one.
bye: {zh: 再见}
"""

FLOW_YAML = """\
name: bank
start: main
prompts:
  flow/hello: {zh: 您好, en: Hello}
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sine(rate, seconds, hz, amplitude=8000):
    """An independent test tone (numpy), not voiceboard's generator."""
    t = np.arange(int(rate * seconds)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)


@pytest.fixture
def store(tmp_path):
    write(tmp_path / "p" / "bank.yaml", PROMPTS_YAML)
    return PromptStore([tmp_path / "p"], cache_dir=tmp_path / "cache", builtin=False)


# --- prompt files -----------------------------------------------------------------------------

def test_prompt_file_and_flow_section(tmp_path):
    found = prompts.read_prompt_file(write(tmp_path / "bank.yaml", PROMPTS_YAML))
    assert {k: v.texts for k, v in found.items()} == {
        "welcome": {"zh": "欢迎致电", "en": "Welcome"},
        "menu/main": {"zh": "查询余额请按幺", "en": "For your balance, press one."},
        "bye": {"zh": "再见"}}
    assert found["menu/main"].source == f"{tmp_path / 'bank.yaml'}:3"
    flow = prompts.read_prompt_file(write(tmp_path / "flow.yaml", FLOW_YAML))
    assert {k: v.texts for k, v in flow.items()} == {"flow/hello": {"zh": "您好", "en": "Hello"}}


@pytest.mark.parametrize("text,message", [
    ("a: {zh: x}\nb: {fr: y}\n", "f.yaml:2: prompt 'b': unknown key 'fr' (allowed: zh, en, tts)"),
    ("a: {zh: x}\n../up: {zh: y}\n", "f.yaml:2: prompt id '../up': use letters"),
    ("yes_no: {zh: 是, en: no}\n", "f.yaml:1: prompt 'yes_no': en text must be a non-empty string, "
                                  "got False (quote words like no/yes/on/off)"),
    ("a: {zh: x}\nb: {}\n", "f.yaml:2: prompt 'b': expected {zh: text, en: text}"),
    ("a: {zh: x, tts: {en: y, de: z}}\n", "f.yaml:1: prompt 'a': 'tts' must map a language"),
    ("a: {zh: [x\n", "f.yaml:2: YAML error"),
    ("name: bank\nstart: main\n", "f.yaml: not a prompt file (id: {zh: text, en: text}) nor a flow"),
    ("name: x\nprompts: [a, b]\n", "f.yaml:2: 'prompts' must be a mapping"),
])
def test_prompt_file_errors_name_the_file_and_line(tmp_path, text, message):
    path = write(tmp_path / "f.yaml", text)
    with pytest.raises(ConfigError) as err:
        prompts.read_prompt_file(path)
    assert str(err.value).startswith(f"{tmp_path}/{message}") and "\n" not in str(err.value)


def test_directories_take_prompt_files_and_flow_sections_and_skip_other_yaml(tmp_path):
    write(tmp_path / "d" / "bank.yaml", PROMPTS_YAML)
    write(tmp_path / "d" / "sub" / "flow.yml", FLOW_YAML)
    write(tmp_path / "d" / "sub" / "other.yaml", "name: no prompts here\nstart: x\n")
    write(tmp_path / "d" / "notes.txt", "a: {zh: x}\n")
    store = PromptStore([tmp_path / "d"], cache_dir=tmp_path / "c", builtin=False)
    assert sorted(store.prompts) == ["bye", "flow/hello", "menu/main", "welcome"]
    with pytest.raises(ConfigError, match="other.yaml: not a prompt file"):
        PromptStore([tmp_path / "d" / "sub" / "other.yaml"], builtin=False)
    with pytest.raises(ConfigError, match="missing: no such file or directory"):
        PromptStore([tmp_path / "missing"], builtin=False)


def test_an_id_defined_twice_with_other_text_is_an_error(tmp_path):
    a = write(tmp_path / "a.yaml", "welcome: {zh: 欢迎}\n")
    b = write(tmp_path / "b.yaml", "x: {zh: y}\nwelcome: {zh: 您好}\n")
    write(tmp_path / "c.yaml", "welcome: {zh: 欢迎}\n")
    PromptStore([a, tmp_path / "c.yaml"], builtin=False)       # same text twice is fine
    with pytest.raises(ConfigError, match=f"^{b}:2: prompt 'welcome' is already defined with other "
                                          f"text at {a}:1$"):
        PromptStore([a, b], builtin=False)


# --- the built-in table of ivr.say ---------------------------------------------------------------

def said_ids():
    """(id, lang) of everything ivr.say says for a broad set of values."""
    calls = []
    for lang in say.LANGS:
        calls += [("number", n, lang, {}) for n in list(range(0, 120)) + [10 ** 12 + 2 * 10 ** 8 + 2 * 10 ** 4,
                                                                        2222, 1234567890123, -1, "0.5"]]
        calls += [("money", v, lang, {"colloquial": c}) for v in ("2.22", "10.05", "100") for c in (True, False)
                  if lang == "zh" or not c]
        calls += [("digits", "0123456789*#", lang, {"yao": y}) for y in (True, False)]
        calls += [("date", f"{y}-{m:02d}-{d:02d}", lang, {"weekday": True})
                  for y in (1905, 1999) for m in range(1, 13) for d in range(1, 29, 3)]
        calls += [("date", f"2026-11-{d:02d}", lang, {}) for d in range(1, 31)]
        calls += [("time", f"{h:02d}:{m:02d}", lang, {}) for h in range(24) for m in (0, 5, 30)]
        calls += [("percent", "2.25", lang, {}), ("rate", "8.2765", lang, {})]
    return {(i, lang) for kind, v, lang, o in calls for i in say.say(kind, v, lang, **o).ids}


def test_the_builtin_table_holds_exactly_what_say_speaks():
    table = {(pid, lang) for pid, texts in say.builtin_texts().items() for lang in texts}
    assert said_ids() == table


def test_pinyin_table_covers_every_chinese_builtin_prompt():
    for pid, prompt in prompts.builtin_prompts().items():
        if "zh" in prompt.texts:
            assert all(c in prompts.PINYIN for c in prompt.texts["zh"]), pid
    assert prompts.tts_input("十万零五百元三角，欢迎", "zh") == "shi2 wan4 ling2 wu3 bai3 yuan2 san1 jiao3, 欢迎"
    assert prompts.tts_input("press one.", "en") == "press one."


def test_espeak_speaks_every_builtin_prompt_in_its_own_language():
    """Phonemes (-x) of each espeak-ng input: no switch to another language, which is how the
    stock cmn voice fails on pinyin-only dictionary entries such as 万."""
    store = PromptStore(cache_dir="unused")
    for pid, lang in store.entries():
        done = subprocess.run(["espeak-ng", "-q", "-x", "-v", store.voices[lang], "--stdin"],
                              input=store._spoken(pid, lang).encode(), capture_output=True, check=True)
        phonemes = done.stdout.decode()
        assert phonemes.strip() and "(" not in phonemes, (pid, lang, phonemes)


# --- rendering and the cache -----------------------------------------------------------------------

def wav_format(path):
    with wave.open(str(path), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()


def test_build_renders_8khz_prompts_and_rebuilds_only_changed_text(tmp_path, store):
    quiet = prompts.TextBar
    stats = store.build(progress=lambda n: quiet(n, stream=io.StringIO()))
    assert (stats.rendered, stats.unchanged, stats.recorded) == (5, 0, 0)
    files = {e: store.cached_path(*e) for e in store.entries()}
    for (pid, lang), path in files.items():
        rate, channels, width, frames = wav_format(path)
        assert (rate, channels, width) == (8000, 1, 2)
        assert 0.3 < frames / rate < 4.0, (pid, lang, frames)
        samples = store.load(pid, lang)
        assert samples.dtype == np.int16 and samples.size == frames
        # Trailing silence cut to TAIL_MS after the last sample within 40 dB of the peak.
        mag = np.abs(samples.astype(np.int32))
        last = np.flatnonzero(mag >= mag.max() * 10 ** (prompts.SILENCE_DB / 20))[-1]
        assert samples.size - 1 - last <= prompts.TAIL_MS * 8
    mtimes = {e: p.stat().st_mtime_ns for e, p in files.items()}

    again = store.build(progress=lambda n: quiet(n, stream=io.StringIO()))
    assert (again.rendered, again.unchanged) == (0, 5)
    assert {e: p.stat().st_mtime_ns for e, p in files.items()} == mtimes

    write(tmp_path / "p" / "bank.yaml", PROMPTS_YAML.replace("Welcome", "Welcome to the bank"))
    edited = PromptStore([tmp_path / "p"], cache_dir=tmp_path / "cache", builtin=False)
    stats = edited.build(progress=lambda n: quiet(n, stream=io.StringIO()))
    assert (stats.rendered, stats.unchanged) == (1, 4)
    longer = edited.load("welcome", "en")
    assert longer.size > store.load("welcome", "en").size

    forced = edited.build(force=True, progress=lambda n: quiet(n, stream=io.StringIO()))
    assert (forced.rendered, forced.unchanged) == (5, 0)


def test_cache_key_follows_text_voice_and_espeak_version_not_the_id(tmp_path):
    write(tmp_path / "a.yaml", "one: {en: Hello}\ntwo: {en: Hello}\nthree: {en: Goodbye}\n")
    store = PromptStore([tmp_path / "a.yaml"], cache_dir=tmp_path / "c", builtin=False)
    assert store.cache_key("one", "en") == store.cache_key("two", "en")
    assert store.cache_key("one", "en") != store.cache_key("three", "en")
    other = PromptStore([tmp_path / "a.yaml"], cache_dir=tmp_path / "c", builtin=False,
                        voices={"en": "en-gb"})
    assert other.cache_key("one", "en") != store.cache_key("one", "en")
    assert store.espeak_version().startswith("eSpeak NG text-to-speech: ")


def test_tts_text_replaces_the_shown_text_as_espeak_input(tmp_path):
    write(tmp_path / "a.yaml", "atm: {zh: 请到ATM取款, tts: {zh: qing3 dao4 A T M qu3 kuan3}}\n")
    store = PromptStore([tmp_path / "a.yaml"], cache_dir=tmp_path / "c", builtin=False)
    assert store.text("atm", "zh") == "请到ATM取款"
    assert store._spoken("atm", "zh") == "qing3 dao4 A T M qu3 kuan3"
    assert store.load("atm", "zh").size > 0.5 * dsp.SAMPLE_RATE


def test_text_that_looks_like_an_option_is_spoken(tmp_path):
    write(tmp_path / "a.yaml", "odd: {en: '--version please'}\n")
    store = PromptStore([tmp_path / "a.yaml"], cache_dir=tmp_path / "c", builtin=False)
    assert store.load("odd", "en").size > 0.5 * dsp.SAMPLE_RATE


def test_recording_overrides_tts_and_is_resampled(tmp_path, store):
    rec = tmp_path / "rec"
    tone = sine(16000, 0.5, 440.0)
    (rec / "zh").mkdir(parents=True)
    audio.write_wav(rec / "zh" / "welcome.wav", tone, rate=16000)
    audio.write_wav(rec / "zh" / "only-recorded.wav", sine(8000, 0.25, 300.0))
    store = PromptStore([tmp_path / "p"], [tmp_path / "empty", rec], tmp_path / "cache", builtin=False)
    assert store.path("welcome", "zh") == rec / "zh" / "welcome.wav"
    got = store.load("welcome", "zh")
    assert got.dtype == np.int16 and got.size == tone.size // 2
    np.testing.assert_allclose(got[100:-100], sine(8000, 0.5, 440.0)[100:-100], atol=400)
    assert store.load("only-recorded", "zh").size == 2000            # a recording needs no text
    stats = store.build(progress=lambda n: prompts.TextBar(n, stream=io.StringIO()))
    assert (stats.rendered, stats.recorded) == (4, 1)
    assert not store.cached_path("welcome", "zh").exists()


def test_missing_text_espeak_and_language_are_clear_errors(tmp_path, store):
    with pytest.raises(ConfigError, match=r"^prompt 'bye' \(.*bank.yaml:6\) has no en text$"):
        store.load("bye", "en")
    with pytest.raises(ConfigError, match="^prompt 'nothing': not defined in any prompt file$"):
        store.load("nothing", "zh")
    with pytest.raises(ConfigError, match="unknown language 'fr'"):
        store.load("welcome", "fr")
    with pytest.raises(ConfigError, match=r"prompt 'zz/digits/5': expected <lang>/<id>"):
        store.load_all(["zz/digits/5"])
    broken = PromptStore([tmp_path / "p"], cache_dir=tmp_path / "c2", builtin=False,
                         espeak=str(tmp_path / "no-espeak-ng"))
    with pytest.raises(ConfigError, match=r"cannot run '.*no-espeak-ng' to render prompts: No such file"):
        broken.load("welcome", "zh")
    badvoice = PromptStore([tmp_path / "p"], cache_dir=tmp_path / "c3", builtin=False,
                           voices={"en": "no-such-voice"})
    with pytest.raises(ConfigError, match=r"^espeak-ng voice 'no-such-voice' for en is not installed"):
        badvoice.load("welcome", "en")
    for voice in ("en-gb", "English_(America)", "gmw/en-US", "en-us+f3"):
        PromptStore(voices={"en": voice}, cache_dir=tmp_path / "c3").check_voice("en")


# --- progress bars ------------------------------------------------------------------------------

def test_text_bar_draws_on_one_line():
    out = io.StringIO()
    bar = prompts.progress_bar(4, stream=out, use_tqdm=False)
    for _ in range(4):
        bar.update(1)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n")
    assert text.split("\r")[-1] == "prompts [" + "#" * 30 + "] 4/4 100%\n"
    assert "] 2/4  50%" in text


def test_tqdm_bar_when_installed():
    out = io.StringIO()
    bar = prompts.progress_bar(3, stream=out, use_tqdm=True)
    bar.update(3)
    bar.close()
    assert type(bar).__module__.startswith("tqdm") and "3/3" in out.getvalue()


# --- the command --------------------------------------------------------------------------------

def test_ivr_prompts_build(tmp_path, capsys):
    write(tmp_path / "flows" / "bank.yaml", PROMPTS_YAML)
    write(tmp_path / "flows" / "flow.yaml", FLOW_YAML)
    cache = tmp_path / "cache"
    argv = ["prompts", "build", str(tmp_path / "flows"), "--cache", str(cache), "--no-say"]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == f"7 prompts: 7 rendered, 0 unchanged, 0 recorded (cache {cache})\n"
    assert "7/7" in captured.err                                      # the progress bar
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.startswith("7 prompts: 0 rendered, 7 unchanged")
    assert cli.main(argv + ["--lang", "en", "--force"]) == 0
    assert capsys.readouterr().out.startswith("3 prompts: 3 rendered, 0 unchanged")
    write(tmp_path / "flows" / "bad.yaml", "a: {zh: x, de: y}\n")
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err == f"ivr: error: {tmp_path / 'flows' / 'bad.yaml'}:1: prompt 'a': unknown key 'de' (allowed: zh, en, tts)\n"


def test_ivr_prompts_build_renders_the_say_prompts(tmp_path, capsys):
    cache = tmp_path / "cache"
    assert cli.main(["prompts", "build", "--cache", str(cache)]) == 0
    store = PromptStore(cache_dir=cache)
    # Prompts with the same text share one rendering (分 = money/fen = time/minute).
    keys = {store.cache_key(*e) for e in store.entries()}
    n, shared = len(store.entries()), len(store.entries()) - len(keys)
    assert n == sum(len(texts) for texts in say.builtin_texts().values())
    assert capsys.readouterr().out == (f"{n} prompts: {n - shared} rendered, {shared} unchanged, "
                                       f"0 recorded (cache {cache})\n")
    assert sorted(os.listdir(cache)) == sorted(f"{k}.wav" for k in keys)


# --- on the line ---------------------------------------------------------------------------------

def test_said_money_plays_to_the_caller(tmp_path):
    """ivr.say -> prompt store -> Channel.play: the caller hears the prompts in order."""
    store = PromptStore(cache_dir=tmp_path / "cache")
    parts = store.load_all(say.prompts("money", "100500.30", "zh"))
    assert len(parts) == 8
    speech = np.concatenate(parts)

    async def main():
        async with drivers.open_board("emu://analog?ports=1") as board:
            ch, port = board.channel(0), board.exchange.ports[0]
            call = asyncio.ensure_future(port.call())
            while ch.ring_count < 1:
                await ch.events.get()
            await ch.answer()
            assert await call is True
            listen = asyncio.ensure_future(port.listen(speech.size / dsp.SAMPLE_RATE + 0.5))
            result = await ch.play(parts)
            return result, await listen

    result, heard = clock.run(main())
    assert result.reason == "end"
    # Normalised cross-correlation: the whole phrase is there, once, at one delay.
    corr = np.correlate(heard.astype(float), speech.astype(float), mode="valid")
    energy = np.sqrt(np.convolve(heard.astype(float) ** 2, np.ones(speech.size), mode="valid")
                     * np.sum(speech.astype(float) ** 2))
    assert np.max(corr / np.maximum(energy, 1)) > 0.9
