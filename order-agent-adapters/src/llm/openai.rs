//! OpenAI-compatible Chat Completions (`POST {base_url}/chat/completions`): OpenAI itself, and
//! local servers that speak the same API (vLLM, Ollama, llama.cpp), with structured output via
//! `response_format` of type `json_schema`.

use serde::Deserialize;
use serde_json::{json, Value};

use super::budget::Usage;
use super::prompt::{output_schema, OUTPUT_NAME, SYSTEM_PROMPT};
use super::{HeaderValue, LlmConfig, VendorReply, WireRequest};

/// The request that asks the model to read `message` (already minimised).
pub fn build_request(config: &LlmConfig, message: &str) -> WireRequest {
    let mut body = json!({
        "model": config.model,
        "messages": [
            { "role": "system", "content": SYSTEM_PROMPT },
            { "role": "user", "content": message }
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": { "name": OUTPUT_NAME, "strict": true, "schema": output_schema() }
        },
        "max_completion_tokens": config.max_output_tokens,
        "n": 1,
        "store": false
    });
    if let (Some(t), Some(map)) = (config.temperature, body.as_object_mut()) {
        map.insert("temperature".to_owned(), json!(t));
    }
    let mut headers = vec![(
        "content-type".to_owned(),
        HeaderValue::Plain("application/json".to_owned()),
    )];
    if let Some(key) = &config.api_key {
        headers.push(("authorization".to_owned(), HeaderValue::Bearer(key.clone())));
    }
    WireRequest {
        method: "POST",
        url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
        headers,
        body,
    }
}

#[derive(Debug, Deserialize)]
struct Response {
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<ResponseUsage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ResponseUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// Reads a Chat Completions response body: the first choice's content (the model's answer, still
/// untrusted) and the usage. `None` when the body is not a chat completion at all.
pub fn parse_response(body: &[u8]) -> Option<VendorReply> {
    let response: Response = serde_json::from_slice(body).ok()?;
    let usage = response.usage.map(|u| Usage {
        input_tokens: u.prompt_tokens,
        output_tokens: u.completion_tokens,
    });
    // A refusal or an empty choice list is an answer without content: malformed, not an outage.
    let answer = response
        .choices
        .into_iter()
        .next()
        .and_then(|c| c.message.content)
        .unwrap_or_default();
    Some(VendorReply { answer, usage })
}

/// The model's answer as an OpenAI server would send it, for tests and mocks.
pub fn response_body(answer: &str, usage: Usage) -> Value {
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": "mock",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": answer, "refusal": null },
            "finish_reason": "stop"
        }],
        "usage": {
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::LlmConfig;
    use secrecy::SecretString;

    #[test]
    fn the_request_carries_only_the_message_and_the_schema() {
        let config = LlmConfig::openai(
            "http://127.0.0.1:8000/v1/",
            "gpt-4o-mini",
            Some(SecretString::from("sk-test-123")),
        );
        let request = build_request(&config, "Where is my order 1042?");
        assert_eq!(request.method, "POST");
        assert_eq!(request.url, "http://127.0.0.1:8000/v1/chat/completions");
        assert_eq!(
            request.body["messages"][1]["content"],
            "Where is my order 1042?"
        );
        assert_eq!(request.body["messages"].as_array().map(Vec::len), Some(2));
        assert_eq!(request.body["response_format"]["type"], "json_schema");
        assert_eq!(request.body["temperature"], 0.0);
        let header = request
            .headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .map(|(_, v)| v.expose())
            .unwrap();
        assert_eq!(header, "Bearer sk-test-123");
        assert!(!format!("{request:?}").contains("sk-test-123"));
        assert!(!format!("{config:?}").contains("sk-test-123"));
    }

    #[test]
    fn local_servers_need_no_key() {
        let config = LlmConfig::openai("http://127.0.0.1:11434/v1", "llama3.2", None);
        let request = build_request(&config, "hi");
        assert!(request
            .headers
            .iter()
            .all(|(name, _)| name != "authorization"));
    }

    #[test]
    fn responses_give_the_answer_and_the_usage() {
        let body = response_body(
            "{\"intent\":\"wismo\"}",
            Usage {
                input_tokens: 120,
                output_tokens: 30,
            },
        );
        let reply = parse_response(body.to_string().as_bytes()).unwrap();
        assert_eq!(reply.answer, "{\"intent\":\"wismo\"}");
        assert_eq!(reply.usage.map(Usage::total), Some(150));
        assert!(parse_response(b"<html>bad gateway</html>").is_none());
        let empty = parse_response(br#"{"choices": []}"#).unwrap();
        assert_eq!(empty.answer, "");
        assert_eq!(empty.usage, None);
    }
}
