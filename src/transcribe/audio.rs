//! Voice-note decoding: OGG/Opus (what WhatsApp sends) or WAV → 16 kHz mono `f32` PCM,
//! in-process (libopus through the `opus` crate, the `ogg` demuxer, `hound` for WAV).
//!
//! Every input is untrusted: garbage, empty and truncated files give `Err`, never a panic
//! (the whole decode also runs under `catch_unwind` as a last line of defence).
//! The length of an OGG note is read from the granule position of its last page before
//! anything is decoded, so a ten-minute note costs a scan of its tail, not a decode.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Whisper's input rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// Opus granule positions always count 48 kHz samples, whatever the input rate was.
const OPUS_GRANULE_RATE: f64 = 48_000.0;
/// The longest Opus packet (120 ms) at 16 kHz.
const MAX_PACKET_SAMPLES: usize = 1_920;
/// Frame used for the energy measures (20 ms at 16 kHz).
const FRAME: usize = 320;

/// Decoded audio: 16 kHz mono samples in [-1, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct Pcm {
    pub samples: Vec<f32>,
    pub seconds: f32,
}

impl Pcm {
    fn new(samples: Vec<f32>) -> Self {
        let seconds = samples.len() as f32 / SAMPLE_RATE as f32;
        Self { samples, seconds }
    }
}

/// The result of a length-limited decode.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Audio(Pcm),
    /// Longer than the limit; nothing (or only the part up to the limit) was decoded.
    TooLong {
        seconds: f32,
    },
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AudioError {
    #[error("the file is empty")]
    Empty,
    #[error("not a voice note (neither OGG nor WAV)")]
    UnknownFormat,
    #[error("the OGG stream does not carry Opus audio")]
    NotOpus,
    #[error("unsupported audio: {0}")]
    Unsupported(String),
    #[error("corrupt audio: {0}")]
    Corrupt(String),
    #[error("the file is truncated")]
    Truncated,
    #[error("the note holds no audio")]
    NoAudio,
}

/// Decodes a voice note (OGG/Opus or WAV) to 16 kHz mono, whatever its length.
pub fn decode_voice(bytes: &[u8]) -> Result<Pcm, AudioError> {
    match decode_voice_limited(bytes, f32::INFINITY)? {
        Decoded::Audio(pcm) => Ok(pcm),
        // Unreachable with an infinite limit; kept total rather than panicking.
        Decoded::TooLong { seconds } => Err(AudioError::Unsupported(format!(
            "{seconds:.1} s is too long"
        ))),
    }
}

/// Decodes a voice note unless it is longer than `max_seconds`. The length of an OGG note
/// is taken from its last page first; a note whose header understates its length is
/// stopped as soon as the decoded audio passes the limit.
pub fn decode_voice_limited(bytes: &[u8], max_seconds: f32) -> Result<Decoded, AudioError> {
    match catch_unwind(AssertUnwindSafe(|| decode_inner(bytes, max_seconds))) {
        Ok(result) => result,
        Err(_) => Err(AudioError::Corrupt("the decoder gave up".into())),
    }
}

/// The length of a note in seconds without decoding it (OGG: last granule position; WAV:
/// header). `Ok(None)` when the container does not say.
pub fn probe_seconds(bytes: &[u8]) -> Result<Option<f32>, AudioError> {
    match sniff(bytes)? {
        Container::Ogg => {
            let head = first_page_head(bytes)?;
            Ok(last_granule(bytes, head.serial).map(|g| head.seconds_at(g)))
        }
        Container::Wav => {
            let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(wav_error)?;
            let spec = reader.spec();
            if spec.sample_rate == 0 {
                return Err(AudioError::Corrupt("sample rate 0".into()));
            }
            Ok(Some(reader.duration() as f32 / spec.sample_rate as f32))
        }
    }
}

enum Container {
    Ogg,
    Wav,
}

