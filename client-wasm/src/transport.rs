//! The browser's transport: the global `fetch`. Only this module touches it.

use crate::client::{HttpRequest, HttpResponse, Transport};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (window or worker).
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(input: &Request) -> Promise;
}

/// HTTP over `fetch`, without cookies (tokens go in the `Authorization` header).
#[derive(Debug, Default, Clone, Copy)]
pub struct Fetch;

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "the request failed".into())
}

impl Transport for Fetch {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String> {
        let init = RequestInit::new();
        init.set_method(req.method);
        init.set_credentials(web_sys::RequestCredentials::Omit);
        if let Some(body) = &req.body {
            init.set_body(&JsValue::from_str(body));
        }
        let request = Request::new_with_str_and_init(&req.url, &init).map_err(|e| describe(&e))?;
        let headers = request.headers();
        headers.set("accept", "application/json").map_err(|e| describe(&e))?;
        if req.body.is_some() {
            headers.set("content-type", "application/json").map_err(|e| describe(&e))?;
        }
        if let Some(auth) = &req.authorization {
            headers.set("authorization", auth).map_err(|e| describe(&e))?;
        }
        let response: Response = JsFuture::from(global_fetch(&request))
            .await
            .map_err(|e| format!("Could not reach {}: {}", req.url, describe(&e)))?
            .dyn_into()
            .map_err(|_| "fetch did not return a Response".to_string())?;
        let text = JsFuture::from(response.text().map_err(|e| describe(&e))?)
            .await
            .map_err(|e| describe(&e))?;
        Ok(HttpResponse { status: response.status(), body: text.as_string().unwrap_or_default() })
    }
}
