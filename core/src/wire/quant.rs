//! Quantized field encodings used by NORM (RFC 5740 sections 4.1-4.3),
//! matching libnorm's rounding so that values survive a round trip through
//! libnorm exactly as they would between two libnorm nodes.
//!
//! Unquantizing RTTs uses libnorm's 4-significant-digit lookup table rather than
//! the closed-form expression: libnorm's timers are driven by the table values,
//! and a receiver that computed slightly different backoff intervals would
//! still interoperate but would not behave identically in side-by-side tests.

use std::time::Duration;

use super::NormTime;

/// Smallest RTT representable in the 8-bit encoding (seconds).
pub const RTT_MIN: f64 = 1.0e-06;
/// Largest RTT representable in the 8-bit encoding (seconds).
pub const RTT_MAX: f64 = 1000.0;
/// libnorm clamps its GRTT estimate to at least this (seconds).
pub const GRTT_MIN: f64 = 0.001;
/// libnorm clamps its GRTT estimate to at most this (seconds).
pub const GRTT_MAX: f64 = 15.0;

/// `RTT_TABLE[q]` is libnorm's `NORM_RTT[q]`: the closed form
/// `q < 31 ? (q + 1) * 1e-6 : 1000 / exp((255 - q) / 13)` rounded to four
/// significant digits (see the `rtt_table_matches_formula` test).
#[rustfmt::skip]
const RTT_TABLE: [f64; 256] = [
    1.000e-06, 2.000e-06, 3.000e-06, 4.000e-06, 5.000e-06, 6.000e-06, 7.000e-06, 8.000e-06,
    9.000e-06, 1.000e-05, 1.100e-05, 1.200e-05, 1.300e-05, 1.400e-05, 1.500e-05, 1.600e-05,
    1.700e-05, 1.800e-05, 1.900e-05, 2.000e-05, 2.100e-05, 2.200e-05, 2.300e-05, 2.400e-05,
    2.500e-05, 2.600e-05, 2.700e-05, 2.800e-05, 2.900e-05, 3.000e-05, 3.100e-05, 3.287e-05,
    3.550e-05, 3.833e-05, 4.140e-05, 4.471e-05, 4.828e-05, 5.215e-05, 5.631e-05, 6.082e-05,
    6.568e-05, 7.093e-05, 7.660e-05, 8.273e-05, 8.934e-05, 9.649e-05, 1.042e-04, 1.125e-04,
    1.215e-04, 1.313e-04, 1.417e-04, 1.531e-04, 1.653e-04, 1.785e-04, 1.928e-04, 2.082e-04,
    2.249e-04, 2.429e-04, 2.623e-04, 2.833e-04, 3.059e-04, 3.304e-04, 3.568e-04, 3.853e-04,
    4.161e-04, 4.494e-04, 4.853e-04, 5.241e-04, 5.660e-04, 6.113e-04, 6.602e-04, 7.130e-04,
    7.700e-04, 8.315e-04, 8.980e-04, 9.698e-04, 1.047e-03, 1.131e-03, 1.222e-03, 1.319e-03,
    1.425e-03, 1.539e-03, 1.662e-03, 1.795e-03, 1.938e-03, 2.093e-03, 2.260e-03, 2.441e-03,
    2.636e-03, 2.847e-03, 3.075e-03, 3.321e-03, 3.586e-03, 3.873e-03, 4.182e-03, 4.517e-03,
    4.878e-03, 5.268e-03, 5.689e-03, 6.144e-03, 6.635e-03, 7.166e-03, 7.739e-03, 8.358e-03,
    9.026e-03, 9.748e-03, 1.053e-02, 1.137e-02, 1.228e-02, 1.326e-02, 1.432e-02, 1.547e-02,
    1.670e-02, 1.804e-02, 1.948e-02, 2.104e-02, 2.272e-02, 2.454e-02, 2.650e-02, 2.862e-02,
    3.090e-02, 3.338e-02, 3.604e-02, 3.893e-02, 4.204e-02, 4.540e-02, 4.903e-02, 5.295e-02,
    5.718e-02, 6.176e-02, 6.669e-02, 7.203e-02, 7.779e-02, 8.401e-02, 9.072e-02, 9.798e-02,
    1.058e-01, 1.143e-01, 1.234e-01, 1.333e-01, 1.439e-01, 1.554e-01, 1.679e-01, 1.813e-01,
    1.958e-01, 2.114e-01, 2.284e-01, 2.466e-01, 2.663e-01, 2.876e-01, 3.106e-01, 3.355e-01,
    3.623e-01, 3.913e-01, 4.225e-01, 4.563e-01, 4.928e-01, 5.322e-01, 5.748e-01, 6.207e-01,
    6.704e-01, 7.240e-01, 7.819e-01, 8.444e-01, 9.119e-01, 9.848e-01, 1.064e+00, 1.149e+00,
    1.240e+00, 1.340e+00, 1.447e+00, 1.562e+00, 1.687e+00, 1.822e+00, 1.968e+00, 2.125e+00,
    2.295e+00, 2.479e+00, 2.677e+00, 2.891e+00, 3.122e+00, 3.372e+00, 3.641e+00, 3.933e+00,
    4.247e+00, 4.587e+00, 4.953e+00, 5.349e+00, 5.777e+00, 6.239e+00, 6.738e+00, 7.277e+00,
    7.859e+00, 8.487e+00, 9.166e+00, 9.898e+00, 1.069e+01, 1.154e+01, 1.247e+01, 1.346e+01,
    1.454e+01, 1.570e+01, 1.696e+01, 1.832e+01, 1.978e+01, 2.136e+01, 2.307e+01, 2.491e+01,
    2.691e+01, 2.906e+01, 3.138e+01, 3.389e+01, 3.660e+01, 3.953e+01, 4.269e+01, 4.610e+01,
    4.979e+01, 5.377e+01, 5.807e+01, 6.271e+01, 6.772e+01, 7.314e+01, 7.899e+01, 8.530e+01,
    9.212e+01, 9.949e+01, 1.074e+02, 1.160e+02, 1.253e+02, 1.353e+02, 1.462e+02, 1.578e+02,
    1.705e+02, 1.841e+02, 1.988e+02, 2.147e+02, 2.319e+02, 2.504e+02, 2.704e+02, 2.921e+02,
    3.154e+02, 3.406e+02, 3.679e+02, 3.973e+02, 4.291e+02, 4.634e+02, 5.004e+02, 5.404e+02,
    5.836e+02, 6.303e+02, 6.807e+02, 7.351e+02, 7.939e+02, 8.574e+02, 9.260e+02, 1.000e+03,
];