fn sniff(bytes: &[u8]) -> Result<Container, AudioError> {
    if bytes.is_empty() {
        return Err(AudioError::Empty);
    }
    if bytes.starts_with(b"OggS") {
        Ok(Container::Ogg)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        Ok(Container::Wav)
    } else {
        Err(AudioError::UnknownFormat)
    }
}

fn decode_inner(bytes: &[u8], max_seconds: f32) -> Result<Decoded, AudioError> {
    match sniff(bytes)? {
        Container::Ogg => decode_ogg_opus(bytes, max_seconds),
        Container::Wav => decode_wav(bytes, max_seconds),
    }
}

// ---------------------------------------------------------------------------------------------
// OGG/Opus

/// What the `OpusHead` packet says (RFC 7845 §5.1).
#[derive(Debug, Clone, Copy)]
struct OpusHead {
    channels: u8,
    pre_skip: u16,
    gain_q8: i16,
    serial: u32,
}

impl OpusHead {
    fn parse(data: &[u8], serial: u32) -> Result<Self, AudioError> {
        if data.len() < 19 || &data[0..8] != b"OpusHead" {
            return Err(AudioError::NotOpus);
        }
        let version = data[8];
        if version >> 4 != 0 {
            return Err(AudioError::Unsupported(format!("Opus version {version}")));
        }
        let channels = data[9];
        let pre_skip = u16::from_le_bytes([data[10], data[11]]);
        let gain_q8 = i16::from_le_bytes([data[16], data[17]]);
        let mapping = data[18];
        if channels == 0 {
            return Err(AudioError::Corrupt("zero channels".into()));
        }
        // Family 0 is mono or stereo in one stream (what phones send); family 1 with one or
        // two channels is the same thing spelled out. More channels need a multistream decoder.
        if channels > 2 || mapping > 1 {
            return Err(AudioError::Unsupported(format!(
                "{channels} channels, mapping family {mapping}"
            )));
        }
        if mapping == 1 && (data.len() < 21 + channels as usize || data[19] != 1) {
            return Err(AudioError::Unsupported("multistream Opus".into()));
        }
        Ok(Self {
            channels,
            pre_skip,
            gain_q8,
            serial,
        })
    }

    /// Seconds of audio up to a granule position (48 kHz samples, pre-skip included).
    fn seconds_at(&self, granule: u64) -> f32 {
        (granule.saturating_sub(u64::from(self.pre_skip)) as f64 / OPUS_GRANULE_RATE) as f32
    }
}

/// Reads the `OpusHead` from the first page without the packet reader (used by the probe).
fn first_page_head(bytes: &[u8]) -> Result<OpusHead, AudioError> {
    let page = PageHeader::at(bytes, 0).ok_or(AudioError::Truncated)?;
    let body = bytes
        .get(page.body_start..page.body_start + page.body_len)
        .ok_or(AudioError::Truncated)?;
    OpusHead::parse(body, page.serial)
}

/// The fields of an OGG page header we need (RFC 3533 §6).
struct PageHeader {
    granule: u64,
    serial: u32,
    body_start: usize,
    body_len: usize,
    /// Granule −1: no packet ends on this page.
    no_granule: bool,
}

impl PageHeader {
    fn at(bytes: &[u8], pos: usize) -> Option<Self> {
        let h = bytes.get(pos..pos.checked_add(27)?)?;
        if &h[0..4] != b"OggS" || h[4] != 0 {
            return None;
        }
        let mut g = [0u8; 8];
        g.copy_from_slice(&h[6..14]);
        let granule_raw = i64::from_le_bytes(g);
        let serial = u32::from_le_bytes([h[14], h[15], h[16], h[17]]);
        let n_segments = usize::from(h[26]);
        let table = bytes.get(pos + 27..pos + 27 + n_segments)?;
        let body_len = table.iter().map(|&b| usize::from(b)).sum();
        Some(Self {
            granule: granule_raw.max(0) as u64,
            serial,
            body_start: pos + 27 + n_segments,
            body_len,
            no_granule: granule_raw == -1,
        })
    }
}

