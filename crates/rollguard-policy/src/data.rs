//! Parsing and merging of a bundle's data files into the single `data` document.
//!
//! Every `.json`, `.yaml` and `.yml` file of a bundle is a mapping; they are
//! deep-merged at the root of `data` in sorted path order. Objects merge key by
//! key; any other value set by two files is a [`PolicyError::DataConflict`]
//! naming both files, never a silent override (unlike OPA, the directory a file
//! sits in does not prefix its keys: a bundle is small and flat by design).

use serde_json::{Map, Value};

use crate::error::PolicyError;

/// Kind of data file, decided by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// `.json`
    Json,
    /// `.yaml` / `.yml`
    Yaml,
}

impl DataFormat {
    /// The format of a bundle-relative path, if it is a data file.
    pub fn of(path: &str) -> Option<Self> {
        if path.ends_with(".json") {
            Some(Self::Json)
        } else if path.ends_with(".yaml") || path.ends_with(".yml") {
            Some(Self::Yaml)
        } else {
            None
        }
    }
}

/// Parses one data file; an empty YAML document counts as an empty mapping.
pub fn parse(
    path: &str,
    format: DataFormat,
    contents: &str,
) -> Result<Map<String, Value>, PolicyError> {
    let value: Value = match format {
        DataFormat::Json => serde_json::from_str(contents).map_err(|e| PolicyError::Data {
            path: path.to_string(),
            message: e.to_string(),
        })?,
        DataFormat::Yaml => serde_saphyr::from_str(contents).map_err(|e| PolicyError::Data {
            path: path.to_string(),
            message: e.to_string(),
        })?,
    };
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(PolicyError::Data {
            path: path.to_string(),
            message: format!("the top level must be a mapping, found {}", kind(&other)),
        }),
    }
}

/// Deep-merges data files (given in the order to apply them) into one document.
///
/// `owners` tracks which file set each leaf so a conflict names both.
pub fn merge<'a>(
    files: impl IntoIterator<Item = (&'a str, Map<String, Value>)>,
) -> Result<Value, PolicyError> {
    let mut merged = Map::new();
    let mut owners: Vec<(String, String)> = Vec::new();
    for (path, map) in files {
        merge_into(&mut merged, map, "", path, &mut owners)?;
    }
    Ok(Value::Object(merged))
}

fn merge_into(
    target: &mut Map<String, Value>,
    source: Map<String, Value>,
    prefix: &str,
    file: &str,
    owners: &mut Vec<(String, String)>,
) -> Result<(), PolicyError> {
    for (key, value) in source {
        let dotted = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (target.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                merge_into(existing, incoming, &dotted, file, owners)?;
            }
            (Some(_), _) => {
                let first = owners
                    .iter()
                    .rev()
                    .find(|(k, _)| {
                        dotted == *k
                            || dotted.starts_with(&format!("{k}."))
                            || k.starts_with(&format!("{dotted}."))
                    })
                    .map_or_else(|| "an earlier file".to_string(), |(_, f)| f.clone());
                return Err(PolicyError::DataConflict {
                    key: dotted,
                    first,
                    second: file.to_string(),
                });
            }
            (None, value) => {
                owners.push((dotted, file.to_string()));
                target.insert(key, value);
            }
        }
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn objects_merge_key_by_key_across_files() {
        let merged = merge([
            ("a.yaml", map(json!({"limits": {"prod": 2}, "tz": "UTC"}))),
            ("b.json", map(json!({"limits": {"staging": 5}}))),
        ]);
        assert_eq!(
            merged.ok(),
            Some(json!({"limits": {"prod": 2, "staging": 5}, "tz": "UTC"}))
        );
    }

    #[test]
    fn a_leaf_set_twice_names_both_files() {
        let err = merge([
            ("a.yaml", map(json!({"limits": {"prod": 2}}))),
            ("b.json", map(json!({"limits": {"prod": 3}}))),
        ]);
        match err {
            Err(PolicyError::DataConflict { key, first, second }) => {
                assert_eq!(
                    (key.as_str(), first.as_str(), second.as_str()),
                    ("limits.prod", "a.yaml", "b.json")
                );
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    #[test]
    fn yaml_scalar_at_top_level_is_rejected_and_empty_yaml_is_empty() {
        assert!(matches!(
            parse("x.yaml", DataFormat::Yaml, "42\n"),
            Err(PolicyError::Data { .. })
        ));
        assert_eq!(parse("x.yaml", DataFormat::Yaml, "").ok(), Some(Map::new()));
    }

    #[test]
    fn invalid_json_error_names_the_file_and_line() {
        let err = parse("dir/d.json", DataFormat::Json, "{\n  \"a\": ,\n}").err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("dir/d.json") && text.contains("line 2"),
            "{text}"
        );
    }
}
