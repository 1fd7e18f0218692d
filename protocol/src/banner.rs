//! The banner line the server sends right after accept (spec §3):
//! `RUMPSP-<major>.<minor>-<ostype>-<osrelease>/<machine>\n`, at most 95 bytes.
//!
//! The C client checks only that its single read of at most 95 bytes ends in a
//! newline. We do the same ([`find_banner_line`], [`ReceivedBanner`]) and in
//! addition expose the parsed fields when the line has the standard form.

/// Most bytes a banner may have, newline included (the C side formats into 96 bytes).
pub const MAX_BANNER_LEN: usize = 95;
/// The protocol version every server since 2013 announces.
pub const PROTOCOL_VERSION: (u32, u32) = (0, 4);

/// Why a banner could not be formatted or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BannerError {
    /// The formatted line would exceed 95 bytes (C would truncate it and lose the newline).
    #[error("banner of {len} bytes exceeds the {MAX_BANNER_LEN}-byte limit")]
    TooLong {
        /// Length the line would have.
        len: usize,
    },
    /// A component contains a character that would make the line unparseable.
    #[error("banner component {component} contains {bad:?}")]
    BadComponent {
        /// Which component.
        component: &'static str,
        /// The offending character.
        bad: char,
    },
    /// No newline within the first 95 bytes received.
    #[error("no newline within the first {MAX_BANNER_LEN} bytes of the banner")]
    NoNewline,
    /// The line is not of the `RUMPSP-<major>.<minor>-<ostype>-<osrelease>/<machine>` form.
    #[error(
        "banner is not of the form RUMPSP-<major>.<minor>-<ostype>-<osrelease>/<machine>: {0}"
    )]
    Unparsed(&'static str),
}

/// The fields of a standard banner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Banner {
    /// Protocol major version.
    pub major: u32,
    /// Protocol minor version.
    pub minor: u32,
    /// The kernel's `ostype` (`NetBSD`).
    pub ostype: String,
    /// The kernel's `osrelease` (`7.99.34`).
    pub osrelease: String,
    /// The kernel's `MACHINE` (`amd64`).
    pub machine: String,
}

impl Default for Banner {
    /// What the real NetBSD 7.99.34 server in our captures announces.
    fn default() -> Self {
        Banner::new("NetBSD", "7.99.34", "amd64")
    }
}

impl Banner {
    /// A version-0.4 banner.
    pub fn new(ostype: &str, osrelease: &str, machine: &str) -> Banner {
        Banner {
            major: PROTOCOL_VERSION.0,
            minor: PROTOCOL_VERSION.1,
            ostype: ostype.to_owned(),
            osrelease: osrelease.to_owned(),
            machine: machine.to_owned(),
        }
    }

    /// True when the banner announces the version this crate speaks (0.4).
    pub fn is_supported_version(&self) -> bool {
        (self.major, self.minor) == PROTOCOL_VERSION
    }

    /// The line to send, newline included. Components may not contain a newline
    /// or NUL, `ostype` may not contain `-` or `/`, and the others not `/`, so
    /// that the line parses back into the same fields.
    pub fn to_line(&self) -> Result<Vec<u8>, BannerError> {
        let check = |component: &'static str, s: &str, extra: &[char]| match s
            .chars()
            .find(|c| *c == '\n' || *c == '\0' || *c == '/' || extra.contains(c))
        {
            Some(bad) => Err(BannerError::BadComponent { component, bad }),
            None => Ok(()),
        };
        check("ostype", &self.ostype, &['-'])?;
        check("osrelease", &self.osrelease, &[])?;
        check("machine", &self.machine, &[])?;
        let line = format!(
            "RUMPSP-{}.{}-{}-{}/{}\n",
            self.major, self.minor, self.ostype, self.osrelease, self.machine
        );
        if line.len() > MAX_BANNER_LEN {
            return Err(BannerError::TooLong { len: line.len() });
        }
        Ok(line.into_bytes())
    }

    /// Parses a banner line (with or without its trailing newline).
    pub fn parse(line: &[u8]) -> Result<Banner, BannerError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let s = std::str::from_utf8(line).map_err(|_| BannerError::Unparsed("not UTF-8"))?;
        let rest = s
            .strip_prefix("RUMPSP-")
            .ok_or(BannerError::Unparsed("missing RUMPSP- prefix"))?;
        let (version, rest) = rest
            .split_once('-')
            .ok_or(BannerError::Unparsed("missing '-' after the version"))?;
        let (major, minor) = version
            .split_once('.')
            .ok_or(BannerError::Unparsed("version has no '.'"))?;
        let number = |v: &str| -> Result<u32, BannerError> {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BannerError::Unparsed("version is not <digits>.<digits>"));
            }
            v.parse()
                .map_err(|_| BannerError::Unparsed("version number too large"))
        };
        let (os, machine) = rest
            .rsplit_once('/')
            .ok_or(BannerError::Unparsed("missing '/' before the machine"))?;
        let (ostype, osrelease) = os.split_once('-').ok_or(BannerError::Unparsed(
            "missing '-' between ostype and osrelease",
        ))?;
        if os.contains('/') || line.contains(&0) {
            return Err(BannerError::Unparsed("stray '/' or NUL"));
        }
        Ok(Banner {
            major: number(major)?,
            minor: number(minor)?,
            ostype: ostype.to_owned(),
            osrelease: osrelease.to_owned(),
            machine: machine.to_owned(),
        })
    }
}