/// The granule position of the last complete page of `serial`, found by scanning back from
/// the end of the file for a capture pattern.
fn last_granule(bytes: &[u8], serial: u32) -> Option<u64> {
    let mut end = bytes.len();
    // A page is at most 65 307 bytes; the last few pages are all we look at.
    let floor = bytes.len().saturating_sub(4 * 65_536);
    while end > floor {
        let window = &bytes[floor..end];
        let pos = floor + window.windows(4).rposition(|w| w == b"OggS")?;
        if let Some(page) = PageHeader::at(bytes, pos) {
            let complete = page.body_start + page.body_len <= bytes.len();
            if complete && page.serial == serial && !page.no_granule {
                return Some(page.granule);
            }
        }
        end = pos;
    }
    None
}

fn ogg_error(e: ogg::OggReadError) -> AudioError {
    match e {
        ogg::OggReadError::ReadError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::Truncated
        }
        ogg::OggReadError::HashMismatch(..) => AudioError::Corrupt("OGG checksum mismatch".into()),
        other => AudioError::Corrupt(format!("OGG: {other}")),
    }
}

fn decode_ogg_opus(bytes: &[u8], max_seconds: f32) -> Result<Decoded, AudioError> {
    // The header first: is it Opus at all, and how long does it say it is?
    let head = first_page_head(bytes)?;
    let end_granule = last_granule(bytes, head.serial);
    if let Some(g) = end_granule {
        let seconds = head.seconds_at(g);
        if seconds > max_seconds {
            return Ok(Decoded::TooLong { seconds });
        }
    }

    let mut reader = ogg::PacketReader::new(Cursor::new(bytes));
    let mut packets = 0usize;
    let mut saw_end = false;
    let mut decoder = opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)
        .map_err(|e| AudioError::Corrupt(format!("Opus decoder: {e}")))?;
    let mut out: Vec<f32> = Vec::new();
    let mut buf = vec![0f32; MAX_PACKET_SAMPLES];
    let limit_samples = if max_seconds.is_finite() {
        // A little slack: packet boundaries and pre-skip.
        ((max_seconds + 1.0) * SAMPLE_RATE as f32) as usize
    } else {
        usize::MAX
    };
    let mut last_granule_seen = 0u64;

    loop {
        let packet = match reader.read_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => return Err(ogg_error(e)),
        };
        if packet.stream_serial() != head.serial {
            // Another logical stream multiplexed in (not something phones send): ignore it.
            continue;
        }
        packets += 1;
        match packets {
            1 => {
                // OpusHead, already parsed from the raw page.
                continue;
            }
            2 => {
                if !packet.data.starts_with(b"OpusTags") {
                    return Err(AudioError::Corrupt("missing OpusTags".into()));
                }
                continue;
            }
            _ => {}
        }
        if packet.last_in_page() {
            last_granule_seen = packet.absgp_page();
        }
        if packet.data.is_empty() {
            // A zero-length packet is a lost frame: let the decoder conceal it.
            let n = decoder
                .decode_float(&[], &mut buf, false)
                .map_err(|e| AudioError::Corrupt(format!("Opus: {e}")))?;
            out.extend_from_slice(&buf[..n.min(buf.len())]);
        } else {
            let n = decoder
                .decode_float(&packet.data, &mut buf, false)
                .map_err(|e| AudioError::Corrupt(format!("Opus: {e}")))?;
            out.extend_from_slice(&buf[..n.min(buf.len())]);
        }
        if packet.last_in_stream() {
            saw_end = true;
            break;
        }
        if out.len() > limit_samples {
            // The header understated the length; stop decoding here.
            let seconds = head.seconds_at(
                end_granule
                    .unwrap_or(0)
                    .max(last_granule_seen)
                    .max((out.len() as u64) * 3),
            );
            return Ok(Decoded::TooLong {
                seconds: seconds.max(out.len() as f32 / SAMPLE_RATE as f32),
            });
        }
    }
    if packets < 2 {
        return Err(AudioError::Truncated);
    }
    if !saw_end {
        // Phones close the stream with an end-of-stream page; without it the file was cut.
        return Err(AudioError::Truncated);
    }

    // Pre-skip (48 kHz samples) at the start; the final granule trims padding at the end.
    let skip = usize::from(head.pre_skip) / 3;
    let total = if last_granule_seen > 0 {
        (last_granule_seen.saturating_sub(u64::from(head.pre_skip)) / 3) as usize
    } else {
        out.len().saturating_sub(skip)
    };
    let start = skip.min(out.len());
    let end = (start + total).min(out.len());
    let mut samples = out[start..end].to_vec();
    if samples.is_empty() {
        return Err(AudioError::NoAudio);
    }
    if head.gain_q8 != 0 {
        let gain = 10f32.powf(f32::from(head.gain_q8) / (20.0 * 256.0));
        samples
            .iter_mut()
            .for_each(|s| *s = (*s * gain).clamp(-1.0, 1.0));
    }
    // `channels` only matters to the decoder, which downmixes stereo to mono for us.
    let _ = head.channels;
    let pcm = Pcm::new(samples);
    if pcm.seconds > max_seconds {
        return Ok(Decoded::TooLong {
            seconds: pcm.seconds,
        });
    }
    Ok(Decoded::Audio(pcm))
}

