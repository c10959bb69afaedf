//! `mcast channel NAME` and `mcast interfaces`: what a channel name maps to,
//! and which interfaces mcast would use.

use serde_json::json;

use crate::args::{ChannelArgs, Common, KeygenArgs};
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

/// `mcast keygen [FILE]`: a new channel key, as 64 hexadecimal digits and
/// a newline. `mcast keygen --sign FILE`: a signing key to FILE, its public
/// key to FILE.pub.
pub fn keygen(common: &Common, args: &KeygenArgs) -> CliResult {
    if args.sign {
        let path = args.file.as_ref().expect("clap: --sign requires FILE");
        let key = mcast::SigningKey::generate();
        let public = key.public_key();
        let mut pub_path = path.clone().into_os_string();
        pub_path.push(".pub");
        let pub_path = std::path::PathBuf::from(pub_path);
        if !args.force && pub_path.exists() {
            // Checked first: no signing key is left behind without its public key.
            return Err(crate::util::Failure::new(format!(
                "cannot create key file {}: it exists (--force replaces it)",
                pub_path.display()
            )));
        }
        write_key_file(path, &key.to_hex(), 0o600, args.force)?;
        write_key_file(&pub_path, &public.to_hex(), 0o644, args.force)?;
        if common.json {
            print_summary(&json!({"signing_key_file": path.display().to_string(),
                "public_key_file": pub_path.display().to_string(), "public_key": public.to_hex()}));
        } else if !common.quiet {
            eprintln!(
                "wrote a new signing key to {} (keep it secret: use it with mcast send --sign-key) and its public key {} to {} (give it to receivers: mcast recv --trust)",
                path.display(),
                public.to_hex(),
                pub_path.display()
            );
        }
        return Ok(());
    }
    let key = mcast::Key::generate();
    let Some(path) = &args.file else {
        println!("{}", key.to_hex());
        return Ok(());
    };
    write_key_file(path, &key.to_hex(), 0o600, args.force)?;
    if common.json {
        print_summary(&json!({"key_file": path.display().to_string(), "key_id": key.id()}));
    } else if !common.quiet {
        eprintln!("wrote a new key to {} (keep it secret; give it to every sender and receiver of the channel)", path.display());
    }
    Ok(())
}

/// Writes `hex` and a newline to a new file of mode `mode` (replacing an
/// existing one only with `force`).
fn write_key_file(path: &std::path::Path, hex: &str, mode: u32, force: bool) -> CliResult {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).mode(mode);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    let mut f = opts.open(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists { " (it exists; --force replaces it)" } else { "" };
        crate::util::Failure::new(format!("cannot create key file {}: {e}{hint}", path.display()))
    })?;
    let text = format!("{hex}\n");
    f.write_all(text.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| crate::util::Failure::new(format!("cannot write key file {}: {e}", path.display())))
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