/// Quantizes an RTT in seconds to the 8-bit `grtt`/`cc_rtt` encoding.
///
/// Out-of-range (and NaN) inputs are clamped to [`RTT_MIN`, `RTT_MAX`], as libnorm does.
pub fn quantize_rtt(rtt: f64) -> u8 {
    // NaN is checked explicitly because f64::clamp would propagate it.
    let rtt = if rtt.is_nan() || rtt < RTT_MIN {
        RTT_MIN
    } else {
        rtt.min(RTT_MAX)
    };
    if rtt < 3.3e-05 {
        // libnorm truncates here (it does not round), so 2.9999e-6 maps to 1.
        ((rtt / RTT_MIN) as u8).saturating_sub(1)
    } else {
        (255.0 - 13.0 * (RTT_MAX / rtt).ln()).ceil() as u8
    }
}

/// Inverse of [`quantize_rtt`] (libnorm's table lookup).
pub fn unquantize_rtt(q: u8) -> f64 {
    RTT_TABLE[q as usize]
}

/// Group size estimates indexed by the 4-bit `gsize` code: mantissa 1 or 5
/// (bit 3) times 10^(low three bits + 1).
const GSIZE_TABLE: [f64; 16] = [
    1.0e1, 1.0e2, 1.0e3, 1.0e4, 1.0e5, 1.0e6, 1.0e7, 1.0e8, //
    5.0e1, 5.0e2, 5.0e3, 5.0e4, 5.0e5, 5.0e6, 5.0e7, 5.0e8,
];

