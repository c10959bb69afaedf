//! NORM-CC, TCP-friendly multicast congestion control (RFC 5740 section 5.5).
//!
//! NORM-CC is a TFMCC-style scheme: every receiver computes the rate a TCP
//! flow would get on its path (the TCP throughput equation of RFC 5348 fed
//! with its own loss event rate and round-trip time) and reports it in EXT_CC
//! feedback; the sender follows the slowest receiver, the *current limiting
//! receiver* (CLR), which it names in every NORM_CMD(CC) probe so that the
//! CLR answers each probe at once while the others answer only when they are
//! slower still.
//!
//! - [`RxCc`] is one receiver's view of one sender: loss history from the
//!   NORM sequence numbers (RFC 5348 section 5: loss events, weighted average
//!   of the last eight loss intervals), the receive rate, slow start (no loss
//!   yet: report twice the receive rate), and the feedback it sends.
//! - [`TxCc`] is the sender's rate: CLR selection, immediate decrease to the
//!   CLR's rate, increase to at most twice the rate per feedback (what the
//!   receivers' twice-the-receive-rate cap gives in TFRC), halving when the
//!   CLR falls silent, all within configured bounds. While the sender is
//!   data-limited (it had nothing to send when its rate allowed a datagram)
//!   the receivers' receive rates measure the application, not the path:
//!   the rate then only falls to what the TCP equation gives for the
//!   reported loss, and does not rise (RFC 5348 section 4.3's data-limited
//!   intervals, simplified).
//!
//! Rates here are in bytes per second, as on the wire.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::wire::{cc_flags, quant, CcFeedback, CcNode};

/// TCP throughput equation (RFC 5348 section 3.1 with b = 1 and
/// t_RTO = 4 RTT): the rate in bytes per second of a TCP flow with
/// `segment`-byte packets, round-trip time `rtt` seconds and loss event rate
/// `p`.
pub fn tcp_rate(segment: f64, rtt: f64, p: f64) -> f64 {
    if p <= 0.0 {
        return f64::INFINITY;
    }
    let rtt = rtt.max(1e-6);
    let denom = rtt * (2.0 * p / 3.0).sqrt()
        + 4.0 * rtt * (3.0 * (3.0 * p / 8.0).sqrt()) * p * (1.0 + 32.0 * p * p);
    segment / denom
}

