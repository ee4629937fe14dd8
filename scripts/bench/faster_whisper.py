#!/usr/bin/env python3
"""faster-whisper reference timings for the transcription benchmark.

Usage (from the target/fw-venv made by `make fw-venv`):
    target/fw-venv/bin/python scripts/bench/faster_whisper.py \
        --model models/ct2-base [--threads 2] [--language en|ru|auto] [--runs 3] \
        [--beam 1] [--compute-type float32] [--json] FILE...

FILE: anything PyAV decodes (WAV 16 kHz mono, OGG/Opus voice notes, ...). Paths must not contain
whitespace. The model is loaded from the local CTranslate2 directory only (model.bin, config.json,
tokenizer.json, vocabulary.txt); the hub is never contacted (HF_HUB_OFFLINE=1, local_files_only).

Each file is transcribed once as a warm-up, then --runs times; the reported time is the median wall
time of those runs and covers decoding the file, the mel spectrogram, the encoder and the decoder
(greedy with --beam 1, temperature 0 without fallback, no VAD, no timestamps, no previous-text
conditioning: the settings the service uses with whisper.cpp).

Output (stdout, one line each, fields separated by single spaces):
    fw-load <model_dir> <seconds>             once, first: time to load the model
    fw <file> <seconds> <text>                per file, in argument order; <text> is the rest of
                                              the line (segments joined, whitespace collapsed,
                                              may be empty)
With --json, instead one JSON object per line:
    {"kind": "load", "model": ..., "seconds": ...}
    {"kind": "file", "file": ..., "seconds": <median>, "runs": [...], "text": ...,
     "language": ..., "audio_seconds": ...}
Exit status: 0 on success, 1 if a file cannot be transcribed, 2 on bad arguments.
"""

import argparse
import json
import os
import statistics
import sys
import time

# This file is named like the package: keep its own folder off the import path.
_here = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from faster_whisper import WhisperModel  # noqa: E402


def transcribe(model, path, language, beam):
    segments, info = model.transcribe(
        path,
        language=language,
        beam_size=beam,
        best_of=1,
        temperature=0.0,
        condition_on_previous_text=False,
        without_timestamps=True,
        vad_filter=False,
    )
    text = " ".join(s.text.strip() for s in segments)  # the generator does the work
    return " ".join(text.split()), info


def main():
    ap = argparse.ArgumentParser(description="faster-whisper timings (see the module docstring)")
    ap.add_argument("--model", required=True, help="CTranslate2 model directory")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--language", default="auto", help="en, ru, ... or auto (detect)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per file after one warm-up")
    ap.add_argument("--beam", type=int, default=1, help="beam size (1 = greedy)")
    ap.add_argument("--compute-type", default="float32")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(args.model, "model.bin")):
        ap.error(f"{args.model}: no model.bin (run `make model`)")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    language = None if args.language == "auto" else args.language

    def emit(obj, plain):
        print(json.dumps(obj, ensure_ascii=False) if args.json else plain, flush=True)

    t0 = time.perf_counter()
    model = WhisperModel(
        args.model,
        device="cpu",
        compute_type=args.compute_type,
        cpu_threads=args.threads,
        num_workers=1,
        local_files_only=True,
    )
    load = time.perf_counter() - t0
    emit({"kind": "load", "model": args.model, "seconds": round(load, 4)}, f"fw-load {args.model} {load:.4f}")

    status = 0
    for path in args.files:
        try:
            transcribe(model, path, language, args.beam)  # warm-up
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                text, info = transcribe(model, path, language, args.beam)
                times.append(time.perf_counter() - t0)
        except Exception as e:  # report and go on with the other files
            print(f"faster_whisper.py: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        med = statistics.median(times)
        emit(
            {
                "kind": "file",
                "file": path,
                "seconds": round(med, 4),
                "runs": [round(t, 4) for t in times],
                "text": text,
                "language": info.language,
                "audio_seconds": round(info.duration, 3),
            },
            f"fw {path} {med:.4f} {text}",
        )
    sys.exit(status)


if __name__ == "__main__":
    main()
