//! The kernel components a simulated server boots with, as `rump_server -l`
//! chooses them: `-lrumpvfs -lrumpfs_tmpfs` for file systems,
//! `-lrumpnet -lrumpnet_net` for the socket layer and its domains.
//!
//! A kernel without a component answers as the real one does without it
//! (`../shared/traces/net/README.md`): without `vfs` every file-system
//! syscall is ENOSYS and `vfs` has no children in sysctl; without a domain,
//! socket(2) of that family is EAFNOSUPPORT.

use std::fmt;
use std::str::FromStr;

/// One component, named as `rumpsp serve --components` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    /// librumpvfs: the VFS layer, the rumpfs root and the file-system syscalls.
    Vfs,
    /// librumpfs_tmpfs: tmpfs mounts (needs `vfs`).
    Tmpfs,
    /// librumpnet + librumpnet_net: the socket layer, interfaces, routing.
    Net,
    /// librumpnet_local: AF_LOCAL sockets (needs `net`).
    Local,
    /// librumpnet_netinet: AF_INET, lo0 configured at boot (needs `net`).
    Inet,
    /// librumpnet_netinet6: AF_INET6 (needs `inet`).
    Inet6,
    /// librumpvfs_fifofs in effect (preloaded): FIFOs open and carry data
    /// (needs `vfs` and `local`). Without it an open of a FIFO is EOPNOTSUPP.
    Fifo,
}

impl Component {
    /// Every component, in the order the names list them.
    pub const ALL: [Component; 7] = [
        Component::Vfs,
        Component::Tmpfs,
        Component::Net,
        Component::Local,
        Component::Inet,
        Component::Inet6,
        Component::Fifo,
    ];

    /// The component's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Component::Vfs => "vfs",
            Component::Tmpfs => "tmpfs",
            Component::Net => "net",
            Component::Local => "local",
            Component::Inet => "inet",
            Component::Inet6 => "inet6",
            Component::Fifo => "fifo",
        }
    }

    /// The components this one cannot load without.
    fn needs(self) -> &'static [Component] {
        match self {
            Component::Vfs | Component::Net => &[],
            Component::Tmpfs => &[Component::Vfs],
            Component::Local | Component::Inet => &[Component::Net],
            Component::Inet6 => &[Component::Inet],
            Component::Fifo => &[Component::Vfs, Component::Local],
        }
    }
}

/// Why a component list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComponentsError {
    /// A name that is no component.
    #[error("unknown component {0:?} (known: vfs, tmpfs, net, local, inet, inet6, fifo)")]
    Unknown(String),
    /// A component without one it depends on.
    #[error("component {0} needs {1}")]
    Missing(&'static str, &'static str),
}

/// A set of components (a bit per [`Component`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Components(u8);

impl Components {
    /// No component at all.
    pub const NONE: Components = Components(0);

    /// What `rump_server -lrumpvfs -lrumpfs_tmpfs` has: the default.
    pub const FILE_SYSTEMS: Components = Components(0b11);

    /// Every component.
    pub const ALL: Components = Components(0b111_1111);

    /// Whether `c` is in the set.
    pub fn has(self, c: Component) -> bool {
        self.0 & (1 << c as u8) != 0
    }

    /// The set with `c` added.
    pub fn with(self, c: Component) -> Components {
        Components(self.0 | (1 << c as u8))
    }

    /// Checks that every component has what it needs.
    pub fn validate(self) -> Result<Components, ComponentsError> {
        for c in Component::ALL {
            if self.has(c) {
                if let Some(n) = c.needs().iter().find(|n| !self.has(**n)) {
                    return Err(ComponentsError::Missing(c.name(), n.name()));
                }
            }
        }
        Ok(self)
    }

    /// The components a `rump_server` command line loads: its `-lrump…`
    /// libraries, and fifofs in effect only when it is preloaded (with `-l`
    /// alone librumpvfs's placeholder FIFO operations win; see the net
    /// captures' README). `None` when the command names no component at all.
    pub fn from_server_cmd(cmd: &str) -> Option<Components> {
        let mut set = Components::NONE;
        let mut any = false;
        for word in cmd.split(|ch: char| ch.is_whitespace() || ch == '"' || ch == '=') {
            let lib = word
                .strip_prefix("-l")
                .or_else(|| word.strip_suffix(".so").and_then(|w| w.strip_prefix("lib")));
            let Some(lib) = lib else { continue };
            let preloaded = !word.starts_with("-l");
            let c = match lib {
                "rumpvfs" => Component::Vfs,
                "rumpfs_tmpfs" => Component::Tmpfs,
                "rumpnet" | "rumpnet_net" => Component::Net,
                "rumpnet_local" => Component::Local,
                "rumpnet_netinet" => Component::Inet,
                "rumpnet_netinet6" => Component::Inet6,
                "rumpvfs_fifofs" if preloaded => Component::Fifo,
                _ => continue,
            };
            any = true;
            set = set.with(c);
        }
        any.then_some(set)
    }
}

impl Default for Components {
    fn default() -> Self {
        Components::FILE_SYSTEMS
    }
}