/// The loss event rate at which [`tcp_rate`] gives `target` (bisection on a
/// logarithmic scale; the equation falls monotonically with `p`).
pub fn loss_for_rate(segment: f64, rtt: f64, target: f64) -> f64 {
    let (mut lo, mut hi) = (1e-8f64, 1.0f64);
    if tcp_rate(segment, rtt, lo) <= target {
        return lo;
    }
    if tcp_rate(segment, rtt, hi) >= target {
        return hi;
    }
    for _ in 0..60 {
        let mid = (lo * hi).sqrt();
        if tcp_rate(segment, rtt, mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo * hi).sqrt()
}

/// Half-life of the recent peak RTT, in seconds.
const RTT_PEAK_HALF_LIFE: f64 = 2.0;

/// Weight of the old value in the smoothed CLR round-trip time.
const RTT_GAIN: f64 = 0.9;

/// RFC 5348 section 5.4 weights of the last eight loss intervals.
const WEIGHTS: [f64; 8] = [1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2];

/// Sequence gaps this large are a resynchronisation (a sender we had not
/// heard for a while), not a loss.
const MAX_GAP: u16 = 1000;

/// Receive-rate windows whose largest is the receive rate.
const RECV_RATE_WINDOWS: usize = 3;

/// Shortest window over which the receive rate is measured. Probes come
/// every GRTT (10 ms at least), and a window of one probe interval counts a
/// few dozen datagrams: one pause of the sender's or one burst out of a
/// queue halves or doubles it, and a halved receive rate halves the rate
/// reported (RFC 5348's cap of twice the receive rate). Fifty milliseconds
/// smooths that out and still lets slow start double twenty times a second.
const MIN_RATE_WINDOW: Duration = Duration::from_millis(50);

/// One receiver's NORM-CC state for one sender.
#[derive(Debug)]
pub struct RxCc {
    /// The sender runs NORM-CC (its probes carry EXT_RATE).
    pub active: bool,
    /// The sender names us as its CLR.
    pub is_clr: bool,
    /// Our round-trip time as the sender measured it (cc_node_list with the
    /// RTT flag), when it told us.
    rtt: Option<f64>,
    last_seq: Option<u16>,
    /// Closed loss intervals in packets, newest first.
    intervals: VecDeque<f64>,
    /// The rate that ended slow start, halved (RFC 5348 section 6.3.1):
    /// the oldest loss interval is the one that gives it at the current
    /// RTT.
    start_rate: Option<f64>,
    /// Packets since the current loss event began.
    current: f64,
    event_start: Option<Instant>,
    slow_start: bool,
    window_start: Option<Instant>,
    window_bytes: u64,
    /// The receive rates of the last few windows, newest first.
    recv_rates: [f64; RECV_RATE_WINDOWS],
    /// Largest datagram seen: the segment size s of the equation.
    segment: f64,
}

impl Default for RxCc {
    fn default() -> Self {
        RxCc {
            active: false,
            is_clr: false,
            rtt: None,
            last_seq: None,
            intervals: VecDeque::new(),
            start_rate: None,
            current: 0.0,
            event_start: None,
            slow_start: true,
            window_start: None,
            window_bytes: 0,
            recv_rates: [0.0; RECV_RATE_WINDOWS],
            segment: 0.0,
        }
    }
}

impl RxCc {
    /// Records a datagram from the sender: its NORM sequence number, its size
    /// and the round-trip time to use for grouping losses into events.
    pub fn on_packet(&mut self, now: Instant, seq: u16, len: usize, grtt: f64) {
        self.window_bytes += len as u64;
        self.window_start.get_or_insert(now);
        self.segment = self.segment.max(len as f64);
        let Some(last) = self.last_seq else {
            self.last_seq = Some(seq);
            return;
        };
        let gap = seq.wrapping_sub(last);
        if gap == 0 || gap >= 0x8000 {
            return; // a duplicate or a late (reordered) datagram
        }
        self.last_seq = Some(seq);
        if gap > MAX_GAP {
            return;
        }
        if gap > 1 {
            // Losses are grouped into events over the larger of our RTT
            // and the group's: a queue overflowing at a bottleneck drops
            // packets for as long as it takes the sender to hear of it,
            // which is one loss event, even where the RTT of an empty
            // queue is much shorter.
            self.on_loss(now, self.rtt(grtt).max(grtt));
        }
        self.current += gap as f64;
    }

    fn on_loss(&mut self, now: Instant, rtt: f64) {
        // Losses within one RTT of the start of a loss event belong to it.
        if self
            .event_start
            .is_some_and(|t| now < t + Duration::from_secs_f64(rtt))
        {
            return;
        }
        if self.slow_start {
            // The first loss ends slow start. RFC 5348 section 6.3.1: start
            // the history with the interval that gives half the receive
            // rate. That interval is computed anew at the RTT of each report
            // (see loss_event_rate): the RTT grows by the whole queue just as
            // the queue overflows, and an interval fixed at the RTT of that
            // moment would give a fraction of the rate a little later.
            self.slow_start = false;
            let rate = self.current_recv_rate(now).max(self.segment.max(1.0) / rtt);
            self.start_rate = Some(rate / 2.0);
        } else {
            self.intervals.push_front(self.current.max(1.0));
            self.intervals.truncate(WEIGHTS.len());
        }
        self.current = 0.0;
        self.event_start = Some(now);
    }

    /// The loss event rate p (RFC 5348 section 5.4) at group round-trip
    /// time `grtt`: the inverse of the weighted mean loss interval, counting
    /// the open interval when that makes it longer.
    pub fn loss_event_rate(&self, grtt: f64) -> f64 {
        let Some(start) = self.start_rate else {
            return 0.0;
        };
        let seg = self.segment.max(1.0);
        let first = (self.intervals.len() < WEIGHTS.len()).then(|| 1.0 / loss_for_rate(seg, self.rtt(grtt), start));
        let intervals = || self.intervals.iter().copied().chain(first);
        let mean = |it: &mut dyn Iterator<Item = f64>| {
            let (mut sum, mut w) = (0.0, 0.0);
            for (x, wt) in it.zip(WEIGHTS) {
                sum += x * wt;
                w += wt;
            }
            sum / w
        };
        let closed = mean(&mut intervals());
        let with_open = mean(&mut std::iter::once(self.current).chain(intervals()));
        1.0 / closed.max(with_open).max(1.0)
    }

    /// The receive rate: the largest of the last few windows'. RFC 5348
    /// section 4.3 caps the rate at twice the largest recent receive rate,
    /// not the last: one window can fall short (the sender paused, or its
    /// rate climbed faster than the window moved) without any congestion.
    fn recv_rate(&self) -> f64 {
        self.recv_rates.iter().copied().fold(0.0, f64::max)
    }

    fn current_recv_rate(&self, now: Instant) -> f64 {
        match self.window_start {
            Some(t) if now.saturating_duration_since(t) >= MIN_RATE_WINDOW => {
                let r = self.window_bytes as f64 / now.saturating_duration_since(t).as_secs_f64();
                r.max(self.recv_rate())
            }
            _ => self.recv_rate(),
        }
    }

    /// Closes a receive-rate measurement window (called at each probe).
    pub fn sample_recv_rate(&mut self, now: Instant) {
        if let Some(t) = self.window_start {
            let dt = now.saturating_duration_since(t);
            if dt >= MIN_RATE_WINDOW {
                self.recv_rates.rotate_right(1);
                self.recv_rates[0] = self.window_bytes as f64 / dt.as_secs_f64();
                self.window_bytes = 0;
                self.window_start = Some(now);
            }
        }
    }

    /// Takes what a NORM_CMD(CC) says about us: whether we are the CLR and
    /// the RTT the sender measured for us.
    pub fn on_probe(&mut self, now: Instant, own_node: u32, nodes: &[CcNode], has_rate: bool) {
        self.active = has_rate;
        self.sample_recv_rate(now);
        self.is_clr = false;
        if let Some(n) = nodes.iter().find(|n| n.node_id == own_node) {
            self.is_clr = n.flags & cc_flags::CLR != 0;
            if n.flags & cc_flags::RTT != 0 {
                self.rtt = Some(quant::unquantize_rtt(n.rtt));
            }
        }
    }

    fn rtt(&self, grtt: f64) -> f64 {
        self.rtt.unwrap_or(grtt).max(1e-4)
    }

    /// The rate we report, in bytes per second: twice the receive rate in
    /// slow start, else the TCP equation's rate capped at twice the receive
    /// rate (RFC 5348 section 4.3).
    pub fn rate(&self, grtt: f64) -> f64 {
        let floor = self.segment.max(1.0) / self.rtt(grtt);
        let recv2 = (2.0 * self.recv_rate()).max(floor);
        if self.slow_start {
            return recv2;
        }
        tcp_rate(
            self.segment.max(1.0),
            self.rtt(grtt),
            self.loss_event_rate(grtt),
        )
        .min(recv2)
    }

    /// EXT_CC feedback answering probe `cc_sequence`.
    pub fn feedback(&self, cc_sequence: u16, grtt: f64) -> CcFeedback {
        let mut f = 0;
        if self.is_clr {
            f |= cc_flags::CLR;
        }
        if self.rtt.is_some() {
            f |= cc_flags::RTT;
        }
        if self.slow_start {
            f |= cc_flags::START;
        }
        CcFeedback {
            cc_sequence,
            cc_flags: f,
            cc_rtt: quant::quantize_rtt(self.rtt(grtt)),
            cc_loss: quant::quantize_loss(self.loss_event_rate(grtt)),
            cc_rate: quant::quantize_rate(self.rate(grtt)),
        }
    }
}

/// The sender's NORM-CC rate control.
#[derive(Debug)]
pub struct TxCc {
    /// Current transmission rate, bytes per second.
    rate: f64,
    min: f64,
    max: f64,
    clr: Option<Clr>,
    /// When the CLR (or, with none, anyone) last gave feedback.
    last_feedback: Option<Instant>,
    /// When the rate last went up.
    last_increase: Option<Instant>,
    /// Bytes of a full data datagram on the wire.
    segment: f64,
    /// The recent peak RTT sample and when it was last updated.
    rtt_peak: Option<(Instant, f64)>,
    /// The sender ran out of data to send since the last probe, and in the
    /// probe interval before that.
    idle: bool,
    was_idle: bool,
    pub feedback_received: u64,
}

#[derive(Debug, Clone, Copy)]
struct Clr {
    node_id: u32,
    rate: f64,
    /// The loss event rate it reported.
    loss: f64,
    rtt: f64,
    slow_start: bool,
}

impl TxCc {
    /// Bounds in bytes per second; the start rate is `start` (clamped);
    /// `segment` is the size of a full data datagram on the wire.
    pub fn new(min: f64, max: f64, start: f64, segment: f64) -> TxCc {
        let max = max.max(min);
        TxCc {
            rate: start.clamp(min, max),
            min,
            max,
            clr: None,
            last_feedback: None,
            last_increase: None,
            segment,
            rtt_peak: None,
            idle: false,
            was_idle: false,
            feedback_received: 0,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    pub fn clr(&self) -> Option<u32> {
        self.clr.map(|c| c.node_id)
    }

    /// Feedback `fb` from `node_id`, whose round-trip time the sender just
    /// measured as `rtt` seconds (if its feedback echoed a probe time).
    /// `grtt` is the group round-trip time the sender advertises.
    pub fn on_feedback(&mut self, now: Instant, node_id: u32, fb: &CcFeedback, rtt: Option<f64>, grtt: f64) {
        self.feedback_received += 1;
        if let Some(r) = rtt {
            self.note_rtt_peak(now, r);
        }
        let rate = quant::unquantize_rate(fb.cc_rate);
        let loss = quant::unquantize_loss(fb.cc_loss);
        let slow_start = fb.cc_flags & cc_flags::START != 0;
        let leaving = fb.cc_flags & cc_flags::LEAVE != 0;
        match &mut self.clr {
            Some(c) if c.node_id == node_id => {
                if leaving {
                    self.clr = None;
                    return;
                }
                c.rate = rate;
                c.loss = loss;
                c.slow_start = slow_start;
                // A smoothed RTT (RFC 5348 section 4.3, q = 0.9): single
                // samples swing with the queue on the path, from its
                // empty-queue floor to its full-queue delay.
                if let Some(r) = rtt {
                    c.rtt = RTT_GAIN * c.rtt + (1.0 - RTT_GAIN) * r;
                }
            }
            _ if leaving => return,
            Some(c) if rate >= c.rate => return, // not the slowest
            _ => {
                // A new CLR starts from the larger of the sample and its own
                // estimate, the cautious choice.
                let reported = quant::unquantize_rtt(fb.cc_rtt);
                let rtt = rtt.map_or(reported, |r| r.max(reported));
                self.clr = Some(Clr {
                    node_id,
                    rate,
                    loss,
                    rtt,
                    slow_start,
                });
            }
        }
        self.last_feedback = Some(now);
        self.adjust(now, grtt);
    }

    /// The recent peak RTT: follows rises at once and halves every
    /// `RTT_PEAK_HALF_LIFE` without new ones.
    fn note_rtt_peak(&mut self, now: Instant, rtt: f64) {
        let decayed = match self.rtt_peak {
            Some((t, v)) => v * 0.5f64.powf(now.saturating_duration_since(t).as_secs_f64() / RTT_PEAK_HALF_LIFE),
            None => 0.0,
        };
        self.rtt_peak = Some((now, decayed.max(rtt)));
    }

    fn adjust(&mut self, now: Instant, grtt: f64) {
        let Some(c) = self.clr else { return };
        // Decreases take effect at once. Increases come once per round-trip
        // time (the CLR's or, when larger, the group's or the recent peak,
        // which remember the delay a filling queue adds: once the rate has
        // dropped and the queue drained, the RTT of the empty path would
        // make the next climb far too steep): feedback comes once per probe, and
        // probes can be closer together than the RTT of a path with a
        // filling queue, where the effect of the last increase is not yet
        // visible. In slow start (the CLR has seen no loss yet) the rate
        // may double; after, it grows by one segment per RTT, as TCP's
        // window does: on a path whose queue only shows in the RTT once it
        // overflows, a faster climb overshoots by more than that queue
        // holds, and every overshoot is a burst of loss.
        let peak = self.rtt_peak.map_or(0.0, |(_, v)| v);
        let rtt = c.rtt.max(grtt).max(peak);
        if self.idle || self.was_idle {
            // Data-limited: the reported rate is at most twice what we
            // gave the receivers, which says nothing of the path. Only the
            // loss they saw may lower the rate, to the TCP equation's rate
            // (without this the rate collapses at the end of every first
            // pass, and the repairs that follow crawl); an untested rate
            // does not rise.
            let equation = if c.loss > 0.0 { tcp_rate(self.segment, c.rtt, c.loss) } else { f64::INFINITY };
            let target = c.rate.max(equation.min(self.rate));
            if target < self.rate {
                self.rate = target.clamp(self.min, self.max);
            }
        } else if c.rate <= self.rate {
            self.rate = c.rate.clamp(self.min, self.max);
        } else if self.last_increase.is_none_or(|t| now.saturating_duration_since(t).as_secs_f64() >= rtt) {
            // (Climbing back faster after a decrease, as CUBIC does, lifted
            // the goodput behind a deep queue by a tenth but left a
            // concurrent TCP flow under a quarter of the bottleneck in a
            // third of the runs of tests/net/cc_netns.sh.)
            let step = if c.slow_start { self.rate } else { self.segment / rtt };
            self.rate = c.rate.min(self.rate + step).clamp(self.min, self.max);
            self.last_increase = Some(now);
        }
    }

    /// Called as each probe goes out, every `interval`: with no feedback
    /// from the CLR for four intervals (and at least four of its RTTs), the
    /// rate halves and a new CLR is sought (RFC 5348's no-feedback timer).
    pub fn on_probe(&mut self, now: Instant, interval: Duration) {
        self.was_idle = std::mem::take(&mut self.idle);
        let Some(last) = self.last_feedback else {
            return;
        };
        let rtt = self.clr.map_or(0.0, |c| c.rtt);
        let silent = Duration::from_secs_f64((4.0 * rtt).max(4.0 * interval.as_secs_f64()));
        if now.saturating_duration_since(last) >= silent {
            self.rate = (self.rate / 2.0).clamp(self.min, self.max);
            self.clr = None;
            self.last_feedback = Some(now);
        }
    }

    /// The sender had nothing to send when its rate allowed a datagram.
    pub fn note_idle(&mut self) {
        self.idle = true;
    }

    /// The cc_node_list of the next probe: the CLR, with its RTT.
    pub fn probe_nodes(&self) -> Vec<CcNode> {
        self.clr
            .map(|c| {
                let mut flags = cc_flags::CLR | cc_flags::RTT;
                if c.slow_start {
                    flags |= cc_flags::START;
                }
                CcNode {
                    node_id: c.node_id,
                    flags,
                    rtt: quant::quantize_rtt(c.rtt),
                    rate: quant::quantize_rate(c.rate),
                }
            })
            .into_iter()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equation_falls_with_loss_and_rtt() {
        let a = tcp_rate(1400.0, 0.01, 0.01);
        assert!(a > tcp_rate(1400.0, 0.01, 0.02));
        assert!(a > tcp_rate(1400.0, 0.02, 0.01));
        // Around 1.2 * s / (RTT * sqrt(p)) for small p.
        let approx = 1.22 * 1400.0 / (0.01 * 0.1);
        assert!((a / approx - 1.0).abs() < 0.15, "{a} vs {approx}");
        assert_eq!(tcp_rate(1400.0, 0.01, 0.0), f64::INFINITY);
    }

    #[test]
    fn loss_for_rate_inverts_the_equation() {
        for &(rtt, target) in &[(0.001, 5e6), (0.05, 1e5), (0.2, 2e3)] {
            let p = loss_for_rate(1400.0, rtt, target);
            let back = tcp_rate(1400.0, rtt, p);
            assert!(
                (back / target - 1.0).abs() < 1e-3,
                "rtt {rtt}: {back} vs {target}"
            );
        }
    }

    fn feed(cc: &mut RxCc, t0: Instant, n: u32, every_lost: u32, start_seq: u16) -> u16 {
        let mut seq = start_seq;
        for i in 0..n {
            seq = seq.wrapping_add(1);
            if every_lost > 0 && i % every_lost == every_lost - 1 {
                continue;
            }
            // 1 ms apart, so every loss is a new event at an RTT of 0.5 ms.
            cc.on_packet(t0 + Duration::from_millis(i as u64), seq, 1400, 0.0005);
        }
        seq
    }

    #[test]
    fn loss_event_rate_follows_periodic_loss() {
        let t0 = Instant::now();
        let mut cc = RxCc::default();
        assert!(cc.slow_start);
        feed(&mut cc, t0, 5000, 50, 0);
        assert!(!cc.slow_start);
        let p = cc.loss_event_rate(0.0005);
        assert!((p - 0.02).abs() < 0.002, "p = {p}");
    }

    #[test]
    fn losses_within_an_rtt_are_one_event() {
        let t0 = Instant::now();
        let mut cc = RxCc::default();
        cc.on_packet(t0, 1, 1400, 0.1);
        cc.on_packet(t0 + Duration::from_millis(1), 3, 1400, 0.1);
        cc.on_packet(t0 + Duration::from_millis(2), 5, 1400, 0.1);
        cc.on_packet(t0 + Duration::from_millis(3), 9, 1400, 0.1);
        // One event: the first, which ends slow start (its interval is
        // synthesised from the receive rate).
        assert!(!cc.slow_start);
        assert_eq!(cc.intervals.len(), 0);
        cc.on_packet(t0 + Duration::from_millis(200), 11, 1400, 0.1);
        assert_eq!(cc.intervals.len(), 1);
    }

    #[test]
    fn slow_start_ends_at_half_the_receive_rate_whatever_the_rtt_does() {
        let t0 = Instant::now();
        let mut cc = RxCc::default();
        // 10 MB/s for 100 ms, then a loss.
        for i in 0..1000u16 {
            cc.on_packet(t0 + Duration::from_micros(100 * i as u64), i, 1000, 0.001);
        }
        cc.sample_recv_rate(t0 + Duration::from_millis(100));
        cc.on_packet(t0 + Duration::from_millis(100), 1001, 1000, 0.001);
        assert!(!cc.slow_start);
        // The queue that overflowed makes the RTT fifty times longer: the
        // rate stays at half the receive rate.
        for grtt in [0.001, 0.05] {
            let r = cc.rate(grtt);
            assert!((r / 5e6 - 1.0).abs() < 0.02, "at {grtt} s: {r}");
        }
    }

    #[test]
    fn one_short_receive_window_does_not_cut_the_rate() {
        let t0 = Instant::now();
        let mut cc = RxCc::default();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // 100 ms at 10 MB/s, then 50 ms at a fifth of it (the sender
        // paused); no loss.
        for i in 0..1000u16 {
            cc.on_packet(t0 + Duration::from_micros(100 * i as u64), i, 1000, 0.001);
        }
        cc.sample_recv_rate(ms(100));
        for i in 0..100u16 {
            cc.on_packet(ms(100) + Duration::from_micros(500 * i as u64), 1000 + i, 1000, 0.001);
        }
        cc.sample_recv_rate(ms(150));
        let r = cc.rate(0.001);
        assert!((r / 20e6 - 1.0).abs() < 0.02, "{r}");
    }

    #[test]
    fn duplicates_reordering_and_resync_are_not_loss() {
        let t0 = Instant::now();
        let mut cc = RxCc::default();
        cc.on_packet(t0, 10, 1400, 0.01);
        cc.on_packet(t0, 11, 1400, 0.01);
        cc.on_packet(t0, 11, 1400, 0.01);
        cc.on_packet(t0, 9, 1400, 0.01);
        cc.on_packet(t0, 5000, 1400, 0.01);
        assert!(cc.slow_start);
        assert_eq!(cc.loss_event_rate(0.01), 0.0);
    }

    #[test]
    fn slow_start_reports_twice_the_receive_rate() {
        let t0 = Instant::now();
        let mut cc = RxCc::default();
        // 1000 datagrams of 1000 bytes over 100 ms: 10 MB/s.
        for i in 0..1000u16 {
            cc.on_packet(t0 + Duration::from_micros(100 * i as u64), i, 1000, 0.001);
        }
        cc.sample_recv_rate(t0 + Duration::from_millis(100));
        let r = cc.rate(0.001);
        assert!((r / 20e6 - 1.0).abs() < 0.02, "{r}");
        let fb = cc.feedback(7, 0.001);
        assert_eq!(fb.cc_sequence, 7);
        assert_ne!(fb.cc_flags & cc_flags::START, 0);
    }

    #[test]
    fn sender_follows_the_slowest_receiver() {
        let t0 = Instant::now();
        let mut tx = TxCc::new(1e3, 1e9, 1e5, 1000.0);
        let fb = |rate: f64, flags: u8| CcFeedback {
            cc_sequence: 1,
            cc_flags: flags,
            cc_rtt: 0,
            cc_loss: 0,
            cc_rate: quant::quantize_rate(rate),
        };
        // Slow start: at most doubling per feedback.
        tx.on_feedback(t0, 1, &fb(1e7, cc_flags::START), Some(0.01), 0.001);
        assert_eq!(tx.clr(), Some(1));
        assert!((tx.rate() / 2e5 - 1.0).abs() < 0.01, "{}", tx.rate());
        // A slower receiver takes over and the rate drops at once.
        tx.on_feedback(t0, 2, &fb(5e4, 0), Some(0.01), 0.001);
        assert_eq!(tx.clr(), Some(2));
        assert!((tx.rate() / 5e4 - 1.0).abs() < 0.01, "{}", tx.rate());
        // A faster one does not.
        tx.on_feedback(t0, 3, &fb(1e6, 0), Some(0.01), 0.001);
        assert_eq!(tx.clr(), Some(2));
        assert_eq!(tx.probe_nodes().len(), 1);
        assert_eq!(tx.probe_nodes()[0].node_id, 2);
        // The CLR falls silent: the rate halves, the CLR is forgotten.
        tx.on_probe(t0 + Duration::from_millis(100), Duration::from_millis(10));
        assert!((tx.rate() / 2.5e4 - 1.0).abs() < 0.01, "{}", tx.rate());
        assert_eq!(tx.clr(), None);
        // Increases come at most once per CLR round trip (10 ms here).
        let t1 = t0 + Duration::from_millis(200);
        tx.on_feedback(t1, 4, &fb(1e12, 0), Some(0.01), 0.001);
        let once = tx.rate();
        // After slow start, by one segment (1000 bytes) per RTT (10 ms).
        assert!((once - (2.5e4 + 1e5)).abs() < 1.0, "{once}");
        tx.on_feedback(t1 + Duration::from_millis(5), 4, &fb(1e12, 0), Some(0.01), 0.001);
        assert_eq!(tx.rate(), once, "a second increase within one RTT");
        // Bounds hold (in slow start, doubling per RTT).
        for i in 1..40 {
            tx.on_feedback(t1 + Duration::from_millis(20 * i), 4, &fb(1e12, cc_flags::START), Some(0.01), 0.001);
        }
        assert_eq!(tx.rate(), 1e9);
    }

    #[test]
    fn a_data_limited_sender_keeps_its_rate() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let fb = |rate: f64, loss: f64| CcFeedback {
            cc_sequence: 1,
            cc_flags: 0,
            cc_rtt: 0,
            cc_loss: quant::quantize_loss(loss),
            cc_rate: quant::quantize_rate(rate),
        };
        let mut tx = TxCc::new(1e3, 1e9, 1e6, 1000.0);
        tx.on_feedback(t0, 1, &fb(1e6, 0.001), Some(0.01), 0.01);
        assert!((tx.rate() / 1e6 - 1.0).abs() < 0.01, "{}", tx.rate());
        // The sender runs out of data: the receivers' rate falls with
        // their receive rate, but the loss they saw allows far more.
        tx.note_idle();
        tx.on_feedback(ms(10), 1, &fb(2e4, 0.001), Some(0.01), 0.01);
        assert!((tx.rate() / 1e6 - 1.0).abs() < 0.01, "kept: {}", tx.rate());
        // Nor does it rise while data-limited.
        tx.on_feedback(ms(100), 1, &fb(1e8, 0.001), Some(0.01), 0.01);
        assert!((tx.rate() / 1e6 - 1.0).abs() < 0.01, "not raised: {}", tx.rate());
        // Heavy loss lowers it to the TCP equation's rate.
        tx.on_feedback(ms(200), 1, &fb(2e4, 0.2), Some(0.01), 0.01);
        let eq = tcp_rate(1000.0, tx.clr.unwrap().rtt, quant::unquantize_loss(quant::quantize_loss(0.2)));
        assert!((tx.rate() / eq - 1.0).abs() < 0.01, "{} vs {eq}", tx.rate());
        assert!(tx.rate() > 2e4);
        // Two probe intervals later without idling, the feedback rules again.
        tx.on_probe(ms(210), Duration::from_millis(10));
        tx.on_probe(ms(220), Duration::from_millis(10));
        tx.on_feedback(ms(221), 1, &fb(2e4, 0.2), Some(0.01), 0.01);
        assert!((tx.rate() / 2e4 - 1.0).abs() < 0.01, "{}", tx.rate());
    }
}
