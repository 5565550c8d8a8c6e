//! The smallest useful program: is chronyd synchronized, and to what?
//!
//! ```text
//! cargo run -p chrony --example minimal -- [ADDRESS]
//! ```
//! ADDRESS is chronyd's Unix socket (default `/run/chrony/chronyd.sock`;
//! needs root or write access to its directory) or `HOST:PORT` for UDP.
use std::process::ExitCode;

fn main() -> Result<ExitCode, chrony::Error> {
    let address = std::env::args().nth(1);
    let address = address.as_deref().unwrap_or("/run/chrony/chronyd.sock");
    let mut client = chrony::Client::connect(address)?;
    let tracking = client.tracking()?;
    println!(
        "reference {} stratum {} system time {:+e} s error bound {:e} s",
        tracking.reference_name(),
        tracking.stratum,
        tracking.current_correction,
        tracking.clock_error_bound()
    );
    Ok(if tracking.is_synchronized() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
