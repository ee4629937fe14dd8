//! Decoding tests over OGG/Opus notes built here page by page (and WAV), including broken ones.
use super::*;

/// Builds one OGG page (CRC included) holding whole packets.
fn page(serial: u32, seq: u32, granule: i64, flags: u8, packets: &[&[u8]]) -> Vec<u8> {
    let mut table = Vec::new();
    let mut body = Vec::new();
    for p in packets {
        let mut n = p.len();
        while n >= 255 {
            table.push(255u8);
            n -= 255;
        }
        table.push(n as u8);
        body.extend_from_slice(p);
    }
    let mut h = Vec::new();
    h.extend_from_slice(b"OggS");
    h.push(0);
    h.push(flags);
    h.extend_from_slice(&granule.to_le_bytes());
    h.extend_from_slice(&serial.to_le_bytes());
    h.extend_from_slice(&seq.to_le_bytes());
    h.extend_from_slice(&[0, 0, 0, 0]);
    h.push(table.len() as u8);
    h.extend_from_slice(&table);
    h.extend_from_slice(&body);
    let crc = crc32(&h);
    h[22..26].copy_from_slice(&crc.to_le_bytes());
    h
}

fn crc32(data: &[u8]) -> u32 {
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

fn opus_head(pre_skip: u16) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1);
    h.push(1);
    h.extend_from_slice(&pre_skip.to_le_bytes());
    h.extend_from_slice(&16_000u32.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes());
    h.push(0);
    h
}

/// A real OGG/Opus note: `seconds` of a tone (or silence), encoded with libopus.
fn make_note(seconds: f32, tone: bool) -> Vec<u8> {
    make_note_claiming(seconds, tone, None)
}

/// As `make_note`, with the last page's granule position replaced (a lying header).
fn make_note_claiming(seconds: f32, tone: bool, last_granule: Option<i64>) -> Vec<u8> {
    let mut enc =
        opus::Encoder::new(16_000, opus::Channels::Mono, opus::Application::Voip).expect("encoder");
    let pre_skip = 312u16;
    let serial = 0x1234;
    let mut out = page(serial, 0, 0, 0x02, &[&opus_head(pre_skip)]);
    out.extend(page(serial, 1, 0, 0, &[b"OpusTags\0\0\0\0\0\0\0\0"]));
    let frame = 320; // 20 ms at 16 kHz
    let total = (seconds * 16_000.0) as usize;
    let mut seq = 2;
    let mut granule: i64 = i64::from(pre_skip);
    let mut i = 0;
    let mut pending: Vec<Vec<u8>> = Vec::new();
    while i < total {
        let pcm: Vec<f32> = (0..frame)
            .map(|k| {
                if tone {
                    0.3 * ((i + k) as f32 * 2.0 * std::f32::consts::PI * 440.0 / 16_000.0).sin()
                } else {
                    0.0
                }
            })
            .collect();
        pending.push(enc.encode_vec_float(&pcm, 4000).expect("encode"));
        granule += (frame * 3) as i64;
        i += frame;
        let last = i >= total;
        if pending.len() == 50 || last {
            let refs: Vec<&[u8]> = pending.iter().map(|p| p.as_slice()).collect();
            let flags = if last { 0x04 } else { 0 };
            let g = match last_granule {
                Some(claim) if last => claim,
                _ => granule,
            };
            out.extend(page(serial, seq, g, flags, &refs));
            seq += 1;
            pending.clear();
        }
    }
    out
}

#[test]
fn empty_input_is_an_error() {
    assert_eq!(decode_voice(&[]), Err(AudioError::Empty));
}

#[test]
fn garbage_is_an_error() {
    let mut x: u32 = 0x9e37_79b9;
    for len in [1usize, 3, 4, 27, 100, 4096, 65_536] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        assert!(decode_voice(&bytes).is_err(), "random {len} bytes");
        // Random bytes behind a valid capture pattern and behind a RIFF header.
        let mut ogg = b"OggS".to_vec();
        ogg.extend_from_slice(&bytes);
        assert!(decode_voice(&ogg).is_err(), "OggS + random {len} bytes");
        let mut wav = b"RIFF\x10\0\0\0WAVE".to_vec();
        wav.extend_from_slice(&bytes);
        assert!(decode_voice(&wav).is_err(), "RIFF + random {len} bytes");
    }
}

#[test]
fn ogg_without_opus_is_rejected() {
    let bytes = page(1, 0, 0, 0x02, &[b"\x01vorbis\0\0\0\0\x01\x44\xac\0\0"]);
    assert_eq!(decode_voice(&bytes), Err(AudioError::NotOpus));
}

#[test]
fn decodes_a_note_to_16k_mono() {
    let note = make_note(2.0, true);
    let pcm = decode_voice(&note).expect("decodes");
    assert!((pcm.seconds - 2.0).abs() < 0.05, "{} s", pcm.seconds);
    assert_eq!(pcm.samples.len(), (pcm.seconds * 16_000.0).round() as usize);
    assert!(!is_silent(&pcm.samples, SILENCE_RMS));
}

