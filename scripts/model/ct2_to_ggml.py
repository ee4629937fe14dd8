#!/usr/bin/env python3
"""Convert a Whisper model in CTranslate2 format to a whisper.cpp ggml file (f16 or Q8_0).

Usage:
    ct2_to_ggml.py CT2_DIR OUT.bin [--type f16|q8_0]

CT2_DIR holds model.bin (CTranslate2 binary version 6, as written by ctranslate2's
specs/model_spec.py) and vocabulary.txt (one byte-level BPE token per line). Only numpy is
needed; the output is deterministic (same input, same bytes).

CTranslate2 model.bin (little endian):
    u32 version, str spec name, u32 revision, u32 n_variables,
    n_variables x (str name, u8 rank, rank x u32 dim, u8 dtype, u32 n_bytes, data),
    u32 n_aliases, n_aliases x (str alias, str target)
    where str = u16 length including a trailing NUL, then the UTF-8 bytes and the NUL, and
    dtype 0..5 = float32, int8, int16, int32, float16, bfloat16. Variables are sorted by name.

ggml file, as read by whisper.cpp's whisper_model_load (all i32 little endian):
    magic 0x67676d6c; n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
    n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype
    (ftype 1 = mostly f16; 7 = mostly Q8_0, stored as 7 + 1000 * GGML_QNT_VERSION(2) = 2007);
    mel filters: n_mel, n_fft, n_mel * n_fft f32;
    vocabulary: count, then (len, bytes) per token: the BPE tokens before <|endoftext|>, byte
    decoded; whisper.cpp adds the special, language and timestamp tokens itself;
    tensors until EOF: n_dims, name length, ttype (0 f32, 1 f16, 8 Q8_0), dims innermost first,
    name, data. Q8_0 rows are cut into blocks of 32 values, each stored as an f16 scale
    d = max|x| / 127 followed by 32 int8 round(x / d) (34 bytes), as ggml's
    quantize_row_q8_0_ref does. 2-D weights are f16 (or Q8_0), 1-D tensors, conv biases
    ([n, 1]) and positional embeddings f32, conv kernels f16 in both variants.
"""

import argparse
import json
import os
import struct
import sys

import numpy as np

CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
GGML_MAGIC = 0x67676D6C
GGML_QNT_VERSION = 2
GGML_QNT_VERSION_FACTOR = 1000
TTYPE_F32, TTYPE_F16, TTYPE_Q8_0 = 0, 1, 8
FTYPE_F16, FTYPE_Q8_0 = 1, 7
QK8_0 = 32


def read_ct2(path):
    """Variables of a CTranslate2 model.bin as {name: ndarray}, aliases resolved."""
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals[0] if len(vals) == 1 else vals

    def string():
        nonlocal pos
        n = take("H")
        s = buf[pos : pos + n - 1].decode("utf-8")
        pos += n
        return s

    version = take("I")
    if version != 6:
        sys.exit(f"{path}: CTranslate2 binary version {version}, only 6 is supported")
    spec = string()
    if spec != "WhisperSpec":
        sys.exit(f"{path}: spec {spec!r}, expected WhisperSpec")
    take("I")  # spec revision
    variables = {}
    for _ in range(take("I")):
        name = string()
        rank = take("B")
        shape = [take("I") for _ in range(rank)]
        dtype = take("B")
        nbytes = take("I")
        if dtype not in CT2_DTYPES:
            sys.exit(f"{path}: variable {name} has unsupported dtype id {dtype}")
        arr = np.frombuffer(buf, dtype=CT2_DTYPES[dtype], count=nbytes // np.dtype(CT2_DTYPES[dtype]).itemsize, offset=pos)
        pos += nbytes
        variables[name] = arr.reshape(shape)
    for _ in range(take("I")):
        alias = string()
        variables[alias] = variables[string()]
    if pos != len(buf):
        sys.exit(f"{path}: {len(buf) - pos} trailing bytes")
    return variables


def mel_filters(sr=16000, n_fft=400, n_mels=80):
    """librosa.filters.mel(sr, n_fft, n_mels) (slaney scale and norm, float32), step for step."""
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0

    def hz_to_mel(hz):
        return min_log_mel + np.log(hz / min_log_hz) / logstep if hz >= min_log_hz else hz / f_sp

    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2)
    mel_f = f_sp * mels
    log_t = mels >= min_log_mel
    mel_f[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))

    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def bytes_to_unicode():
    """GPT-2's byte <-> printable unicode table used by the BPE vocabulary."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def read_vocabulary(path):
    with open(path, encoding="utf-8") as f:
        tokens = f.read().split("\n")
    if tokens and tokens[-1] == "":
        tokens.pop()
    eot = tokens.index("<|endoftext|>")
    decoder = {c: b for b, c in bytes_to_unicode().items()}
    return [bytes(decoder[c] for c in tok) for tok in tokens[: eot + 1]]


def ggml_tensors(v, n_audio_layer, n_text_layer):
    """(ggml name, array) in whisper.cpp's order: encoder, its blocks, decoder, its blocks."""
    d = v["encoder/conv1/weight"].shape[0]
    out = []

    def add(name, arr):
        out.append((name, arr))

    def ln(prefix, scope):
        add(prefix + ".weight", v[scope + "/gamma"])
        add(prefix + ".bias", v[scope + "/beta"])

    def lin(prefix, scope):
        add(prefix + ".weight", v[scope + "/weight"])
        add(prefix + ".bias", v[scope + "/bias"])

    def self_attn(prefix, scope):
        w, b = v[scope + "/linear_0/weight"], v[scope + "/linear_0/bias"]
        add(prefix + ".query.weight", w[:d])
        add(prefix + ".query.bias", b[:d])
        add(prefix + ".key.weight", w[d : 2 * d])
        add(prefix + ".value.weight", w[2 * d :])
        add(prefix + ".value.bias", b[2 * d :])
        lin(prefix + ".out", scope + "/linear_1")
        ln(prefix + "_ln", scope + "/layer_norm")

    def cross_attn(prefix, scope):
        lin(prefix + ".query", scope + "/linear_0")
        w, b = v[scope + "/linear_1/weight"], v[scope + "/linear_1/bias"]
        add(prefix + ".key.weight", w[:d])
        add(prefix + ".value.weight", w[d:])
        add(prefix + ".value.bias", b[d:])
        lin(prefix + ".out", scope + "/linear_2")
        ln(prefix + "_ln", scope + "/layer_norm")

    def mlp(prefix, scope):
        lin(prefix + ".mlp.0", scope + "/linear_0")
        lin(prefix + ".mlp.2", scope + "/linear_1")
        ln(prefix + ".mlp_ln", scope + "/layer_norm")

    add("encoder.positional_embedding", v["encoder/position_encodings/encodings"])
    add("encoder.conv1.weight", v["encoder/conv1/weight"])
    add("encoder.conv1.bias", v["encoder/conv1/bias"].reshape(-1, 1))
    add("encoder.conv2.weight", v["encoder/conv2/weight"])
    add("encoder.conv2.bias", v["encoder/conv2/bias"].reshape(-1, 1))
    for i in range(n_audio_layer):
        p, s = f"encoder.blocks.{i}", f"encoder/layer_{i}"
        self_attn(p + ".attn", s + "/self_attention")
        mlp(p, s + "/ffn")
    ln("encoder.ln_post", "encoder/layer_norm")
    add("decoder.positional_embedding", v["decoder/position_encodings/encodings"])
    add("decoder.token_embedding.weight", v["decoder/embeddings/weight"])
    for i in range(n_text_layer):
        p, s = f"decoder.blocks.{i}", f"decoder/layer_{i}"
        self_attn(p + ".attn", s + "/self_attention")
        cross_attn(p + ".cross_attn", s + "/attention")
        mlp(p, s + "/ffn")
    ln("decoder.ln", "decoder/layer_norm")
    return out


