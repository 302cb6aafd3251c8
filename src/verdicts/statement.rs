//! A verdict as a statement shaped after in-toto's Statement v1 with the test-result
//! predicate, so it can later travel as an attestation: the subject is the tree (by its git
//! id) and, for `wheel`, each dist by SHA-256; the predicate says PASSED or FAILED and carries,
//! in its one `configuration` entry's annotations, what hookgate needs to reuse it: the check,
//! its key and key inputs, the tools and resolutions it ran with, hookgate's version, the
//! producer and the times. Parsing a statement ([`claim`]) checks its shape and that its key
//! is the digest of its key inputs; whether anyone should believe it is [`super::trust`]'s
//! question.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cache::Record;
use crate::outcome::Verdict;
use crate::plan::digest;
use crate::resolve::UsedRef;

/// in-toto's Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// in-toto's test-result predicate.
pub const PREDICATE_TYPE: &str = "https://in-toto.io/attestation/test-result/v0.1";

/// The name of the tree's subject entry: `git-tree:<id>`.
fn tree_subject(tree: &str) -> String {
    format!("git-tree:{tree}")
}

/// What a statement records of a verdict beyond the in-toto fields (the configuration's
/// annotations).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// The check's name.
    pub check: String,
    /// Its cache key (hex SHA-256 of `key_inputs`).
    pub key: String,
    /// What the key was computed from.
    pub key_inputs: Value,
    /// `pass` or `fail`.
    pub status: Verdict,
    /// `name==version` of what was installed in the check's venv.
    #[serde(default)]
    pub tools: Vec<String>,
    /// The resolutions its environment was installed with.
    #[serde(default)]
    pub resolutions: Vec<UsedRef>,
    /// The hookgate version that reached the verdict.
    pub hookgate_version: String,
    /// Who signs it (the signer's principal, as in `allowed_signers`).
    pub producer: String,
    /// When the check finished (seconds since the Unix epoch).
    pub finished_at: u64,
    /// How long it took.
    #[serde(default)]
    pub duration_ms: u64,
    /// When the statement was made (seconds since the Unix epoch).
    pub issued_at: u64,
}

/// The statement of `record` on `tree`, with `dists` (file name, hex SHA-256) as further
/// subjects, made by `producer` at `now`.
pub fn build(tree: &str, record: &Record, dists: &[(String, String)], producer: &str, now: u64) -> Value {
    let mut subject = vec![json!({ "name": tree_subject(tree), "digest": { "gitTree": tree } })];
    for (name, sha256) in dists {
        subject.push(json!({ "name": name, "digest": { "sha256": sha256 } }));
    }
    let (result, passed, failed) = match record.verdict {
        Verdict::Pass => ("PASSED", vec![&record.check], vec![]),
        Verdict::Fail => ("FAILED", vec![], vec![&record.check]),
    };
    let annotations = Annotations {
        check: record.check.clone(),
        key: record.key.clone(),
        key_inputs: record.key_inputs.clone(),
        status: record.verdict,
        tools: record.tools.clone(),
        resolutions: record.resolutions.clone(),
        hookgate_version: env!("CARGO_PKG_VERSION").to_string(),
        producer: producer.to_string(),
        finished_at: record.finished_at,
        duration_ms: record.duration_ms,
        issued_at: now,
    };
    json!({
        "_type": STATEMENT_TYPE,
        "subject": subject,
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "result": result,
            "passedTests": passed,
            "failedTests": failed,
            "configuration": [{
                "name": format!("hookgate:{}", record.check),
                "digest": { "sha256": record.key },
                "annotations": annotations,
            }],
        },
    })
}

/// What a well-formed statement claims.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The tree it is about.
    pub tree: String,
    /// Everything else.
    pub about: Annotations,
}

/// Reads what `statement` claims, refusing anything that is not a statement [`build`] could
/// have made: another type, no tree subject, a result that contradicts the status, or a key
/// that is not the digest of its key inputs.
pub fn claim(statement: &Value) -> Result<Claim, String> {
    if statement["_type"] != STATEMENT_TYPE {
        return Err(format!("not an in-toto statement (_type {})", statement["_type"]));
    }
    if statement["predicateType"] != PREDICATE_TYPE {
        return Err(format!("not a test result (predicateType {})", statement["predicateType"]));
    }
    let trees: Vec<&str> = statement["subject"]
        .as_array()
        .map(|s| s.iter().filter_map(|e| e["digest"]["gitTree"].as_str()).collect())
        .unwrap_or_default();
    let [tree] = trees.as_slice() else {
        return Err(format!("it names {} trees, not one", trees.len()));
    };
    let config = statement["predicate"]["configuration"].as_array().map(Vec::as_slice).unwrap_or_default();
    let [entry] = config else { return Err("it has no single hookgate configuration entry".into()) };
    let about: Annotations = serde_json::from_value(entry["annotations"].clone())
        .map_err(|e| format!("its hookgate annotations are malformed: {e}"))?;
    let result = statement["predicate"]["result"].as_str().unwrap_or_default();
    let expected = match about.status {
        Verdict::Pass => "PASSED",
        Verdict::Fail => "FAILED",
    };
    if result != expected {
        return Err(format!("its result {result:?} contradicts its status"));
    }
    if digest(&about.key_inputs) != about.key || entry["digest"]["sha256"] != about.key.as_str() {
        return Err("its key is not the digest of its key inputs".into());
    }
    Ok(Claim { tree: (*tree).to_string(), about })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::SCHEMA;

    fn record() -> Record {
        let key_inputs = json!({ "name": "lint", "input": { "tree": "t" } });
        Record {
            schema: SCHEMA,
            key: digest(&key_inputs),
            check: "lint".into(),
            verdict: Verdict::Pass,
            duration_ms: 5,
            finished_at: 1,
            tools: vec!["ruff==0.6.0".into()],
            log: "x.log".into(),
            tree: "t".into(),
            key_inputs,
            reports: vec![],
            resolutions: vec![],
            source: None,
        }
    }

    #[test]
    fn a_built_statement_is_read_back() {
        let s = build("abc", &record(), &[("p-1.0.whl".into(), "00".into())], "ci@example.org", 9);
        let c = claim(&s).unwrap();
        assert_eq!(c.tree, "abc");
        assert_eq!(c.about.check, "lint");
        assert_eq!(c.about.producer, "ci@example.org");
        assert_eq!(s["subject"][1]["digest"]["sha256"], "00");
    }

    #[test]
    fn an_edited_statement_is_refused() {
        let s = build("abc", &record(), &[], "me", 9);
        let mut flipped = s.clone();
        flipped["predicate"]["result"] = json!("FAILED");
        assert!(claim(&flipped).unwrap_err().contains("contradicts"));
        let mut rekeyed = s.clone();
        rekeyed["predicate"]["configuration"][0]["annotations"]["keyInputs"]["name"] = json!("format");
        assert!(claim(&rekeyed).unwrap_err().contains("digest"));
        let mut two = s;
        two["subject"] = json!([{ "digest": { "gitTree": "a" } }, { "digest": { "gitTree": "b" } }]);
        assert!(claim(&two).unwrap_err().contains("2 trees"));
    }
}
