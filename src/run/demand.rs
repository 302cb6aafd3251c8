//! Which checks of a run actually run, and whose kept files (the `wheel` check's dists, the
//! `test` check's coverage data) someone reads. A record answers its own check's verdict with
//! or without those files; the files matter only to a check that runs after it and reads them
//! (or to a caller that does: a release uploads the dists). So a record whose files are not
//! here — a verdict taken from a shared statement, or files that were removed — answers its
//! check unless such a reader runs: then the check runs again and makes them. The plan is in
//! dependency order, so one walk from the last check back decides every check: whether a
//! check runs is known before the checks it needs are looked at.

use crate::plan::Plan;

/// One check as the walk sees it.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// Indices of the checks it needs (all before it).
    pub needs: &'a [usize],
    /// Skipped before running (`HOOKGATE_SKIP`, not applicable): it neither runs nor reads.
    pub skipped: bool,
    /// Whether a passing run of it keeps files for the checks after it.
    pub keeps_files: bool,
    /// `None` when no record answers it; else whether the files it keeps are here (always
    /// true for a kind that keeps none, or a verdict other than a pass).
    pub answered: Option<bool>,
    /// The caller reads its kept files.
    pub wanted: bool,
}

/// What the walk decided, by plan index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    /// The check runs: nothing answers it, or its kept files are read and not here.
    pub runs: Vec<bool>,
    /// Its kept files are read by a check that runs (or by the caller).
    pub read: Vec<bool>,
}

impl Demand {
    /// The first check that runs and reads the kept files of check `i`, if one does.
    pub fn reader(&self, nodes: &[Node<'_>], i: usize) -> Option<usize> {
        (i + 1..nodes.len()).find(|&d| self.runs[d] && !nodes[d].skipped && nodes[d].needs.contains(&i))
    }
}

/// Decides which of `nodes` run (every one that is not skipped when `force`).
pub fn decide(nodes: &[Node<'_>], force: bool) -> Demand {
    let n = nodes.len();
    let mut d = Demand { runs: vec![false; n], read: vec![false; n] };
    for i in (0..n).rev() {
        let node = &nodes[i];
        if node.skipped {
            continue;
        }
        // A check that runs may read the files of any check it needs: which kinds do (test,
        // version and coverage do) is not asked, so a custom check after `wheel` counts too.
        d.read[i] = node.keeps_files && (node.wanted || d.reader(nodes, i).is_some());
        d.runs[i] = force
            || match node.answered {
                None => true,
                Some(files_here) => d.read[i] && !files_here,
            };
    }
    d
}

/// The nodes of `plan`, given what answers each check (`answered`, as in [`Node::answered`])
/// and the checks whose kept files the caller reads.
pub fn nodes<'p>(plan: &'p Plan, answered: &[Option<bool>], wanted: &[&str]) -> Vec<Node<'p>> {
    plan.checks
        .iter()
        .zip(answered)
        .map(|(c, &answered)| Node {
            needs: &c.needs,
            skipped: c.skip.is_some(),
            keeps_files: c.def.kind.keeps_artifacts(),
            answered,
            wanted: wanted.contains(&c.def.name.as_str()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The standard DAG: lint, wheel, test (needs wheel), coverage (needs test), version
    // (needs wheel).
    const LINT: usize = 0;
    const WHEEL: usize = 1;
    const TEST: usize = 2;
    const COVERAGE: usize = 3;
    const VERSION: usize = 4;
    const NEEDS: [&[usize]; 5] = [&[], &[], &[WHEEL], &[TEST], &[WHEEL]];
    const KEEPS: [bool; 5] = [false, true, true, false, false];

    /// The suite with `answered` per check; nothing skipped or wanted.
    fn suite(answered: [Option<bool>; 5]) -> Vec<Node<'static>> {
        (0..5)
            .map(|i| Node {
                needs: NEEDS[i],
                skipped: false,
                keeps_files: KEEPS[i],
                answered: answered[i],
                wanted: false,
            })
            .collect()
    }

    const SHARED: Option<bool> = Some(false);
    const LOCAL: Option<bool> = Some(true);

    #[test]
    fn shared_verdicts_without_files_answer_when_no_reader_runs() {
        let d = decide(&suite([LOCAL, SHARED, SHARED, LOCAL, LOCAL]), false);
        assert_eq!(d.runs, [false; 5]);
        assert_eq!(d.read, [false; 5]);
    }

    #[test]
    fn a_dependent_that_runs_makes_the_checks_whose_files_it_reads_run_again() {
        // coverage has no verdict: it reads test's data, which reads wheel's dists.
        let d = decide(&suite([LOCAL, SHARED, SHARED, None, LOCAL]), false);
        assert_eq!(d.runs, [false, true, true, true, false]);
        // version's pass expired: only wheel runs again; test keeps its shared verdict.
        let d = decide(&suite([LOCAL, SHARED, SHARED, LOCAL, None]), false);
        assert_eq!(d.runs, [false, true, false, false, true]);
        assert_eq!(d.reader(&suite([LOCAL, SHARED, SHARED, LOCAL, None]), WHEEL), Some(VERSION));
    }

    #[test]
    fn files_that_are_here_are_read_without_running_again() {
        let d = decide(&suite([LOCAL, LOCAL, SHARED, None, None]), false);
        assert_eq!(d.runs, [false, false, true, true, true]);
        assert!(d.read[WHEEL] && d.read[TEST]);
    }

    #[test]
    fn a_skipped_dependent_reads_nothing_and_a_caller_can_want_files() {
        let mut nodes = suite([LOCAL, SHARED, SHARED, None, LOCAL]);
        nodes[COVERAGE].skipped = true;
        assert_eq!(decide(&nodes, false).runs, [false; 5]);
        nodes[WHEEL].wanted = true;
        assert_eq!(decide(&nodes, false).runs, [false, true, false, false, false]);
        assert!(!decide(&nodes, false).runs[LINT]);
    }

    #[test]
    fn force_runs_everything_but_what_is_skipped() {
        let mut nodes = suite([LOCAL; 5]);
        nodes[LINT].skipped = true;
        let d = decide(&nodes, true);
        assert_eq!(d.runs, [false, true, true, true, true]);
        assert!(d.read[WHEEL] && d.read[TEST]);
    }
}