def quantize_q8_0(x):
    """ggml's quantize_row_q8_0_ref over the rows of a 2-D float32 array, as bytes."""
    blocks = x.astype(np.float32).reshape(-1, QK8_0)
    amax = np.max(np.abs(blocks), axis=1)
    d = amax / np.float32(127)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    scaled = blocks * inv[:, None]
    mag = np.abs(scaled)
    rounded = np.floor(mag)
    rounded += (mag - rounded) >= np.float32(0.5)  # C roundf: halves away from zero, no f32 carry
    q = (np.sign(scaled) * rounded).astype(np.int8)
    out = np.empty(len(blocks), dtype=[("d", "<f2"), ("qs", "i1", (QK8_0,))])
    out["d"] = d.astype(np.float16)
    out["qs"] = q
    return out.tobytes()


def convert(ct2_dir, out_path, qtype):
    v = read_ct2(os.path.join(ct2_dir, "model.bin"))
    tokens = read_vocabulary(os.path.join(ct2_dir, "vocabulary.txt"))

    n_vocab, n_text_state = v["decoder/embeddings/weight"].shape
    n_audio_state, n_mels, _ = v["encoder/conv1/weight"].shape
    n_audio_ctx = v["encoder/position_encodings/encodings"].shape[0]
    n_text_ctx = v["decoder/position_encodings/encodings"].shape[0]
    n_audio_layer = sum(1 for k in v if k.startswith("encoder/layer_") and k.endswith("/ffn/linear_0/weight"))
    n_text_layer = sum(1 for k in v if k.startswith("decoder/layer_") and k.endswith("/ffn/linear_0/weight"))
    n_audio_head = int(v["encoder/num_heads"])
    n_text_head = int(v["decoder/num_heads"])
    ftype = FTYPE_F16 if qtype == "f16" else FTYPE_Q8_0 + GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR
    filters = mel_filters(n_mels=n_mels)

    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<i", GGML_MAGIC))
        f.write(struct.pack("<11i", n_vocab, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer,
                            n_text_ctx, n_text_state, n_text_head, n_text_layer, n_mels, ftype))
        f.write(struct.pack("<2i", *filters.shape))
        f.write(filters.astype("<f4").tobytes())
        f.write(struct.pack("<i", len(tokens)))
        for tok in tokens:
            f.write(struct.pack("<i", len(tok)))
            f.write(tok)
        for name, arr in ggml_tensors(v, n_audio_layer, n_text_layer):
            arr = np.asarray(arr)
            keep_f32 = arr.ndim < 2 or name.endswith("positional_embedding") or name.endswith(".bias")
            if keep_f32:
                ttype, data = TTYPE_F32, arr.astype("<f4").tobytes()
            elif qtype == "q8_0" and arr.ndim == 2:
                if arr.shape[1] % QK8_0:
                    sys.exit(f"{name}: row length {arr.shape[1]} is not a multiple of {QK8_0}")
                ttype, data = TTYPE_Q8_0, quantize_q8_0(arr)
            else:
                ttype, data = TTYPE_F16, arr.astype("<f2").tobytes()
            bname = name.encode("utf-8")
            f.write(struct.pack("<3i", arr.ndim, len(bname), ttype))
            f.write(struct.pack(f"<{arr.ndim}i", *reversed(arr.shape)))
            f.write(bname)
            f.write(data)
    os.replace(tmp, out_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ct2_dir")
    ap.add_argument("out")
    ap.add_argument("--type", choices=("f16", "q8_0"), default="f16")
    args = ap.parse_args()
    convert(args.ct2_dir, args.out, args.type)


if __name__ == "__main__":
    main()
