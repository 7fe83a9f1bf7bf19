//! HTTP over TLS for the gateway: routing, terminal authentication,
//! answer signatures, and the faults the test injected (no answer, late
//! answer, bad signature).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, StatusCode};
use poskit_host::gateway::{Endpoint, ErrorCode, GatewayKey, SIGNATURE_HEADER, TERMINAL_HEADER};

use super::state::{Delivery, Now, Refusal, State};
use crate::net::{self, HttpResponse};

/// The largest request body accepted.
const MAX_BODY: usize = 64 * 1024;

/// What the server and the handle share.
pub(crate) type Shared = net::Shared<State>;

impl Shared {
    pub(crate) fn now(&self) -> Now {
        Now {
            instant: Instant::now(),
            unix: self.clock.now(),
        }
    }
}

/// An answer signed with the terminal's key (or, with `corrupt`, with a
/// signature that does not verify).
fn signed(key: &GatewayKey, status: u16, body: Vec<u8>, corrupt: bool) -> HttpResponse {
    let signature = if corrupt {
        key.sign_answer(status, b"not this body")
    } else {
        key.sign_answer(status, &body)
    };
    let mut response = unsigned(status, body);
    if let Ok(value) = HeaderValue::from_str(&signature) {
        response.headers_mut().insert(SIGNATURE_HEADER, value);
    }
    response
}

fn unsigned(status: u16, body: Vec<u8>) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    net::json_bytes(status, body)
}

fn refusal(key: &GatewayKey, refusal: Refusal, status: Option<u16>) -> HttpResponse {
    let (code_status, body) = refusal.answer();
    signed(key, status.unwrap_or(code_status), body, false)
}

fn header(request: &Request<Incoming>, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// One request; `None` closes the connection without an answer.
pub(crate) async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Option<HttpResponse> {
    let endpoint = Endpoint::from_path(request.uri().path());
    let terminal_id = header(&request, TERMINAL_HEADER).unwrap_or_default();
    let signature = header(&request, SIGNATURE_HEADER);
    let key = {
        let mut state = shared.lock();
        if let Some(endpoint) = endpoint {
            *state.requests.entry(endpoint).or_default() += 1;
        }
        state.terminals.get(&terminal_id).cloned()
    };
    // No key, no signature: the answer goes out unsigned (the client takes
    // this one code unverified, see ErrorCode::is_authentication_failure).
    let Some(key) = key else {
        let (status, body) = Refusal::new(
            ErrorCode::UnknownTerminal,
            "the terminal is not registered with the gateway: bind it first",
        )
        .answer();
        return Some(unsigned(status, body));
    };
    let Some(endpoint) = endpoint else {
        let no_endpoint = Refusal::new(ErrorCode::BadRequest, "no such endpoint");
        return Some(refusal(&key, no_endpoint, Some(404)));
    };
    if request.method() != Method::POST {
        let not_post = Refusal::new(ErrorCode::BadRequest, "every endpoint takes POST only");
        return Some(refusal(&key, not_post, Some(405)));
    }
    let Some(body) = net::read_body(request, MAX_BODY).await else {
        let too_large = Refusal::new(
            ErrorCode::BadRequest,
            format!("the body could not be read or is larger than {MAX_BODY} bytes"),
        );
        return Some(refusal(&key, too_large, None));
    };
    if !signature.is_some_and(|s| key.verify_request(endpoint.path(), &body, &s)) {
        let bad = Refusal::new(
            ErrorCode::BadSignature,
            "the request signature does not verify: check the terminal's gateway key",
        );
        return Some(refusal(&key, bad, None));
    }
    let now = shared.now();
    let (handled, answer_delay) = {
        let mut state = shared.lock();
        let handled = state.handle(&terminal_id, endpoint, &body, now);
        (handled, state.answer_delay)
    };
    let delay = match handled.delivery {
        Delivery::NoAnswer => return None,
        Delivery::Delay(by) => by,
        Delivery::Normal | Delivery::BadSignature => Duration::ZERO,
    };
    let delay = delay + answer_delay.unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let corrupt = handled.delivery == Delivery::BadSignature;
    Some(signed(&key, handled.status, handled.body, corrupt))
}