// ---------------------------------------------------------------------------------------------
// WAV

/// Sample rates a WAV note may have (telephone 8 kHz up to studio 384 kHz, with room below).
const WAV_RATES: std::ops::RangeInclusive<u32> = 1_000..=384_000;

fn wav_error(e: hound::Error) -> AudioError {
    match e {
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            AudioError::Truncated
        }
        hound::Error::IoError(io) => AudioError::Corrupt(format!("WAV: {io}")),
        hound::Error::Unsupported => AudioError::Unsupported("WAV encoding".into()),
        other => AudioError::Corrupt(format!("WAV: {other}")),
    }
}

fn decode_wav(bytes: &[u8], max_seconds: f32) -> Result<Decoded, AudioError> {
    let mut reader = hound::WavReader::new(Cursor::new(bytes)).map_err(wav_error)?;
    let spec = reader.spec();
    if spec.sample_rate == 0 || spec.channels == 0 {
        return Err(AudioError::Corrupt("WAV header".into()));
    }
    // The resampler's cost grows with the input rate: a header claiming hundreds of MHz asked
    // for gigabytes of filter taps (found by fuzzing). No recording uses a rate outside this.
    if !WAV_RATES.contains(&spec.sample_rate) {
        return Err(AudioError::Unsupported(format!(
            "WAV at {} Hz",
            spec.sample_rate
        )));
    }
    let frames = reader.duration();
    let seconds = frames as f32 / spec.sample_rate as f32;
    if seconds > max_seconds {
        return Ok(Decoded::TooLong { seconds });
    }
    // The data chunk must hold what the header promises.
    let bytes_per_sample = usize::from(spec.bits_per_sample.div_ceil(8));
    let promised = frames as usize * usize::from(spec.channels) * bytes_per_sample;
    if promised > bytes.len() {
        return Err(AudioError::Truncated);
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<_, _>>()
            .map_err(wav_error)?,
        hound::SampleFormat::Int => {
            let bits = spec.bits_per_sample;
            if bits == 0 || bits > 32 {
                return Err(AudioError::Unsupported(format!("{bits}-bit WAV")));
            }
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(wav_error)?
        }
    };
    let channels = usize::from(spec.channels);
    let mono: Vec<f32> = interleaved
        .chunks(channels)
        .map(|c| c.iter().sum::<f32>() / channels as f32)
        .collect();
    if mono.is_empty() {
        return Err(AudioError::NoAudio);
    }
    let samples = resample(&mono, spec.sample_rate, SAMPLE_RATE);
    Ok(Decoded::Audio(Pcm::new(samples)))
}

