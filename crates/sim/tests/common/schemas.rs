//! The reference documents the simulator is checked against: GitLab's JSON
//! schemas (testdata/gitlab-schemas) and Atlassian's OpenAPI documents
//! (testdata/jira-specs), with the few repairs their upstream mistakes need.

use serde_json::{Value, json};

use super::fixtures;

/// Repairs upstream mistakes in GitLab's schemas so they compile as JSON
/// Schema, without loosening what they say:
/// - `"type": "date"` / `"uri"` / `"string "` (merge_requests.json,
///   milestones.json, group_labels.json) are not JSON Schema types; GitLab
///   meant strings with that format.
/// - issues.json and issue_links.json put their item `$ref` inside
///   `properties` (where it would name a property called `$ref`); it is
///   moved up to the item, as GitLab meant.
/// - milestones.json lists `state` twice in `required`, which a JSON Schema
///   compiler refuses; the repeat is dropped.
/// - `time_stats` in merge_requests.json lists its fields without
///   `properties`, which JSON Schema would read as unknown keywords: left as is
///   (it constrains nothing either way).
///
/// `format` is not asserted: GitLab's schemas say `date-time` for milestone
/// dates that GitLab itself returns as `2027-01-31`, because its own matcher
/// treats `format` as an annotation; the simulator answers as GitLab does.
pub fn repair_gitlab(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(r) = o
                .get("properties")
                .and_then(|p| p.get("$ref"))
                .and_then(Value::as_str)
            {
                let r = r.to_string();
                o.clear();
                o.insert("$ref".into(), json!(r));
                return;
            }
            if let Some(Value::Array(req)) = o.get_mut("required") {
                let mut seen = std::collections::BTreeSet::new();
                req.retain(|k| seen.insert(k.to_string()));
            }
            if let Some(Value::String(t)) = o.get("type").cloned() {
                match t.trim() {
                    "date" => {
                        o.insert("type".into(), json!("string"));
                    }
                    "uri" => {
                        o.insert("type".into(), json!("string"));
                    }
                    other if other != t => {
                        o.insert("type".into(), json!(other));
                    }
                    _ => {}
                }
            }
            for (_, x) in o.iter_mut() {
                repair_gitlab(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(repair_gitlab),
        _ => {}
    }
}

/// Loads referenced GitLab schema files from testdata, repaired.
struct GitlabFiles;

impl jsonschema::Retrieve for GitlabFiles {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let path = uri.path().as_str();
        let text = std::fs::read_to_string(path)?;
        let mut v: Value = serde_json::from_str(&text)?;
        repair_gitlab(&mut v);
        Ok(v)
    }
}

/// The GitLab schema at `public_api/v4/<rel>`, with its `$ref`s resolved from
/// the files beside it. `loosen` drops `additionalProperties: false` at the
/// top level (see the callers for why).
pub fn gitlab_schema_with(rel: &str, loosen: bool) -> jsonschema::Validator {
    let path = fixtures().join("gitlab-schemas/public_api/v4").join(rel);
    let canon = std::fs::canonicalize(&path).expect("schema file exists");
    let text = std::fs::read_to_string(&canon).expect("schema readable");
    let mut v: Value = serde_json::from_str(&text).expect("schema json");
    repair_gitlab(&mut v);
    if loosen {
        if let Some(o) = v.as_object_mut() {
            o.remove("additionalProperties");
        }
        if let Some(items) = v.get_mut("items").and_then(Value::as_object_mut) {
            items.remove("additionalProperties");
        }
    }
    jsonschema::options()
        .with_base_uri(format!("file://{}", canon.display()))
        .with_retriever(GitlabFiles)
        .build(&v)
        .expect("schema compiles")
}

/// The GitLab schema at `public_api/v4/<rel>` as GitLab wrote it.
pub fn gitlab_schema(rel: &str) -> jsonschema::Validator {
    gitlab_schema_with(rel, false)
}

/// Fails with every violation of `v` by `doc`.
pub fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .take(10)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} violates the schema: {errors:?}");
}

/// OpenAPI 3.0 `nullable: true` becomes a JSON Schema type union.
pub fn denull(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if o.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = o.get("type").cloned() {
                    o.insert("type".into(), json!([t, "null"]));
                } else if let Some(r) = o.remove("$ref") {
                    o.insert("anyOf".into(), json!([{"$ref": r}, {"type": "null"}]));
                } else if let Some(Value::Array(all)) = o.remove("allOf") {
                    o.insert("anyOf".into(), json!([{"allOf": all}, {"type": "null"}]));
                }
            }
            for (_, x) in o.iter_mut() {
                denull(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(denull),
        _ => {}
    }
}

/// Cloud operations whose document declares one bean where its own example
/// (and Jira) answers an array of them.
const LISTED_AS_ONE: &[(&str, &str)] = &[("get", "/rest/api/3/issue/{issueIdOrKey}/remotelink")];

/// One of Atlassian's OpenAPI documents, with component `$ref`s resolvable.
pub struct Spec(pub Value, bool);

impl Spec {
    /// Loads `testdata/jira-specs/<file>`.
    pub fn load(file: &str) -> Spec {
        let text = std::fs::read_to_string(fixtures().join("jira-specs").join(file))
            .expect("spec readable");
        let mut v: Value = serde_json::from_str(&text).expect("spec json");
        if let Some(c) = v.get_mut("components") {
            denull(c);
            // The Data Center document types every issue field value as an
            // object, which its own examples (arrays, strings) contradict:
            // accept any JSON value there.
            if let Some(f) =
                c.pointer_mut("/schemas/IssueBean/properties/fields/additionalProperties")
            {
                *f = json!({});
            }
        }
        // The Data Center document declares the list endpoints (`/field`,
        // `/project`, `/project/{key}/versions`, `/user/search`, ...) as
        // answering one bean where Jira answers an array of them: there an
        // array is checked item by item against the declared bean.
        let lists_as_items = file.starts_with("jira-software-dc");
        Spec(v, lists_as_items)
    }

    /// The response schema of `method path status`, if the document has one.
    pub fn schema(&self, path: &str, method: &str, status: &str) -> Option<Value> {
        let s = self.0["paths"][path][method]["responses"][status]["content"]["application/json"]
            ["schema"]
            .clone();
        (!s.is_null()).then_some(s)
    }

    /// Validates `doc` against the response schema of `method path status`.
    pub fn check(&self, path: &str, method: &str, status: &str, doc: &Value) {
        let mut schema = self
            .schema(path, method, status)
            .unwrap_or_else(|| panic!("no schema for {method} {path} {status}"));
        let listed_as_one = self.1 || LISTED_AS_ONE.contains(&(method, path));
        if listed_as_one && schema.get("$ref").is_some() && doc.is_array() {
            schema = json!({"type": "array", "items": schema});
        }
        self.check_schema(&schema, &format!("{method} {path}"), doc);
    }

    /// Validates `doc` against `schema` (which may `$ref` components).
    pub fn check_schema(&self, schema: &Value, what: &str, doc: &Value) {
        let mut root = schema.clone();
        root["components"] = self.0["components"].clone();
        let v = jsonschema::validator_for(&root).expect("schema compiles");
        let errors: Vec<String> = v
            .iter_errors(doc)
            .take(5)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{what}: {errors:?}");
    }

    /// Validates `doc` against `#/components/schemas/<name>`.
    pub fn check_component(&self, name: &str, doc: &Value) {
        self.check_schema(
            &json!({"$ref": format!("#/components/schemas/{name}")}),
            name,
            doc,
        );
    }
}
