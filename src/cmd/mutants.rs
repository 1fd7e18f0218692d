//! `rumpsp conformance --mutants`: the mutation suite. The selection runs once
//! as it is (the baseline), then once per [`Mutation`] through a [`MutWire`]
//! (rumpsp_conformance::mutate) in front of the same server. The verdicts are
//! the normal replay and catalogue verdicts; this only tabulates them.
//!
//! A mutant is *killed* by a column (corpus = real + regression, catalog,
//! differential) when an item that passed the baseline fails under it,
//! *survived* when the mutation changed something there and everything still
//! passed, *n.a.* when it changed nothing there (or the column cannot judge
//! that bug: [`Mutation::catalog_judges`]). A control passes when no item
//! that passed the baseline fails under it. Exit 1 on a survivor, a failing
//! control, or a mutant no column exercised.

use std::collections::BTreeSet;

use rumpsp_conformance::mutate::{Mutation, MUTATIONS};

use super::conformance::{execute, ConformanceArgs, Outcome, Plan, Target};

/// Columns of the kill table and the suites each covers.
const COLUMNS: [(&str, &[&str]); 3] = [
    ("corpus", &["real", "regression"]),
    ("catalog", &["catalog"]),
    ("differential", &["differential"]),
];

/// One cell: how a mutation fared against one column.
fn cell(m: Mutation, column: &str, items: &[&Outcome]) -> (String, bool) {
    let failed: Vec<&str> = items
        .iter()
        .filter(|o| !o.pass)
        .map(|o| o.id.as_str())
        .collect();
    let injected = items.iter().any(|o| o.injected > 0);
    let first = |v: &[&str]| v.first().copied().unwrap_or_default().to_owned();
    if m.is_control() {
        if failed.is_empty() {
            (format!("pass ({})", items.len()), true)
        } else {
            (
                format!(
                    "FAIL {}/{} e.g. {}",
                    failed.len(),
                    items.len(),
                    first(&failed)
                ),
                false,
            )
        }
    } else if !failed.is_empty() {
        (format!("killed {}/{}", failed.len(), items.len()), true)
    } else if injected && column == "catalog" && !m.catalog_judges() {
        ("n.a. (not judged)".to_owned(), true)
    } else if injected {
        (format!("SURVIVED 0/{}", items.len()), false)
    } else {
        ("n.a.".to_owned(), true)
    }
}

/// Runs the suite and prints the kill table; returns the exit code.
pub fn run(plan: &Plan, target: &Target, a: &ConformanceArgs, against: &str) -> anyhow::Result<u8> {
    let baseline = execute(plan, target, a, None, false);
    let good: BTreeSet<(&str, &str)> = baseline
        .iter()
        .filter(|o| o.pass)
        .map(|o| (o.suite, o.id.as_str()))
        .collect();
    println!("rumpsp mutation suite against {against}");
    let bad: Vec<&Outcome> = baseline.iter().filter(|o| !o.pass).collect();
    println!(
        "baseline: {} items, {} pass{}",
        baseline.len(),
        good.len(),
        if bad.is_empty() {
            String::new()
        } else {
            "; failing without a mutation (left out):".into()
        }
    );
    for o in &bad {
        println!("    {} {}", o.suite, o.id);
    }
    let present: Vec<(&str, &[&str])> = COLUMNS
        .iter()
        .filter(|(_, suites)| baseline.iter().any(|o| suites.contains(&o.suite)))
        .copied()
        .collect();
    print!("{:<24}", "mutation");
    for (name, _) in &present {
        print!(" {name:<28}");
    }
    println!();
    let mut problems = Vec::new();
    for &m in MUTATIONS {
        let got = execute(plan, target, a, Some(m), false);
        print!("{:<24}", m.name());
        let mut exercised = false;
        for (name, suites) in &present {
            let items: Vec<&Outcome> = got
                .iter()
                .filter(|o| suites.contains(&o.suite) && good.contains(&(o.suite, o.id.as_str())))
                .collect();
            let (text, ok) = cell(m, name, &items);
            exercised |= items.iter().any(|o| o.injected > 0);
            if !ok {
                problems.push(format!("{} on {name}: {text}", m.name()));
            }
            print!(" {text:<28}");
        }
        println!();
        if !m.is_control() && !exercised {
            problems.push(format!("{}: no column exercised it", m.name()));
        }
    }
    if problems.is_empty() {
        println!("every mutant killed, every control passed");
        Ok(0)
    } else {
        println!("{} problem(s):", problems.len());
        for p in &problems {
            println!("    {p}");
        }
        Ok(1)
    }
}
