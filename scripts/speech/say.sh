#!/usr/bin/env bash
# Test speech as a WhatsApp voice note: OGG/Opus, mono, 16 kHz input rate, 24 kbit/s.
#
#   say.sh [--wav] [--bitrate KBPS] en "<text>" OUT.ogg [PAD_TO_SECONDS]
#   say.sh [--wav] [--bitrate KBPS] ru "<text>" OUT.ogg [PAD_TO_SECONDS]
#   say.sh [--wav] silence SECONDS OUT.ogg
#   say.sh [--bitrate KBPS] lines en|ru TEXT_FILE OUT_DIR
#
# en: espeak-ng (voice en-us). ru: festival's Russian voice
#     (text2wave -eval '(voice_msu_ru_nsh_clunits)'); the text is handed to it in UTF-8, which is
#     what Debian's festvox-ru reads (KOI8-R input gives an empty WAV). espeak-ng's Russian is too
#     robotic for Whisper.
# PAD_TO_SECONDS: append silence so the note lasts at least that long (e.g. 45 for a long note);
#     a longer utterance is left as it is.
# silence: a note of SECONDS of digital silence.
# --wav: also keep the 16 kHz mono 16-bit WAV that was encoded, as OUT.wav (OUT.ogg's name with .wav).
# --bitrate: Opus bit rate in kbit/s (24 by default; WhatsApp's own notes are about 16).
# lines: one note per non-empty line of TEXT_FILE (UTF-8), OUT_DIR/01.ogg, 02.ogg, … in order;
#     a note whose .ogg exists with a .txt beside it holding the same line and bit rate is kept.
#
# Needs espeak-ng, festival + festvox-ru, sox and opus-tools (opusenc). Output is deterministic:
# the Ogg serial number is fixed. Prints "OUT.ogg <seconds>" on success.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

keep_wav=0
bitrate=24
while [ $# -gt 0 ]; do
  case "$1" in
    --wav) keep_wav=1; shift ;;
    --bitrate) bitrate=${2:-}; shift 2 || usage ;;
    *) break ;;
  esac
done
case "$bitrate" in '' | *[!0-9]*) usage ;; esac
[ $# -ge 3 ] || usage
kind=$1

if [ "$kind" = lines ]; then
  [ $# -eq 4 ] || usage
  lang=$2; file=$3; dir=$4
  case "$lang" in en | ru) ;; *) usage ;; esac
  [ -r "$file" ] || { echo "say.sh: cannot read $file" >&2; exit 1; }
  mkdir -p "$dir"
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    [ -n "${line//[[:space:]]/}" ] || continue
    n=$((n + 1))
    out=$(printf '%s/%02d.ogg' "$dir" "$n")
    stamp="$bitrate $line"
    if [ -s "$out" ] && [ "$(cat "${out%.ogg}.txt" 2>/dev/null)" = "$stamp" ]; then
      echo "$out $(opusinfo "$out" 2>/dev/null | sed -n 's/.*Playback length: \([0-9]*\)m:\([0-9.]*\)s.*/\1 \2/p' | awk '{ print $1 * 60 + $2 }')"
      continue
    fi
    "$0" --bitrate "$bitrate" "$lang" "$line" "$out"
    printf '%s' "$stamp" >"${out%.ogg}.txt"
  done <"$file"
  exit 0
fi

for tool in sox opusenc; do
  command -v "$tool" >/dev/null || { echo "say.sh: $tool not found (apt-get install sox opus-tools)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$tmp/raw.wav
wav=$tmp/note.wav

case "$kind" in
  en)
    text=$2; out=$3; pad=${4:-0}
    command -v espeak-ng >/dev/null || { echo "say.sh: espeak-ng not found (apt-get install espeak-ng)" >&2; exit 1; }
    espeak-ng -v en-us -s 150 -w "$raw" -- "$text"
    ;;
  ru)
    text=$2; out=$3; pad=${4:-0}
    command -v text2wave >/dev/null || { echo "say.sh: text2wave not found (apt-get install festival festvox-ru)" >&2; exit 1; }
    printf '%s\n' "$text" >"$tmp/text.txt"   # UTF-8, as the shell hands it over
    text2wave -eval '(voice_msu_ru_nsh_clunits)' "$tmp/text.txt" -o "$raw" 2>"$tmp/festival.err" || true
    if [ ! -s "$raw" ] || grep -q "no rule matches" "$tmp/festival.err"; then
      cat "$tmp/festival.err" >&2
      echo "say.sh: festival produced no Russian speech (is festvox-ru installed, is the text UTF-8?)" >&2
      exit 1
    fi
    ;;
  silence)
    secs=$2; out=$3; pad=0
    sox -D -n -r 16000 -c 1 -b 16 "$raw" trim 0 "$secs"
    ;;
  *) usage ;;
esac

# 16 kHz mono 16-bit, then pad with trailing silence up to PAD_TO_SECONDS.
sox -D "$raw" -r 16000 -c 1 -b 16 "$wav" rate 16k
have=$(soxi -s "$wav")
extra=$(awk -v p="$pad" -v n="$have" 'BEGIN { x = int(p * 16000 + 0.5) - n; print (x > 0 ? x : 0) }')
if [ "$extra" -gt 0 ]; then
  sox -D "$wav" "$tmp/padded.wav" pad 0 "${extra}s"
  mv "$tmp/padded.wav" "$wav"
fi

mkdir -p "$(dirname "$out")"
opusenc --quiet --bitrate "$bitrate" --serial 1 "$wav" "$out"
if [ "$keep_wav" = 1 ]; then cp "$wav" "${out%.ogg}.wav"; fi
echo "$out $(soxi -D "$wav")"