impl fmt::Display for Components {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Component::ALL
            .iter()
            .filter(|c| self.has(**c))
            .map(|c| c.name())
            .collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

impl FromStr for Components {
    type Err = ComponentsError;

    /// A comma-separated list (`vfs,tmpfs,net,inet`); `none` is the empty set.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = Components::NONE;
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if name == "none" {
                continue;
            }
            let c = Component::ALL
                .iter()
                .find(|c| c.name() == name)
                .ok_or_else(|| ComponentsError::Unknown(name.to_string()))?;
            set = set.with(*c);
        }
        set.validate()
    }
}

/// The syscalls librumpvfs establishes at boot (`rumpvfs_syscalls.c`,
/// generated by makerumpsyscalls.sh from syscalls.master: every RUMP syscall
/// of the VFS files), with NetBSD 7's numbers for the statvfs family. A kernel
/// without `vfs` answers them ENOSYS before touching any argument: the
/// syscall slot is still `sys_nomodule`'s.
pub const VFS_SYSCALLS: &[u32] = &[
    5, 9, 10, 12, 13, 15, 16, 22, 33, 34, 35, 36, 45, 56, 57, 58, 60, 61, 95, 123, 124, 128, 132,
    136, 137, 173, 174, 191, 199, 200, 201, 241, 270, 274, 275, 283, 284, 285, 289, 290, 296, 297,
    304, 354, 356, 357, 358, 359, 360, 361, 362, 363, 364, 365, 366, 367, 368, 369, 370, 371, 372,
    375, 376, 377, 378, 379, 380, 381, 382, 383, 384, 385, 386, 390, 395, 396, 410, 420, 423, 424,
    439, 441, 450, 451, 457, 458, 459, 460, 461, 462, 463, 464, 466, 467, 468, 469, 470, 471, 472,
    473, 479, 480,
];

/// The syscalls librumpnet establishes (`rumpnet_syscalls.c`): the socket calls.
pub const NET_SYSCALLS: &[u32] = &[
    27, 28, 29, 30, 31, 32, 98, 104, 105, 106, 118, 133, 134, 135, 394, 456, 475, 476,
];

/// The component that establishes syscall `sysnum`, if it is not the base
/// kernel's (librump's own syscalls are always there).
pub fn component_of(sysnum: u32) -> Option<Component> {
    if VFS_SYSCALLS.binary_search(&sysnum).is_ok() {
        Some(Component::Vfs)
    } else if NET_SYSCALLS.binary_search(&sysnum).is_ok() {
        Some(Component::Net)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_dependencies_are_checked() {
        let all: Components = "vfs,tmpfs,net,local,inet,inet6,fifo".parse().unwrap();
        assert_eq!(all, Components::ALL);
        assert_eq!(all.to_string(), "vfs,tmpfs,net,local,inet,inet6,fifo");
        assert_eq!(Components::default().to_string(), "vfs,tmpfs");
        assert_eq!("none".parse::<Components>(), Ok(Components::NONE));
        assert_eq!(
            "tmpfs".parse::<Components>(),
            Err(ComponentsError::Missing("tmpfs", "vfs"))
        );
        assert_eq!(
            "net,inet6".parse::<Components>(),
            Err(ComponentsError::Missing("inet6", "inet"))
        );
        assert!(matches!(
            "vfs,nfs".parse::<Components>(),
            Err(ComponentsError::Unknown(n)) if n == "nfs"
        ));
    }

    #[test]
    fn syscalls_belong_to_the_component_that_establishes_them() {
        assert!(VFS_SYSCALLS.windows(2).all(|w| w[0] < w[1]));
        assert!(NET_SYSCALLS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(component_of(5), Some(Component::Vfs)); // open
        assert_eq!(component_of(199), Some(Component::Vfs)); // lseek, even on a pipe
        assert_eq!(component_of(394), Some(Component::Net)); // __socket30
        for base in [3, 4, 6, 20, 41, 42, 92, 202, 344, 440] {
            // read write close getpid dup pipe fcntl __sysctl kqueue __fstat50
            assert_eq!(component_of(base), None, "syscall {base}");
        }
    }

    #[test]
    fn server_commands_name_their_components() {
        let c = |s: &str| Components::from_server_cmd(s).map(|c| c.to_string());
        assert_eq!(
            c("rump_server -s -lrumpvfs -lrumpfs_tmpfs unix:///tmp/x").as_deref(),
            Some("vfs,tmpfs")
        );
        assert_eq!(
            c("rump_server -s -lrumpnet -lrumpnet_net -lrumpnet_netinet unix://x").as_deref(),
            Some("net,inet")
        );
        // fifofs with -l alone is loaded but not in effect; preloaded it is.
        let stub = "rump_server -s -lrumpvfs -lrumpfs_tmpfs -lrumpnet -lrumpnet_net \
                    -lrumpnet_local -lrumpvfs_fifofs unix://x";
        assert_eq!(c(stub).as_deref(), Some("vfs,tmpfs,net,local"));
        let pre = format!("LD_PRELOAD=\"librumpvfs_fifofs.so librumpvfs.so\" {stub}");
        assert_eq!(c(&pre).as_deref(), Some("vfs,tmpfs,net,local,fifo"));
        assert_eq!(c("./my-server unix://x"), None);
    }
}
