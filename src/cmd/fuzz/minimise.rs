//! Delta debugging over the operations of an input (Zeller's ddmin): remove
//! chunks, then single operations, for as long as the input still shows the
//! same kind of finding.

/// The smallest input found that still `reproduces`, trying at most `max_trials` candidates.
pub(crate) fn minimise<T: Clone>(
    input: &[T],
    max_trials: usize,
    mut reproduces: impl FnMut(&[T]) -> bool,
) -> Vec<T> {
    let mut ops = input.to_vec();
    let mut n = 2usize;
    let mut trials = 0;
    while ops.len() >= 2 && trials < max_trials {
        let chunk = ops.len().div_ceil(n);
        let mut reduced = false;
        let parts = n;
        for i in 0..parts {
            let (a, b) = (i * chunk, ((i + 1) * chunk).min(ops.len()));
            if a >= b {
                continue;
            }
            let candidate: Vec<T> = ops[..a].iter().chain(&ops[b..]).cloned().collect();
            trials += 1;
            if reproduces(&candidate) {
                ops = candidate;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
            if trials >= max_trials {
                break;
            }
        }
        if !reduced {
            if n >= ops.len() {
                break;
            }
            n = (n * 2).min(ops.len());
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::minimise;

    #[test]
    fn keeps_only_what_the_failure_needs() {
        let input: Vec<u32> = (0..20).collect();
        let out = minimise(&input, 500, |c| c.contains(&3) && c.contains(&17));
        assert_eq!(out, vec![3, 17]);
        let out = minimise(&input, 500, |c| c.contains(&9));
        assert_eq!(out, vec![9]);
    }

    #[test]
    fn stops_at_its_trial_bound() {
        let input: Vec<u32> = (0..64).collect();
        let mut calls = 0;
        let out = minimise(&input, 5, |_| {
            calls += 1;
            false
        });
        assert_eq!(calls, 5);
        assert_eq!(out, input);
    }
}