/// Quantizes a group size estimate to the 4-bit `gsize` code, rounding up
/// (a larger estimate only makes NACK suppression more conservative).
///
/// Inputs below 10 (including NaN and negatives) give code 0 (= 10). libnorm
/// instead feeds the negative `log10` of sizes below 1 through an unsigned
/// cast and may return 15; we do not reproduce that.
pub fn quantize_gsize(gsize: f64) -> u8 {
    if gsize.is_nan() || gsize < 10.0 {
        return 0;
    }
    let exponent = gsize.log10() as i32;
    if exponent > 8 {
        return 0x0f;
    }
    let mantissa = (gsize / 10f64.powf(exponent as f64)).ceil() as i32;
    // `exponent` is 1..=8 here, so every result below fits in 4 bits.
    if mantissa > 5 {
        if exponent > 7 {
            0x0f
        } else {
            exponent as u8
        }
    } else if mantissa > 1 {
        exponent as u8 + 0x07
    } else {
        exponent as u8 - 1
    }
}

/// Inverse of [`quantize_gsize`]; only the low four bits of `q` are used.
pub fn unquantize_gsize(q: u8) -> f64 {
    GSIZE_TABLE[(q & 0x0f) as usize]
}

/// Quantizes a rate in bytes per second to the 16-bit rate encoding
/// (12-bit mantissa, 4-bit decimal exponent) used by EXT_RATE, EXT_CC and
/// cc_node_list entries.
///
/// Zero, negative and NaN rates give 0x0001 (which unquantizes to 0.0), as in
/// libnorm. Two libnorm overflow cases are avoided rather than reproduced:
/// rates whose scaled mantissa rounds up to 4096 (just below a power of ten)
/// move to the next exponent instead of wrapping to rate 0, and rates below
/// 1 B/s use exponent 0 instead of a wrapped negative exponent. Rates of
/// 10^16 B/s and above saturate.
pub fn quantize_rate(rate: f64) -> u16 {
    if rate.is_nan() || rate <= 0.0 {
        return 0x0001;
    }
    // `as` saturates: log10 < 0 (rate < 1) becomes exponent 0.
    let mut exponent = rate.log10() as u16;
    if exponent > 15 {
        return 0xffff;
    }
    let mut mantissa = mantissa_for(rate, exponent);
    if mantissa > 0x0fff {
        if exponent == 15 {
            return 0xffff;
        }
        exponent += 1;
        mantissa = mantissa_for(rate, exponent);
    }
    (mantissa << 4) | exponent
}

fn mantissa_for(rate: f64, exponent: u16) -> u16 {
    ((4096.0 / 10.0) * (rate / 10f64.powf(exponent as f64)) + 0.5) as u16
}

/// Inverse of [`quantize_rate`] (bytes per second).
pub fn unquantize_rate(q: u16) -> f64 {
    let mantissa = (q >> 4) as f64 * (10.0 / 4096.0);
    mantissa * 10f64.powf((q & 0x000f) as f64)
}

/// Quantizes a loss fraction (0.0..=1.0) to the 16-bit `cc_loss` encoding.
pub fn quantize_loss(loss: f64) -> u16 {
    // f64::max returns the non-NaN operand, so NaN maps to 0 like libnorm's MAX().
    (loss.max(0.0) * 65535.0 + 0.5).min(65535.0) as u16
}

/// Inverse of [`quantize_loss`].
pub fn unquantize_loss(q: u16) -> f64 {
    q as f64 / 65535.0
}

/// libnorm's extended-precision loss: 32 bits, the high half in EXT_CC's
/// `cc_loss` field and the low half in the field RFC 5740 calls reserved.
pub fn quantize_loss32(loss: f64) -> u32 {
    const SCALE: f64 = u32::MAX as f64;
    (loss.max(0.0) * SCALE + 0.5).min(SCALE) as u32
}

