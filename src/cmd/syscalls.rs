//! `rumpsp syscalls`: the simulated kernel's syscall coverage with support
//! levels (full, partial and what is missing, none), as text or JSON lines.

use rumpsp_sim_kernel::sys::{coverage, Support};

/// The coverage table as printed: every named syscall (or, with
/// `implemented`, the full and partial ones), as aligned text or one JSON
/// object a line (`number`, `name`, `level`, `missing`).
pub fn table(implemented: bool, json: bool) -> String {
    let rows = coverage();
    let shown = rows.iter().filter(|r| !implemented || r.2 != Support::None);
    let mut out = String::new();
    if json {
        for (n, name, level) in shown {
            let v = serde_json::json!({
                "number": n,
                "name": name,
                "level": level.name(),
                "missing": level.missing(),
            });
            out.push_str(&v.to_string());
            out.push('\n');
        }
        return out;
    }
    out.push_str(&format!(
        "{:>4}  {:<22} {:<8} missing\n",
        "num", "name", "level"
    ));
    for (n, name, level) in shown {
        let line = match level {
            Support::None => format!("{n:>4}  {name:<22} none     (ENOSYS)"),
            _ => format!(
                "{n:>4}  {name:<22} {:<8} {}",
                level.name(),
                level.missing().unwrap_or("")
            ),
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let count = |f: fn(&Support) -> bool| rows.iter().filter(|r| f(&r.2)).count();
    out.push_str(&format!(
        "{} of {} named syscalls implemented: {} full, {} partial; every other number below 512 answers ENOSYS\n",
        count(|s| *s != Support::None),
        rows.len(),
        count(|s| *s == Support::Full),
        count(|s| matches!(s, Support::Partial(_))),
    ));
    out
}

/// The README's coverage tables, as `rumpsp syscalls --markdown` prints
/// them: the full calls four to a row, then the partial ones with what is
/// missing (the text of `sys::PARTIAL` without its leading "name: ").
pub fn markdown() -> String {
    let rows = coverage();
    let full: Vec<String> = rows
        .iter()
        .filter(|r| r.2 == Support::Full)
        .map(|(n, name, _)| format!("{n} `{name}`"))
        .collect();
    let mut out = format!("Full ({}):\n\n| | | | |\n|---|---|---|---|\n", full.len());
    for chunk in full.chunks(4) {
        let mut cells: Vec<&str> = chunk.iter().map(String::as_str).collect();
        cells.resize(4, "");
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    let partial: Vec<_> = rows
        .iter()
        .filter_map(|(n, name, level)| match level {
            Support::Partial(what) => Some((n, name, what)),
            _ => None,
        })
        .collect();
    out.push_str(&format!(
        "\nPartial ({}):\n\n| number | name | what is missing |\n|---|---|---|\n",
        partial.len()
    ));
    for (n, name, what) in partial {
        let what = what.strip_prefix(&format!("{name}: ")).unwrap_or(what);
        out.push_str(&format!("| {n} | `{name}` | {what} |\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's coverage section is what the code says: regenerate it
    /// with `rumpsp syscalls --markdown` when a level changes.
    #[test]
    fn the_readme_coverage_tables_match_the_code() {
        let readme = include_str!("../../README.md");
        let want = markdown();
        assert!(
            readme.contains(&want),
            "README.md's coverage tables differ from `rumpsp syscalls --markdown`:\n{want}"
        );
    }

    #[test]
    fn markdown_lists_full_and_partial_calls_apart() {
        let m = markdown();
        let (full, partial) = m.split_once("Partial (").expect("two tables");
        assert!(full.contains("| 3 `read` |"), "{full}");
        assert!(partial.contains("| 92 | `fcntl` | F_GETOWN"), "{partial}");
        assert!(!full.contains("`fcntl`") && !partial.contains("`read`"));
        assert!(!m.contains("`kill`"), "none is left out");
    }

    #[test]
    fn text_shows_levels_and_what_is_missing() {
        let t = table(false, false);
        let line = |num: &str| {
            t.lines()
                .find(|l| l.split_whitespace().next() == Some(num))
                .unwrap_or_default()
                .to_owned()
        };
        assert!(line("3").contains(" full"), "{}", line("3"));
        let fcntl = line("92");
        assert!(
            fcntl.contains("partial") && fcntl.contains("F_GETOWN"),
            "{fcntl}"
        );
        assert!(line("54").contains("ioctl: 4 commands"), "{}", line("54"));
        assert!(line("37").contains("none"), "kill: {}", line("37"));
        assert!(t.lines().last().is_some_and(|l| l.contains(" partial;")));
    }

    #[test]
    fn implemented_leaves_out_none_and_json_has_one_object_a_line() {
        let t = table(true, false);
        assert!(!t.lines().any(|l| l.contains(" none ")), "{t}");
        let j = table(true, true);
        let objs: Vec<serde_json::Value> = j
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON object"))
            .collect();
        assert_eq!(objs.len(), rumpsp_sim_kernel::sys::TABLE.len());
        let fcntl = objs.iter().find(|o| o["number"] == 92).expect("fcntl");
        assert_eq!(fcntl["level"], "partial");
        assert!(fcntl["missing"]
            .as_str()
            .is_some_and(|m| m.contains("F_SETOWN")));
        let read = objs.iter().find(|o| o["number"] == 3).expect("read");
        assert_eq!(read["level"], "full");
        assert!(read["missing"].is_null());
    }
}
