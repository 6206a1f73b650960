//! Anthropic Messages (`POST {base_url}/v1/messages`, `x-api-key`, `anthropic-version`), with
//! structured output through a forced tool call whose input schema is the answer's schema.

use serde::Deserialize;
use serde_json::{json, Value};

use super::budget::Usage;
use super::prompt::{output_schema, OUTPUT_NAME, SYSTEM_PROMPT};
use super::{HeaderValue, LlmConfig, VendorReply, WireRequest};

/// The request that asks the model to read `message` (already minimised).
pub fn build_request(config: &LlmConfig, message: &str) -> WireRequest {
    let mut body = json!({
        "model": config.model,
        "max_tokens": config.max_output_tokens,
        "system": SYSTEM_PROMPT,
        "messages": [ { "role": "user", "content": message } ],
        "tools": [{
            "name": OUTPUT_NAME,
            "description": "Records how the customer's message reads.",
            "input_schema": output_schema()
        }],
        "tool_choice": { "type": "tool", "name": OUTPUT_NAME }
    });
    if let (Some(t), Some(map)) = (config.temperature, body.as_object_mut()) {
        map.insert("temperature".to_owned(), json!(t));
    }
    let mut headers = vec![
        (
            "content-type".to_owned(),
            HeaderValue::Plain("application/json".to_owned()),
        ),
        (
            "anthropic-version".to_owned(),
            HeaderValue::Plain(config.anthropic_version.clone()),
        ),
    ];
    if let Some(key) = &config.api_key {
        headers.push(("x-api-key".to_owned(), HeaderValue::Secret(key.clone())));
    }
    WireRequest {
        method: "POST",
        url: format!("{}/v1/messages", config.base_url.trim_end_matches('/')),
        headers,
        body,
    }
}

#[derive(Debug, Deserialize)]
struct Response {
    content: Vec<Block>,
    #[serde(default)]
    usage: Option<ResponseUsage>,
}

#[derive(Debug, Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ResponseUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

/// Reads a Messages response body: the forced tool call's input as JSON text (or, from a model
/// that answered in text instead, that text; both still untrusted) and the usage. `None` when the
/// body is not a message at all.
pub fn parse_response(body: &[u8]) -> Option<VendorReply> {
    let response: Response = serde_json::from_slice(body).ok()?;
    let usage = response.usage.map(|u| Usage {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
    });
    let tool = response
        .content
        .iter()
        .find(|b| b.kind == "tool_use" && b.name.as_deref() == Some(OUTPUT_NAME))
        .and_then(|b| b.input.as_ref())
        .map(Value::to_string);
    let answer = tool
        .or_else(|| {
            response
                .content
                .iter()
                .find(|b| b.kind == "text")
                .and_then(|b| b.text.clone())
        })
        .unwrap_or_default();
    Some(VendorReply { answer, usage })
}

/// The model's answer as an Anthropic server would send it (a tool call when `answer` is a JSON
/// object, else text), for tests and mocks.
pub fn response_body(answer: &str, usage: Usage) -> Value {
    let block = match serde_json::from_str::<Value>(answer) {
        Ok(input @ Value::Object(_)) => json!({
            "type": "tool_use", "id": "toolu_mock", "name": OUTPUT_NAME, "input": input
        }),
        _ => json!({ "type": "text", "text": answer }),
    };
    json!({
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": "mock",
        "content": [block],
        "stop_reason": "tool_use",
        "usage": { "input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn the_request_forces_the_tool_and_carries_the_version() {
        let config = LlmConfig::anthropic(
            "https://api.anthropic.example",
            "claude-haiku",
            SecretString::from("sk-ant-xyz"),
        );
        let request = build_request(&config, "Où est ma commande 1042 ?");
        assert_eq!(request.url, "https://api.anthropic.example/v1/messages");
        assert_eq!(request.body["tool_choice"]["name"], OUTPUT_NAME);
        assert_eq!(request.body["tools"][0]["input_schema"], output_schema());
        assert_eq!(
            request.body["messages"][0]["content"],
            "Où est ma commande 1042 ?"
        );
        assert!(request.body["max_tokens"].as_u64().is_some());
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.expose())
        };
        assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));
        assert_eq!(header("x-api-key").as_deref(), Some("sk-ant-xyz"));
        assert!(!format!("{request:?}").contains("sk-ant-xyz"));
    }

    #[test]
    fn responses_give_the_tool_input_and_the_usage() {
        let body = response_body(
            r#"{"intent":"wismo"}"#,
            Usage {
                input_tokens: 10,
                output_tokens: 5,
            },
        );
        let reply = parse_response(body.to_string().as_bytes()).unwrap();
        assert_eq!(reply.answer, r#"{"intent":"wismo"}"#);
        assert_eq!(reply.usage.map(Usage::total), Some(15));
        let text = response_body("I cannot help", Usage::default());
        assert_eq!(
            parse_response(text.to_string().as_bytes()).unwrap().answer,
            "I cannot help"
        );
        assert!(parse_response(b"{}").is_none());
    }
}
