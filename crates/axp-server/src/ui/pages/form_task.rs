//! Form tasks (contract §4.9): a human task's `form_schema` rendered as form fields, and the
//! fields sent back turned into the `task_result` the schema validates (the fields at its top
//! level, as the CLI sends them). Only the schema's top-level `properties` of type string,
//! number, integer and boolean (and `enum`s) become fields; the server validates the result
//! against the whole schema either way.

use serde_json::{Map, Value};

use crate::ui::page::esc;

/// The form's name prefix of a schema field.
const PREFIX: &str = "field.";

/// The schema's top-level properties, in order, with whether each is required.
fn properties(schema: &Map<String, Value>) -> Vec<(&str, &Map<String, Value>, bool)> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(name, p)| p.as_object().map(|p| (name.as_str(), p, required.contains(&name.as_str()))))
        .collect()
}

fn kind(p: &Map<String, Value>) -> &str {
    p.get("type").and_then(Value::as_str).unwrap_or("string")
}

/// The inputs for `task`'s `form_schema` (empty without one).
pub(crate) fn fields(task: &Map<String, Value>) -> String {
    let Some(schema) = task.get("form_schema").and_then(Value::as_object) else { return String::new() };
    properties(schema)
        .into_iter()
        .map(|(name, p, required)| {
            let label = esc(p.get("title").and_then(Value::as_str).unwrap_or(name));
            let input_name = esc(&format!("{PREFIX}{name}"));
            let req = if required { " required" } else { "" };
            let input = match (p.get("enum").and_then(Value::as_array), kind(p)) {
                (Some(values), _) => {
                    let options: String = values
                        .iter()
                        .map(|v| {
                            let v = esc(&v.as_str().map_or_else(|| v.to_string(), str::to_owned));
                            format!("<option value=\"{v}\">{v}</option>")
                        })
                        .collect();
                    format!("<select name=\"{input_name}\"{req}>{options}</select>")
                }
                (None, "boolean") => format!("<input type=\"checkbox\" name=\"{input_name}\">"),
                (None, "integer") => format!("<input type=\"number\" step=\"1\" name=\"{input_name}\"{req}>"),
                (None, "number") => {
                    format!("<input type=\"number\" step=\"any\" name=\"{input_name}\"{req}>")
                }
                (None, _) => format!("<input name=\"{input_name}\"{req}>"),
            };
            format!("<label>{label} {input}</label>")
        })
        .collect()
}

/// The `task_result` fields of the posted form `pairs` for `task`'s `form_schema`, typed by the
/// schema (a number that does not parse stays a string, for the schema to refuse). Nothing
/// without a schema.
pub(crate) fn values(task: &Map<String, Value>, pairs: &[(String, String)]) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(schema) = task.get("form_schema").and_then(Value::as_object) else { return out };
    let sent =
        |name: &str| pairs.iter().find(|(k, _)| k.strip_prefix(PREFIX) == Some(name)).map(|(_, v)| v.trim());
    for (name, p, _) in properties(schema) {
        let value = match (kind(p), sent(name)) {
            ("boolean", v) => Some(Value::Bool(v.is_some())),
            (_, None | Some("")) => None,
            ("integer", Some(v)) => Some(v.parse::<i64>().map_or_else(|_| v.into(), Value::from)),
            ("number", Some(v)) => Some(v.parse::<f64>().map_or_else(|_| v.into(), Value::from)),
            (_, Some(v)) => Some(Value::String(v.to_owned())),
        };
        if let Some(v) = value {
            out.insert(name.to_owned(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn task() -> Map<String, Value> {
        json!({"task_type": "form", "form_schema": {"type": "object", "required": ["amount"], "properties": {
            "amount": {"type": "integer", "title": "Amount <EUR>"}, "urgent": {"type": "boolean"},
            "level": {"enum": ["low", "high"]}, "note": {"type": "string"}}}})
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn renders_one_input_per_property() {
        let html = fields(&task());
        assert!(html.contains(
            "Amount &lt;EUR&gt; <input type=\"number\" step=\"1\" name=\"field.amount\" required>"
        ));
        assert!(html.contains("type=\"checkbox\" name=\"field.urgent\""));
        assert!(html.contains("<select name=\"field.level\"><option value=\"low\">"));
        assert!(html.contains("<input name=\"field.note\">"));
        assert_eq!(fields(&Map::new()), "");
    }

    #[test]
    fn types_the_values_by_the_schema() {
        let pairs: Vec<(String, String)> =
            [("field.amount", "120"), ("field.level", "high"), ("field.note", ""), ("csrf", "x")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        let got = values(&task(), &pairs);
        assert_eq!(Value::Object(got), json!({"amount": 120, "urgent": false, "level": "high"}));
        let bad = vec![("field.amount".to_owned(), "lots".to_owned())];
        assert_eq!(values(&task(), &bad)["amount"], "lots");
    }
}
