//! `mcast channel NAME` and `mcast interfaces`: what a channel name maps to,
//! and which interfaces mcast would use.

use serde_json::json;

use crate::args::{ChannelArgs, Common};
use crate::stats::print_summary;
use crate::util::CliResult;

pub fn channel(common: &Common, args: &ChannelArgs) -> CliResult {
    let (addr, port) = mcast::channel_address(&args.name, args.scope, args.ssm)?;
    if common.json {
        print_summary(&json!({
            "channel": args.name,
            "scope": format!("{:?}", args.scope).to_lowercase(),
            "ssm": args.ssm,
            "group": addr.to_string(),
            "port": port,
        }));
    } else {
        println!("{addr} {port}");
    }
    Ok(())
}

pub fn interfaces(common: &Common) -> CliResult {
    let all = mcast::net::interfaces()?;
    let chosen = mcast::net::default_interface().ok();
    if common.json {
        let list: Vec<_> = all
            .iter()
            .map(|i| {
                json!({
                    "name": i.name, "index": i.index, "up": i.up, "multicast": i.multicast,
                    "loopback": i.loopback, "ipv6": i.ipv6.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                    "candidate": i.is_candidate(), "default": chosen.as_deref() == Some(i.name.as_str()),
                })
            })
            .collect();
        print_summary(&json!({ "interfaces": list, "default": chosen }));
        return Ok(());
    }
    for i in &all {
        let mark = if chosen.as_deref() == Some(i.name.as_str()) {
            "default"
        } else if i.is_candidate() {
            "candidate"
        } else {
            "-"
        };
        let mut why = Vec::new();
        if !i.up {
            why.push("down");
        }
        if !i.multicast {
            why.push("no multicast");
        }
        if i.loopback {
            why.push("loopback");
        }
        if i.ipv6.is_empty() {
            why.push("no IPv6 address");
        }
        let addrs: Vec<String> = i.ipv6.iter().map(|a| a.to_string()).collect();
        println!(
            "{:<12} {:<9} {}{}",
            i.name,
            mark,
            if addrs.is_empty() { "-".to_string() } else { addrs.join(" ") },
            if why.is_empty() { String::new() } else { format!("  ({})", why.join(", ")) }
        );
    }
    if chosen.is_none() {
        eprintln!("mcast: no interface qualifies (up, multicast, not loopback, with an IPv6 address): name one with --interface");
    }
    Ok(())
}