/// Looks for the banner's newline. `Ok(Some(n))`: the banner is the first `n`
/// bytes (newline included); `Ok(None)`: read more; `Err`: 95 bytes without a newline.
pub fn find_banner_line(buf: &[u8]) -> Result<Option<usize>, BannerError> {
    let window = &buf[..buf.len().min(MAX_BANNER_LEN)];
    match window.iter().position(|&b| b == b'\n') {
        Some(i) => Ok(Some(i + 1)),
        None if buf.len() >= MAX_BANNER_LEN => Err(BannerError::NoNewline),
        None => Ok(None),
    }
}

/// A banner as a client received it: any newline-terminated line is accepted
/// (as the C client does), and its fields are available when it parses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedBanner {
    /// The line without its newline.
    pub line: Vec<u8>,
    /// The parsed fields, or why the line did not parse.
    pub parsed: Result<Banner, BannerError>,
}

impl ReceivedBanner {
    /// Interprets a line found by [`find_banner_line`].
    pub fn from_line(line: &[u8]) -> ReceivedBanner {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        ReceivedBanner {
            line: line.to_vec(),
            parsed: Banner::parse(line),
        }
    }

    /// A warning for the user when the server announces something other than version 0.4.
    pub fn version_warning(&self) -> Option<String> {
        match &self.parsed {
            Ok(b) if b.is_supported_version() => None,
            Ok(b) => Some(format!(
                "server announces protocol {}.{}, this client speaks {}.{}",
                b.major, b.minor, PROTOCOL_VERSION.0, PROTOCOL_VERSION.1
            )),
            Err(e) => Some(format!(
                "server banner {:?} not understood ({e}); continuing as the C client would",
                String::from_utf8_lossy(&self.line)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_banner() {
        let line = b"RUMPSP-0.4-NetBSD-7.99.34/amd64\n";
        assert_eq!(Banner::default().to_line().unwrap(), line);
        assert_eq!(Banner::parse(line).unwrap(), Banner::default());
        assert_eq!(find_banner_line(line), Ok(Some(32)));
        assert_eq!(find_banner_line(&line[..31]), Ok(None));
    }

    #[test]
    fn osrelease_may_hold_dashes() {
        let b = Banner::new("NetBSD", "10.0-STABLE", "evbarm");
        let line = b.to_line().unwrap();
        assert_eq!(Banner::parse(&line).unwrap(), b);
    }

    #[test]
    fn length_limit_is_95_bytes() {
        // "RUMPSP-0.4-" (11) + "X" + "-" + release + "/" + "m" + "\n" = 16 + release
        let fits = Banner::new("X", &"1".repeat(79), "m");
        assert_eq!(fits.to_line().unwrap().len(), 95);
        let over = Banner::new("X", &"1".repeat(80), "m");
        assert_eq!(over.to_line(), Err(BannerError::TooLong { len: 96 }));
    }

    #[test]
    fn unparseable_components_are_refused() {
        assert!(Banner::new("Net-BSD", "1", "m").to_line().is_err());
        assert!(Banner::new("NetBSD", "1/2", "m").to_line().is_err());
        assert!(Banner::new("NetBSD", "1", "a\nb").to_line().is_err());
    }

    #[test]
    fn any_newline_terminated_line_is_accepted() {
        let r = ReceivedBanner::from_line(b"hello there\n");
        assert_eq!(r.line, b"hello there");
        assert!(r.parsed.is_err());
        assert!(r.version_warning().is_some());
        let old = ReceivedBanner::from_line(b"RUMPSP-0.1-NetBSD-5.99/i386\n");
        assert_eq!(old.parsed.as_ref().unwrap().minor, 1);
        assert!(old.version_warning().unwrap().contains("0.1"));
        let cur = ReceivedBanner::from_line(b"RUMPSP-0.4-NetBSD-7.99.34/amd64\n");
        assert_eq!(cur.version_warning(), None);
    }

    #[test]
    fn no_newline_within_95_bytes() {
        assert_eq!(find_banner_line(&[b'a'; 95]), Err(BannerError::NoNewline));
        let mut v = vec![b'a'; 94];
        v.push(b'\n');
        assert_eq!(find_banner_line(&v), Ok(Some(95)));
    }

    #[test]
    fn malformed_versions() {
        for bad in [
            &b"RUMPSP-0-NetBSD-1/m"[..],
            b"RUMPSP-a.4-NetBSD-1/m",
            b"RUMPSP-0.4-NetBSD1/m",
            b"RUMPSP-0.4-NetBSD-1",
            b"RUMPSP-.4-NetBSD-1/m",
            b"rumpsp-0.4-NetBSD-1/m",
            b"RUMPSP-99999999999.4-NetBSD-1/m",
        ] {
            assert!(
                Banner::parse(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
