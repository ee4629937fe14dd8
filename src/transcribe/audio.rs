//! Voice-note decoding: OGG/Opus (what WhatsApp sends) or WAV → 16 kHz mono `f32` PCM,
//! in-process (libopus through the `opus` crate, the `ogg` demuxer, `hound` for WAV).
//!
//! Every input is untrusted: garbage, empty and truncated files give `Err`, never a panic
//! (the whole decode also runs under `catch_unwind` as a last line of defence).
//! The length of an OGG note is read from the granule position of its last page before
//! anything is decoded, so a ten-minute note costs a scan of its tail, not a decode.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

// The measures on decoded samples live in `signal`; callers reach them through here too.
pub use super::signal::{is_silent, resample, split_points, voiced_range, SILENCE_RMS};

/// Whisper's input rate.
pub const SAMPLE_RATE: u32 = 16_000;
/// Opus granule positions always count 48 kHz samples, whatever the input rate was.
const OPUS_GRANULE_RATE: f64 = 48_000.0;
/// The longest Opus packet (120 ms) at 16 kHz.
const MAX_PACKET_SAMPLES: usize = 1_920;

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

#[cfg(test)]
mod tests;