/// Band-limited resampling (Hann-windowed sinc, gain-normalised taps). For rates with a
/// short period (48 k, 44.1 k, 22.05 k, 8 k → 16 k) the taps of each phase are computed once.
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || input.is_empty() || from == 0 || to == 0 {
        return input.to_vec();
    }
    let g = gcd(from, to);
    let (up, down) = (u64::from(to / g), u64::from(from / g));
    // Cut-off relative to the input's Nyquist: below the output's Nyquist when downsampling.
    let cutoff = (f64::from(to) / f64::from(from)).min(1.0) * 0.95;
    const HALF_TAPS: f64 = 12.0;
    let width = HALF_TAPS / cutoff; // in input samples
    let reach = width.ceil() as i64;
    let kernel = |frac: f64| -> Vec<f64> {
        // Taps for input offsets -reach+1 ..= reach around floor(position).
        let mut w: Vec<f64> = (-reach + 1..=reach)
            .map(|o| {
                let x = frac - o as f64;
                if x.abs() >= width {
                    return 0.0;
                }
                let arg = std::f64::consts::PI * cutoff * x;
                let sinc = if arg.abs() < 1e-9 {
                    1.0
                } else {
                    arg.sin() / arg
                };
                sinc * (0.5 + 0.5 * (std::f64::consts::PI * x / width).cos())
            })
            .collect();
        let sum: f64 = w.iter().sum();
        if sum.abs() > 1e-12 {
            w.iter_mut().for_each(|v| *v /= sum);
        }
        w
    };
    // The per-phase table only when it is small (a few MB): for an extreme ratio it would be
    // up × taps entries, while computing taps per output sample stays linear in the input.
    let n_taps = 2 * reach.max(0) as u64;
    let table: Option<Vec<Vec<f64>>> = (up <= 4_096 && up.saturating_mul(n_taps) <= 1 << 20)
        .then(|| (0..up).map(|p| kernel(p as f64 / up as f64)).collect());
    let out_len = (input.len() as u64 * up / down) as usize;
    let last = input.len() as i64 - 1;
    let mut out = Vec::with_capacity(out_len);
    for j in 0..out_len as u64 {
        let k0 = (j * down / up) as i64;
        let phase = j * down % up;
        let computed;
        let taps = match &table {
            Some(t) => &t[phase as usize],
            None => {
                computed = kernel(phase as f64 / up as f64);
                &computed
            }
        };
        let mut acc = 0.0f64;
        for (i, w) in taps.iter().enumerate() {
            let k = k0 - reach + 1 + i as i64;
            // Beyond the ends the signal is taken as silence.
            if (0..=last).contains(&k) {
                acc += w * f64::from(input[k as usize]);
            }
        }
        out.push(acc as f32);
    }
    out
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

// ---------------------------------------------------------------------------------------------
// Energy

/// RMS of each 20 ms frame.
fn frame_rms(samples: &[f32]) -> impl Iterator<Item = f32> + '_ {
    samples
        .chunks(FRAME)
        .map(|c| (c.iter().map(|s| s * s).sum::<f32>() / c.len() as f32).sqrt())
}

/// Loudness threshold below which a frame is silence (−45 dBFS).
pub const SILENCE_RMS: f32 = 0.0056;

/// True when no 20 ms frame rises above `threshold` RMS: nothing worth transcribing.
pub fn is_silent(samples: &[f32], threshold: f32) -> bool {
    frame_rms(samples).all(|r| r < threshold)
}