/// Inverse of [`quantize_loss32`].
pub fn unquantize_loss32(q: u32) -> f64 {
    q as f64 / u32::MAX as f64
}

impl NormTime {
    /// A timestamp from a duration since an epoch (libnorm uses the Unix epoch,
    /// via gettimeofday). Seconds beyond 32 bits wrap, as `tv_sec` does on the wire.
    pub fn from_duration(d: Duration) -> NormTime {
        NormTime {
            sec: d.as_secs() as u32,
            usec: d.subsec_micros(),
        }
    }

    /// The timestamp as a duration since its epoch. `usec` values of a million
    /// or more (malformed) carry into seconds rather than being rejected.
    pub fn to_duration(self) -> Duration {
        Duration::from_secs(self.sec as u64) + Duration::from_micros(self.usec as u64)
    }

    /// The timestamp in seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.sec as f64 + self.usec as f64 * 1.0e-06
    }

    /// `self - earlier` in seconds, treating `sec` as a wrapping 32-bit counter
    /// so that a difference across the 2106 wrap stays small.
    pub fn secs_since(self, earlier: NormTime) -> f64 {
        let dsec = self.sec.wrapping_sub(earlier.sec) as i32 as f64;
        dsec + (self.usec as f64 - earlier.usec as f64) * 1.0e-06
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_table_matches_formula() {
        for q in 0..=255u8 {
            let exact = if q < 31 {
                (q as f64 + 1.0) * RTT_MIN
            } else {
                RTT_MAX / ((255 - q) as f64 / 13.0).exp()
            };
            let rounded: f64 = format!("{exact:.3e}").parse().unwrap();
            assert_eq!(unquantize_rtt(q), rounded, "q = {q}");
        }
    }

    #[test]
    fn rtt_known_values() {
        // Below 33 us: truncate(rtt / 1e-6) - 1.
        assert_eq!(quantize_rtt(1.0e-6), 0);
        assert_eq!(quantize_rtt(2.5e-6), 1);
        assert_eq!(quantize_rtt(31.0e-6), 30);
        // ceil(255 - 13 ln(1000 / 0.5)) = ceil(156.19) = 157.
        assert_eq!(quantize_rtt(0.5), 157);
        assert_eq!(unquantize_rtt(157), 5.322e-01);
        // ceil(255 - 13 ln(1000)) = ceil(165.20) = 166; libnorm's table: 1.064.
        assert_eq!(quantize_rtt(1.0), 166);
        assert_eq!(unquantize_rtt(166), 1.064);
        // ceil(255 - 13 ln(1e4)) = ceil(135.27) = 136 for 100 ms.
        assert_eq!(quantize_rtt(0.1), 136);
        assert_eq!(unquantize_rtt(31), 3.287e-05);
        assert_eq!(quantize_rtt(RTT_MAX), 255);
        assert_eq!(quantize_rtt(1.0e9), 255);
        assert_eq!(quantize_rtt(0.0), 0);
        assert_eq!(quantize_rtt(f64::NAN), 0);
        assert_eq!(quantize_rtt(-1.0), 0);
    }

    #[test]
    fn rtt_quantization_rounds_up() {
        // Above the linear region the code is a ceiling, so the unquantized
        // value is never (meaningfully) below the input.
        for i in 0..2000 {
            let rtt = 4.0e-5 * 1.01f64.powi(i);
            if rtt > RTT_MAX {
                break;
            }
            let back = unquantize_rtt(quantize_rtt(rtt));
            assert!(back >= rtt * (1.0 - 5.0e-4), "rtt {rtt} -> {back}");
        }
    }

    #[test]
    fn gsize_known_values() {
        assert_eq!(quantize_gsize(1.0), 0);
        assert_eq!(quantize_gsize(10.0), 0);
        assert_eq!(quantize_gsize(20.0), 8); // rounds up to 50
        assert_eq!(quantize_gsize(60.0), 1); // rounds up to 100
        assert_eq!(quantize_gsize(1000.0), 2);
        assert_eq!(quantize_gsize(1001.0), 10); // 5000
        assert_eq!(quantize_gsize(6000.0), 3); // 10000
        assert_eq!(quantize_gsize(9.0e8), 0x0f);
        assert_eq!(quantize_gsize(1.0e10), 0x0f);
        assert_eq!(quantize_gsize(f64::NAN), 0);
        assert_eq!(unquantize_gsize(2), 1000.0);
        assert_eq!(unquantize_gsize(10), 5000.0);
        assert_eq!(unquantize_gsize(0x0f), 5.0e8);
        assert_eq!(unquantize_gsize(0xf2), 1000.0);
        for q in 0..16u8 {
            assert_eq!(quantize_gsize(unquantize_gsize(q)), q);
        }
    }

    #[test]
    fn rate_known_values() {
        // 1000 B/s: exponent 3, mantissa 409.6 * 1.0 + 0.5 -> 410.
        assert_eq!(quantize_rate(1000.0), (410 << 4) | 3);
        assert_eq!(
            unquantize_rate((410 << 4) | 3),
            410.0 * 10.0 / 4096.0 * 1000.0
        );
        // 125000 B/s (1 Mbit/s): exponent 5, mantissa 409.6 * 1.25 + 0.5 -> 512.
        assert_eq!(quantize_rate(125_000.0), 0x2005);
        assert_eq!(unquantize_rate(0x2005), 125_000.0);
        assert_eq!(quantize_rate(0.0), 1);
        assert_eq!(quantize_rate(-5.0), 1);
        assert_eq!(quantize_rate(f64::NAN), 1);
        assert_eq!(unquantize_rate(1), 0.0);
        // 9999.9 would need mantissa 4096 at exponent 3; libnorm wraps that to 0.
        let q = quantize_rate(9999.9);
        assert_eq!(q, (410 << 4) | 4);
        assert!(unquantize_rate(q) > 9999.0);
        // Below 1 B/s: exponent 0.
        assert_eq!(quantize_rate(0.5), (205 << 4));
        assert_eq!(quantize_rate(1.0e20), 0xffff);
    }

    #[test]
    fn rate_relative_error_is_small() {
        let mut rate = 1.0;
        while rate < 1.0e15 {
            let back = unquantize_rate(quantize_rate(rate));
            assert!((back - rate).abs() / rate < 2.0e-3, "{rate} -> {back}");
            rate *= 1.37;
        }
    }

    #[test]
    fn loss_known_values() {
        assert_eq!(quantize_loss(0.0), 0);
        assert_eq!(quantize_loss(0.5), 32768);
        assert_eq!(quantize_loss(1.0), 65535);
        assert_eq!(quantize_loss(2.0), 65535);
        assert_eq!(quantize_loss(-1.0), 0);
        assert_eq!(quantize_loss(f64::NAN), 0);
        assert_eq!(unquantize_loss(65535), 1.0);
        assert_eq!(quantize_loss32(1.0), u32::MAX);
        assert_eq!(quantize_loss32(0.5), 0x8000_0000);
        assert_eq!(unquantize_loss32(u32::MAX), 1.0);
    }

    #[test]
    fn norm_time_conversions() {
        let t = NormTime::from_duration(Duration::new(12, 345_678_901));
        assert_eq!(
            t,
            NormTime {
                sec: 12,
                usec: 345_678
            }
        );
        assert_eq!(t.to_duration(), Duration::new(12, 345_678_000));
        assert!((t.as_secs_f64() - 12.345678).abs() < 1e-9);
        let a = NormTime { sec: 0, usec: 100 };
        let b = NormTime {
            sec: u32::MAX,
            usec: 999_900,
        };
        assert!((a.secs_since(b) - 0.0002).abs() < 1e-9);
    }
}
