//! Gives libmcast.so the soname libmcast.so.MAJOR (the ABI major version), so
//! programs linked against it keep working across compatible upgrades and
//! refuse an incompatible one.

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").expect("cargo sets CARGO_PKG_VERSION_MAJOR");
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "android" || target_os.ends_with("bsd") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmcast.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