/// The range of samples that holds sound: leading and trailing frames quieter than both
/// `floor` and 1/30 of the loudest frame are cut, keeping `margin_s` seconds on each side.
pub fn voiced_range(samples: &[f32], floor: f32, margin_s: f32) -> std::ops::Range<usize> {
    let rms: Vec<f32> = frame_rms(samples).collect();
    let peak = rms.iter().copied().fold(0.0f32, f32::max);
    let threshold = floor.max(peak / 30.0);
    let first = rms.iter().position(|&r| r >= threshold);
    let last = rms.iter().rposition(|&r| r >= threshold);
    match (first, last) {
        (Some(a), Some(b)) => {
            let margin = (margin_s * SAMPLE_RATE as f32) as usize;
            let start = (a * FRAME).saturating_sub(margin);
            let end = ((b + 1) * FRAME + margin).min(samples.len());
            start..end
        }
        _ => 0..0,
    }
}

/// Where to cut `samples` into `parts` pieces of about equal length: near each ideal cut, the
/// quietest 100 ms within `search_s` seconds (a pause between words or sentences), so that
/// no word is split where the speaker paused. Returns the sample offsets of the cuts.
pub fn split_points(samples: &[f32], parts: usize, search_s: f32) -> Vec<usize> {
    if parts < 2 || samples.len() < parts * FRAME * 10 {
        return Vec::new();
    }
    let rms: Vec<f32> = frame_rms(samples).collect();
    // Loudness of 100 ms (5 frames) starting at each frame.
    const SPAN: usize = 5;
    let loud: Vec<f32> = (0..rms.len().saturating_sub(SPAN - 1))
        .map(|i| rms[i..i + SPAN].iter().sum::<f32>())
        .collect();
    let reach = ((search_s * SAMPLE_RATE as f32) as usize / FRAME).max(1);
    let mut cuts = Vec::with_capacity(parts - 1);
    let mut floor_frame = 0usize;
    for k in 1..parts {
        let ideal = rms.len() * k / parts;
        let lo = ideal.saturating_sub(reach).max(floor_frame + 1);
        let hi = (ideal + reach).min(loud.len().saturating_sub(1));
        if lo >= hi {
            continue;
        }
        // Quietest span; ties go to the one nearest the ideal cut.
        let best = (lo..=hi).min_by(|&a, &b| {
            loud[a]
                .total_cmp(&loud[b])
                .then(a.abs_diff(ideal).cmp(&b.abs_diff(ideal)))
        });
        if let Some(f) = best {
            let cut = ((f + SPAN / 2) * FRAME).min(samples.len());
            cuts.push(cut);
            floor_frame = f + SPAN;
        }
    }
    cuts
}

#[cfg(test)]
mod tests {
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
        let mut enc = opus::Encoder::new(16_000, opus::Channels::Mono, opus::Application::Voip)
            .expect("encoder");
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

    #[test]
    fn resampling_keeps_a_tone_and_its_length() {
        for from in [8_000u32, 22_050, 44_100, 48_000, 44_101] {
            let n = from as usize; // one second
            let tone: Vec<f32> = (0..n)
                .map(|i| 0.5 * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / from as f32).sin())
                .collect();
            let out = resample(&tone, from, 16_000);
            assert!(
                (out.len() as i64 - 16_000).abs() <= 1,
                "{from}: {}",
                out.len()
            );
            // Compare with the ideal tone away from the edges.
            let err = (1_000..15_000)
                .map(|i| {
                    let ideal =
                        0.5 * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 16_000.0).sin();
                    (out[i] - ideal).abs()
                })
                .fold(0.0f32, f32::max);
            assert!(err < 0.02, "{from}: max error {err}");
        }
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
        let rms =
            (pcm.samples.iter().map(|s| s * s).sum::<f32>() / pcm.samples.len() as f32).sqrt();
        assert!((rms - 0.3 / 2f32.sqrt()).abs() < 0.02, "rms {rms}");
        assert!(decode_voice(&bytes[..bytes.len() / 2]).is_err());
    }
}
