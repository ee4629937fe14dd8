//! Measures on decoded 16 kHz mono samples: band-limited resampling to Whisper's rate, loudness
//! (silence, the voiced range) and where to cut a long note in its pauses.

use super::audio::SAMPLE_RATE;

/// Frame used for the energy measures (20 ms at 16 kHz).
const FRAME: usize = 320;

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
}
