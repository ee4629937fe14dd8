//! Voice notes (OGG/Opus, WAV) as the transcriber decodes them, then the energy measures run on
//! the result. Inputs are capped (64 KiB, 20 s of audio) so each run stays fast.
//!
//! Each input is decoded three ways, because raw mutation rarely gets past two checks:
//! - as is;
//! - OGG with every page's CRC recomputed (the demuxer rejects a mutated page on its checksum,
//!   so without this the fuzzer never reaches the Opus packets behind it);
//! - as the fields of a WAV header (rate, channels, bits, format) plus sample bytes, built into a
//!   well-formed file (the reader rejects a header whose byte rate disagrees with its rate).
#![no_main]

use b24wa::transcribe::audio::{self, Decoded};
use libfuzzer_sys::fuzz_target;

const MAX_INPUT: usize = 64 * 1024;
const MAX_SECONDS: f32 = 20.0;

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    check(data);
    if data.starts_with(b"OggS") {
        check(&with_ogg_crcs(data));
    } else if let Some(wav) = wav_from_fields(data) {
        check(&wav);
    }
});

fn check(bytes: &[u8]) {
    let _ = audio::probe_seconds(bytes);
    let Ok(Decoded::Audio(pcm)) = audio::decode_voice_limited(bytes, MAX_SECONDS) else {
        return;
    };
    // The limit is a promise to the caller (whisper's cost grows with the length).
    assert!(
        pcm.seconds <= MAX_SECONDS + 0.1,
        "{} s decoded",
        pcm.seconds
    );
    let _ = audio::is_silent(&pcm.samples, audio::SILENCE_RMS);
    let range = audio::voiced_range(&pcm.samples, audio::SILENCE_RMS, 0.2);
    assert!(range.start <= range.end && range.end <= pcm.samples.len());
    for cut in audio::split_points(&pcm.samples, 3, 1.5) {
        assert!(cut <= pcm.samples.len());
    }
}

/// The input with the CRC of each OGG page it can walk recomputed.
fn with_ogg_crcs(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut pos = 0;
    while let Some(h) = out.get(pos..pos + 27) {
        if &h[0..4] != b"OggS" {
            break;
        }
        let n = usize::from(h[26]);
        let Some(table) = out.get(pos + 27..pos + 27 + n) else {
            break;
        };
        let end = pos + 27 + n + table.iter().map(|&b| usize::from(b)).sum::<usize>();
        if end > out.len() {
            break;
        }
        out[pos + 22..pos + 26].fill(0);
        let crc = ogg_crc(&out[pos..end]);
        out[pos + 22..pos + 26].copy_from_slice(&crc.to_le_bytes());
        pos = end;
    }
    out
}

fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// `rate: u32 LE, channels: u8, bits: u8, float: u8` then the sample bytes, as a consistent
/// PCM (format 1) or IEEE float (format 3) WAV file.
fn wav_from_fields(data: &[u8]) -> Option<Vec<u8>> {
    let (head, samples) = data.split_at_checked(7)?;
    let rate = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let channels = u16::from(head[4] % 4);
    let bits = u16::from(head[5] % 33);
    let format: u16 = if head[6] & 1 == 1 { 3 } else { 1 };
    let block_align = channels * bits.div_ceil(8);
    let byte_rate = rate.checked_mul(u32::from(block_align))?;
    let mut fmt = Vec::with_capacity(16);
    fmt.extend_from_slice(&format.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&byte_rate.to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    let mut body = b"WAVEfmt ".to_vec();
    body.extend_from_slice(&16u32.to_le_bytes());
    body.extend_from_slice(&fmt);
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    body.extend_from_slice(samples);
    let mut wav = b"RIFF".to_vec();
    wav.extend_from_slice(&(body.len() as u32).to_le_bytes());
    wav.extend_from_slice(&body);
    Some(wav)
}