#[test]
fn duration_is_read_without_decoding() {
    let note = make_note(3.0, false);
    let s = probe_seconds(&note).expect("probe").expect("has a length");
    assert!((s - 3.0).abs() < 0.05, "{s}");
    // Over the limit: reported as too long, nothing decoded.
    match decode_voice_limited(&note, 2.0).expect("decodes") {
        Decoded::TooLong { seconds } => assert!((seconds - 3.0).abs() < 0.05),
        other => panic!("expected TooLong, got {other:?}"),
    }
}

#[test]
fn an_understated_length_is_caught_while_decoding() {
    // The last page claims 0.1 s; the decoder still stops once it passes the limit.
    let note = make_note_claiming(5.0, true, Some(312 + 4_800));
    let probed = probe_seconds(&note).expect("probe").expect("has a length");
    assert!(probed < 0.2, "{probed}");
    match decode_voice_limited(&note, 2.0).expect("decodes") {
        Decoded::TooLong { seconds } => assert!(seconds > 2.0, "{seconds}"),
        other => panic!("expected TooLong, got {other:?}"),
    }
}

#[test]
fn notes_are_cut_in_pauses() {
    // Three 3 s tones separated by 0.4 s pauses, starting at 0, 3.4 and 6.8 s.
    let mut samples = Vec::new();
    for part in 0..3 {
        if part > 0 {
            samples.extend(std::iter::repeat_n(0.0f32, 6_400));
        }
        samples.extend(
            (0..48_000).map(|i| 0.3 * (i as f32 * 2.0 * std::f32::consts::PI / 40.0).sin()),
        );
    }
    let cuts = split_points(&samples, 3, 1.5);
    assert_eq!(cuts.len(), 2, "{cuts:?}");
    for (cut, pause) in cuts.iter().zip([48_000usize, 102_400]) {
        assert!(
            (pause..pause + 6_400).contains(cut),
            "cut at {cut} not in the pause at {pause}"
        );
    }
    assert!(split_points(&samples, 1, 1.5).is_empty());
}

#[test]
fn silence_is_detected() {
    let note = make_note(2.0, false);
    let pcm = decode_voice(&note).expect("decodes");
    assert!(is_silent(&pcm.samples, SILENCE_RMS));
    assert_eq!(voiced_range(&pcm.samples, SILENCE_RMS, 0.2), 0..0);
}

#[test]
fn truncated_notes_are_errors() {
    let note = make_note(2.0, true);
    for cut in [
        1,
        10,
        27,
        40,
        note.len() / 3,
        note.len() / 2,
        note.len() - 1,
    ] {
        let r = decode_voice(&note[..cut]);
        assert!(r.is_err(), "cut at {cut} of {}: {r:?}", note.len());
    }
}

#[test]
fn corrupt_pages_are_errors() {
    let mut note = make_note(2.0, true);
    let mid = note.len() / 2;
    for b in &mut note[mid..mid + 16] {
        *b ^= 0x5a;
    }
    assert!(decode_voice(&note).is_err());
}

/// Fuzzing (`make fuzz`, target audio_decode): a 104-byte WAV claiming 822 MHz made the
/// resampler build a filter table of gigabytes (out of memory).
#[test]
fn fuzz_wav_with_an_absurd_sample_rate_is_unsupported() {
    let path = format!(
        "{}/tests/fixtures/fuzz/audio_decode/wav-rate-822mhz.wav",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        decode_voice(&bytes),
        Err(AudioError::Unsupported("WAV at 822214655 Hz".into()))
    );
    // The resampler itself stays cheap at such a ratio (no table of up × taps entries).
    let started = std::time::Instant::now();
    assert!(resample(&[0.1; 64], 4_000_000_004, 16_000).is_empty());
    assert!(resample(&[0.1; 64], 822_214_655, 16_000).is_empty());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn wav_is_accepted_and_resampled() {
    let mut buf = Cursor::new(Vec::new());
    {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 22_050,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::new(&mut buf, spec).expect("writer");
        for i in 0..22_050 {
            let v = (0.3
                * (i as f32 * 2.0 * std::f32::consts::PI * 300.0 / 22_050.0).sin()
                * 32_767.0) as i16;
            w.write_sample(v).expect("write");
            w.write_sample(v).expect("write");
        }
        w.finalize().expect("finalize");
    }
    let bytes = buf.into_inner();
    let pcm = decode_voice(&bytes).expect("decodes");
    assert!((pcm.seconds - 1.0).abs() < 0.01, "{}", pcm.seconds);
    let rms = (pcm.samples.iter().map(|s| s * s).sum::<f32>() / pcm.samples.len() as f32).sqrt();
    assert!((rms - 0.3 / 2f32.sqrt()).abs() < 0.02, "rms {rms}");
    assert!(decode_voice(&bytes[..bytes.len() / 2]).is_err());
}
