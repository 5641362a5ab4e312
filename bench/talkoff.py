"""Long DTMF talk-off measurement: build (or reuse) a large corpus, count false digits.

Usage: python bench/talkoff.py [--speech-minutes M] [--music-minutes M] [--languages a,b,...]
                               [--cache-dir DIR] [--codec alaw|linear|both] [--write-docs]
                               [--details N]

Prints a table of false digits (and per hour) per material and receiver mode, the hours
measured and the 95 % upper limits. --write-docs replaces the results section of
docs/talkoff.md (between the "talkoff-results" markers) with the same output.
"""
import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from voiceboard import talkoff  # noqa: E402

DOC = os.path.join(ROOT, "docs", "talkoff.md")
BEGIN, END = "<!-- talkoff-results:begin -->", "<!-- talkoff-results:end -->"


def _progress(label):
    start = time.monotonic()

    def show(done, total, item):
        if done == total or done % max(1, total // 20) == 0:  # about every 5 %
            rate = done / max(time.monotonic() - start, 1e-9)
            sys.stderr.write(f"\r{label}: {done}/{total} items ({item.material}) {rate:.1f} items/s   ")
            if done == total:
                sys.stderr.write("\n")
            sys.stderr.flush()
    return show


def _details(result, limit):
    """The false digits of talk-off material in normal and strict mode, for the receiver owner."""
    rows = [d for d in result.digits if d.mode in ("normal", "strict") and not talkoff._is_reference(d.material)]
    lines = [f"{'material':<18} {'mode':<7} {'digit':<5} {'t (s)':>8} {'ms':>5} {'row dBm0':>9} "
             f"{'col dBm0':>9} {'twist':>6} {'row Hz':>7} {'col Hz':>7}  item"]
    for d in rows[:limit]:
        lines.append(f"{d.material:<18} {d.mode:<7} {d.digit:<5} {d.time_s:8.2f} {d.duration_ms:5.0f} "
                     f"{d.row_dbm0:9.2f} {d.col_dbm0:9.2f} {d.twist_db:6.2f} {d.row_offset_hz:7.2f} "
                     f"{d.col_offset_hz:7.2f}  {d.item}")
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speech-minutes", type=float, default=30.0, help="minutes of speech per language")
    ap.add_argument("--music-minutes", type=float, default=15.0, help="minutes per music kind")
    ap.add_argument("--languages", default=",".join(talkoff.SPEECH_LANGUAGES))
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--codec", choices=("alaw", "linear", "both"), default="both")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--details", type=int, default=60, help="false digits to list (normal and strict)")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args(argv)
    languages = [s for s in args.languages.split(",") if s]
    try:
        items = talkoff.plan_corpus(languages, args.speech_minutes, talkoff.MUSIC_KINDS + talkoff.REFERENCE_KINDS,
                                    args.music_minutes, seed=args.seed)
    except ValueError as e:
        sys.exit(f"bench/talkoff.py: {e}")
    t0 = time.monotonic()
    corpus = talkoff.build_corpus(items, args.cache_dir, _progress("build"))
    t_build = time.monotonic() - t0
    out = [f"Corpus: {len(items)} items, {sum(corpus.seconds.values()) / 3600:.2f} h "
           f"({corpus.rendered} rendered in {t_build:.0f} s, the rest from {corpus.cache_dir}); "
           f"seed {args.seed}; {talkoff.espeak_version()}",
           f"Speech: {len(languages)} languages ({', '.join(languages)}), {args.speech_minutes:g} min each; "
           f"music: {args.music_minutes:g} min per kind."]
    codecs = ("alaw", "linear") if args.codec == "both" else (args.codec,)
    for codec in codecs:
        t0 = time.monotonic()
        result = talkoff.measure(corpus, codec=codec, progress=_progress(f"measure {codec}"))
        speech = [m for m in result.seconds if m.startswith("speech-")]
        music = [m for m in result.seconds if m.startswith("music-") and not talkoff._is_reference(m)]
        out += ["", f"Codec {codec} (measured in {time.monotonic() - t0:.1f} s):", "", "```", result.table()]
        for name, group in (("speech", speech), ("music", music)):
            hours = sum(result.seconds[m] for m in group) / 3600.0
            cells = []
            for mode in result.modes:
                n = sum(result.count(mode, m) for m in group)
                cells.append(f"{mode} {n} ({n / hours:.1f}/h, < {talkoff.rate_upper_bound(n, hours):.1f}/h)")
            out.append(f"all {name} ({hours:.2f} h): " + "; ".join(cells))
        out.append("```")
        if codec == codecs[0]:
            out += ["", f"False digits on talk-off material, normal and strict mode ({codec}):", "", "```",
                    _details(result, args.details), "```"]
    text = "\n".join(out)
    print(text)
    if args.write_docs:
        with open(DOC, encoding="utf-8") as f:
            doc = f.read()
        if BEGIN not in doc or END not in doc:
            sys.exit(f"{DOC}: results markers {BEGIN} / {END} not found")
        head, rest = doc.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        with open(DOC, "w", encoding="utf-8") as f:
            f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")
        print(f"results written to {DOC}", file=sys.stderr)


if __name__ == "__main__":
    main()
