//! Statistics as JSON, and JSON lines for `--report` (the channel between
//! `mcast demo` and the `mcast send/recv` processes it starts).

use std::io::Write;

use serde_json::{json, Value};

pub fn sender_stats_json(s: &mcast::SenderStats) -> Value {
    json!({
        "datagrams_sent": s.datagrams_sent,
        "bytes_sent": s.bytes_sent,
        "datagrams_received": s.datagrams_received,
        "nacks_received": s.nacks_received,
        "data_segments_sent": s.data_segments_sent,
        "repair_segments_sent": s.repair_segments_sent,
        "parity_segments_sent": s.parity_segments_sent,
        "flushes_sent": s.flushes_sent,
        "squelches_sent": s.squelches_sent,
        "objects_sent": s.objects_sent,
        "objects_aborted": s.objects_aborted,
        "grtt_us": s.grtt_us,
        "tx_rate_bps": s.tx_rate_bps,
        "cc_feedback_received": s.cc_feedback_received,
        "cc_clr": s.cc_clr,
        "datagrams_unauthenticated": s.datagrams_unauthenticated,
        "datagrams_replayed": s.datagrams_replayed,
        "datagrams_seal_mismatch": s.datagrams_seal_mismatch,
    })
}

pub fn receiver_stats_json(s: &mcast::ReceiverStats) -> Value {
    json!({
        "datagrams_received": s.datagrams_received,
        "bytes_received": s.bytes_received,
        "datagrams_sent": s.datagrams_sent,
        "nacks_sent": s.nacks_sent,
        "nacks_suppressed": s.nacks_suppressed,
        "data_segments_received": s.data_segments_received,
        "repair_segments_received": s.repair_segments_received,
        "parity_segments_received": s.parity_segments_received,
        "fec_recovered_segments": s.fec_recovered_segments,
        "duplicates": s.duplicates,
        "objects_completed": s.objects_completed,
        "objects_aborted": s.objects_aborted,
        "acks_sent": s.acks_sent,
        "bytes_sent": s.bytes_sent,
        "senders": s.senders,
        "datagrams_foreign_source": s.datagrams_foreign_source,
        "malformed_received": s.malformed_received,
        "senders_evicted": s.senders_evicted,
        "objects_rejected": s.objects_rejected,
        "datagrams_unauthenticated": s.datagrams_unauthenticated,
        "datagrams_replayed": s.datagrams_replayed,
        "datagrams_seal_mismatch": s.datagrams_seal_mismatch,
        "objects_unverified": s.objects_unverified,
        "signatures_refused": s.signatures_refused,
        "nacks_received": s.nacks_received,
    })
}

/// Writes one JSON value as a line on stdout and flushes at once, so the
/// reading side (the demo) sees progress as it happens.
pub fn emit_line(v: &Value) {
    let mut out = std::io::stdout().lock();
    // A closed pipe means the demo has gone; nothing useful to do about it.
    let _ = writeln!(out, "{v}");
    let _ = out.flush();
}

/// Prints the final `--json` summary, pretty for people reading it.
pub fn print_summary(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", serde_json::to_string_pretty(v).unwrap_or_default());
    let _ = out.flush();
}
