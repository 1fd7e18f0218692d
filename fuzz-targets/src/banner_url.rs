//! The banner and URL parsers. Invariants: no panic; a banner that parses
//! re-formats (when its components allow) into a line that parses back to the
//! same fields; a URL that parses prints as a URL that parses back to the same
//! address, for the server and the client role.

use std::path::Path;

use rumpsp_protocol::banner::{find_banner_line, Banner, ReceivedBanner};
use rumpsp_protocol::url::{parse_url_in, Role};

/// The target.
pub fn run(input: &[u8]) {
    // banner
    let _ = find_banner_line(input);
    let r = ReceivedBanner::from_line(input);
    let _ = r.version_warning();
    if let Ok(b) = &r.parsed {
        if let Ok(line) = b.to_line() {
            assert!(line.len() <= 95);
            assert_eq!(
                Banner::parse(&line).as_ref(),
                Ok(b),
                "banner does not round-trip"
            );
        }
    }
    // URL
    let Ok(s) = std::str::from_utf8(input) else {
        return;
    };
    for role in [Role::Server, Role::Client] {
        for cwd in [Some(Path::new("/work/dir")), None] {
            if let Ok(addr) = parse_url_in(s, role, cwd, 108) {
                let printed = addr.to_string();
                let again = parse_url_in(&printed, role, cwd, 108);
                // a relative path without a cwd stays relative and prints as a relative URL
                assert_eq!(
                    again.as_ref(),
                    Ok(&addr),
                    "{s:?} -> {printed:?} does not parse back"
                );
            }
        }
    }
}
