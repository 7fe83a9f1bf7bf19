//! HTTP over TLS: routing, JSON in and out, the accept loop.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use poskit_binding::platform::{ApiError, OtpPurpose};
use poskit_host::describe_json_error;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::state::{Refusal, State};
use crate::net::{self, HttpResponse, json};

/// The largest request body accepted.
const MAX_BODY: usize = 64 * 1024;

/// What the server and the handle share.
pub(crate) type Shared = net::Shared<State>;

fn refusal(refusal: Refusal) -> HttpResponse {
    let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json(
        status,
        &ApiError {
            code: refusal.code.to_owned(),
            message: refusal.message,
        },
    )
}

fn answer<T: Serialize>(outcome: Result<T, Refusal>) -> HttpResponse {
    match outcome {
        Ok(body) => json(StatusCode::OK, &body),
        Err(r) => refusal(r),
    }
}

/// Reads and decodes a JSON body; malformed bodies are refused without
/// quoting any value (they may hold card numbers).
async fn body<T: DeserializeOwned>(request: Request<Incoming>) -> Result<T, Refusal> {
    let bytes = net::read_body(request, MAX_BODY).await.ok_or_else(|| {
        Refusal::invalid(format!(
            "the body could not be read or is larger than {MAX_BODY} bytes"
        ))
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Refusal::invalid(format!("malformed body: {}", describe_json_error(&e))))
}

pub(crate) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Option<HttpResponse> {
    Some(route(&shared, request).await)
}

async fn route(shared: &Shared, request: Request<Incoming>) -> HttpResponse {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let now = shared.clock.now();
    let today = shared.clock.today();
    match (segments.as_slice(), &method) {
        (["v1", "applications"], &Method::POST) => match body(request).await {
            Ok(req) => answer(shared.lock().submit_application(req)),
            Err(r) => refusal(r),
        },
        (["v1", "applications", id], &Method::GET) => answer(shared.lock().application_status(id)),
        (["v1", "devices", "bind"], &Method::POST) => match body(request).await {
            Ok(req) => answer(shared.lock().bind(req, today)),
            Err(r) => refusal(r),
        },
        (["v1", "devices", "replace"], &Method::POST) => match body(request).await {
            Ok(req) => answer(shared.lock().replace(req)),
            Err(r) => refusal(r),
        },
        (["v1", "otp"], &Method::POST) => match body(request).await {
            Ok(req) => answer(shared.lock().request_otp(req, now)),
            Err(r) => refusal(r),
        },
        (["v1", "devices", "unbind"], &Method::POST) => match body(request).await {
            Ok(req) => answer(shared.lock().unbind(req, now)),
            Err(r) => refusal(r),
        },
        (["v1", "settlement-cards"], &Method::POST) => match body(request).await {
            Ok(req) => answer(shared.lock().change_settlement_card(req)),
            Err(r) => refusal(r),
        },
        (["v1", "settlement-cards", id], &Method::GET) => answer(shared.lock().settlement_card_status(id)),
        (["v1", "payment-methods"], &Method::POST) => match body(request).await {
            Ok(req) => answer(shared.lock().set_payment_method(req)),
            Err(r) => refusal(r),
        },
        (["test", "otp"], &Method::GET) => answer(test_otp(shared, &query)),
        (
            ["v1", "applications"]
            | ["v1", "applications", _]
            | ["v1", "devices", "bind" | "replace" | "unbind"]
            | ["v1", "otp"]
            | ["v1", "settlement-cards"]
            | ["v1", "settlement-cards", _]
            | ["v1", "payment-methods"]
            | ["test", "otp"],
            _,
        ) => {
            let mut response = refusal(Refusal::invalid(format!("{method} is not allowed on {path}")));
            *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            response
        }
        _ => refusal(Refusal::not_found(format!("no endpoint {path}"))),
    }
}

/// The answer of the simulator-only `GET /test/otp`.
#[derive(Debug, Serialize)]
struct TestOtp {
    merchant_id: String,
    purpose: OtpPurpose,
    otp: String,
}

/// `GET /test/otp?merchant_id=..&purpose=..`: SIMULATOR ONLY. A real
/// platform sends the code by SMS; tests read it here instead.
fn test_otp(shared: &Shared, query: &str) -> Result<TestOtp, Refusal> {
    let mut merchant_id = None;
    let mut purpose = None;
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key {
            "merchant_id" => merchant_id = Some(value),
            "purpose" => purpose = Some(value),
            _ => {}
        }
    }
    let merchant_id = merchant_id.ok_or_else(|| Refusal::invalid("merchant_id is missing"))?;
    let purpose = purpose.ok_or_else(|| Refusal::invalid("purpose is missing"))?;
    let purpose: OtpPurpose = serde_json::from_value(serde_json::Value::String(purpose))
        .map_err(|_| Refusal::invalid("purpose must be unbind or change_settlement_card"))?;
    let otp = shared
        .lock()
        .last_otp(&merchant_id, purpose)
        .ok_or_else(|| Refusal::not_found("no code was issued for this merchant and purpose"))?;
    Ok(TestOtp {
        merchant_id,
        purpose,
        otp,
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) << 4 | hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_decoding() {
        assert_eq!(super::percent_decode("898%30%3a+x%zz%4"), "8980: x%zz%4");
        assert_eq!(super::percent_decode("%+1"), "%+1".replace('+', " "));
    }
}
