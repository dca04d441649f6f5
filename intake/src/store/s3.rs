//! Blobs in any S3-compatible object store (AWS S3, MinIO, Ceph RGW, OSS/COS in S3 mode):
//! `{prefix}parts/<key>` for upload parts, `{prefix}blobs/<sha256>` content-addressed.
//!
//! A small client over reqwest with AWS Signature Version 4, path-style URLs, and exactly the calls
//! intake needs (put, get, head, delete, multipart upload): `object_store`'s S3 support would bring
//! aws-lc-rs and a large tree to build on the 2-core CI machine (docs/decisions/0010). Assembly reads
//! the parts twice — once to hash, then to write — so nothing unverified is ever written under a
//! content address; blobs up to [`SINGLE_PUT_MAX`] are kept in memory between the two passes.

use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use chrono::Utc;
use fieldseal_core::protocol::statement::is_sha256_hex;
use reqwest::{Method, StatusCode};
use ring::{digest, hmac};

use super::*;
use crate::{
    error::IntakeError,
    ids::{hex, is_part_key},
};

/// Assembled blobs up to this size are written with one PUT; larger ones by multipart upload.
const SINGLE_PUT_MAX: u64 = 16 << 20;
/// Multipart part size (S3 requires at least 5 MiB for every part but the last).
const MULTIPART_PART: usize = 8 << 20;

/// Where and how to reach the bucket.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// `http://127.0.0.1:9000` or `https://s3.example.gov.cn` — path-style requests go here.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Prepended to every key (`intake/`), so several deployments can share a bucket.
    pub prefix: String,
}

pub struct S3Blobs {
    config: S3Config,
    http: reqwest::Client,
}

fn storage(e: impl std::fmt::Display) -> IntakeError {
    IntakeError::storage(format!("s3: {e}"))
}

/// RFC 3986 percent-encoding as SigV4 wants it: everything but unreserved characters (and `/` in
/// paths).
fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

/// One request to sign: what SigV4 covers.
pub(crate) struct Signable<'a> {
    pub method: &'a str,
    /// `host[:port]` as sent.
    pub host: &'a str,
    /// The path, not yet encoded.
    pub path: &'a str,
    pub query: &'a [(&'a str, &'a str)],
    /// Extra headers to sign (lowercase names).
    pub headers: &'a [(&'a str, &'a str)],
    pub payload_sha256: &'a str,
    /// `YYYYMMDDTHHMMSSZ`.
    pub amz_date: &'a str,
}

/// The `Authorization` header for a request (AWS Signature Version 4, service `s3`).
pub(crate) fn authorization(request: &Signable<'_>, region: &str, access_key: &str, secret: &str) -> String {
    let mut query: Vec<(String, String)> =
        request.query.iter().map(|(k, v)| (uri_encode(k, false), uri_encode(v, false))).collect();
    query.sort();
    let canonical_query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), request.host.to_owned()),
        ("x-amz-content-sha256".into(), request.payload_sha256.to_owned()),
        ("x-amz-date".into(), request.amz_date.to_owned()),
    ];
    headers.extend(request.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned())));
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(";");
    let canonical_request = format!(
        "{}\n{}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{}",
        request.method,
        uri_encode(request.path, true),
        request.payload_sha256
    );
    let date = &request.amz_date[..8];
    let scope = format!("{date}/{region}/s3/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{}\n{scope}\n{}",
        request.amz_date,
        sha256_hex(canonical_request.as_bytes())
    );
    let mut key = hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    for part in [region, "s3", "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
}

impl S3Blobs {
    pub fn new(config: S3Config) -> Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(storage)?;
        Ok(S3Blobs { config, http })
    }

    /// Creates the bucket if it does not exist (development and tests; production buckets are
    /// provisioned by the operator).
    pub async fn ensure_bucket(&self) -> Result<()> {
        let response = self.send(Method::HEAD, "", &[], Bytes::new()).await?;
        if response.status().is_success() {
            return Ok(());
        }
        let response = self.send(Method::PUT, "", &[], Bytes::new()).await?;
        match response.status() {
            s if s.is_success() || s == StatusCode::CONFLICT => Ok(()),
            s => Err(storage(format!("create bucket: {s}"))),
        }
    }

    async fn send(
        &self,
        method: Method,
        key: &str,
        query: &[(&str, &str)],
        body: Bytes,
    ) -> Result<reqwest::Response> {
        let endpoint = self.config.endpoint.trim_end_matches('/');
        let url = reqwest::Url::parse(endpoint).map_err(storage)?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => return Err(storage("endpoint has no host")),
        };
        let path = if key.is_empty() {
            format!("/{}", self.config.bucket)
        } else {
            format!("/{}/{key}", self.config.bucket)
        };
        let payload = sha256_hex(&body);
        let amz_date = Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let signable = Signable {
            method: method.as_str(),
            host: &host,
            path: &path,
            query,
            headers: &[],
            payload_sha256: &payload,
            amz_date: &amz_date,
        };
        let authorization = authorization(
            &signable,
            &self.config.region,
            &self.config.access_key_id,
            &self.config.secret_access_key,
        );
        let mut target = format!("{endpoint}{}", uri_encode(&path, true));
        if !query.is_empty() {
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{}={}", uri_encode(k, false), uri_encode(v, false)))
                .collect();
            target.push('?');
            target.push_str(&q.join("&"));
        }
        self.http
            .request(method, target)
            .header("authorization", authorization)
            .header("x-amz-content-sha256", payload)
            .header("x-amz-date", amz_date)
            .body(body)
            .send()
            .await
            .map_err(storage)
    }

    async fn expect_ok(&self, what: &str, response: reqwest::Response) -> Result<reqwest::Response> {
        if response.status().is_success() {
            Ok(response)
        } else {
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            Err(storage(format!("{what}: {status} {}", text.chars().take(200).collect::<String>())))
        }
    }

    fn part_key(&self, key: &str) -> Result<String> {
        if !is_part_key(key) {
            return Err(IntakeError::internal(format!("refusing part key {key:?}")));
        }
        Ok(format!("{}parts/{key}", self.config.prefix))
    }

    fn blob_key(&self, sha256: &str) -> Result<String> {
        if !is_sha256_hex(sha256) {
            return Err(IntakeError::internal(
                "refusing a content address that is not lowercase hex SHA-256",
            ));
        }
        Ok(format!("{}blobs/{sha256}", self.config.prefix))
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        let response = self.send(Method::GET, key, &[], Bytes::new()).await?;
        self.expect_ok("get", response).await?.bytes().await.map_err(storage)
    }

    async fn put(&self, key: &str, body: Bytes) -> Result<()> {
        let response = self.send(Method::PUT, key, &[], body).await?;
        self.expect_ok("put", response).await.map(|_| ())
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let response = self.send(Method::DELETE, key, &[], Bytes::new()).await?;
        match response.status() {
            s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
            s => Err(storage(format!("delete: {s}"))),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        let response = self.send(Method::HEAD, key, &[], Bytes::new()).await?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => Err(storage(format!("head: {s}"))),
        }
    }

    /// Writes `parts` (in order) to `key` by multipart upload, in parts of [`MULTIPART_PART`].
    async fn multipart(&self, key: &str, parts: &[String]) -> Result<()> {
        let response = self.send(Method::POST, key, &[("uploads", "")], Bytes::new()).await?;
        let text = self.expect_ok("create multipart", response).await?.text().await.map_err(storage)?;
        let upload_id = xml_value(&text, "UploadId").ok_or_else(|| storage("no UploadId in the answer"))?;
        let result = async {
            let mut etags = Vec::new();
            let mut buffer = BytesMut::new();
            for (index, part) in parts.iter().enumerate() {
                buffer.extend_from_slice(&self.get(&self.part_key(part)?).await?);
                let last = index + 1 == parts.len();
                while buffer.len() >= MULTIPART_PART || (last && !buffer.is_empty()) {
                    let take = buffer.len().min(MULTIPART_PART);
                    let chunk = buffer.split_to(take).freeze();
                    let number = (etags.len() + 1).to_string();
                    let response = self
                        .send(Method::PUT, key, &[("partNumber", &number), ("uploadId", &upload_id)], chunk)
                        .await?;
                    let response = self.expect_ok("upload part", response).await?;
                    let etag = response
                        .headers()
                        .get("etag")
                        .and_then(|v| v.to_str().ok())
                        .ok_or_else(|| storage("part without ETag"))?
                        .to_owned();
                    etags.push(etag);
                }
            }
            let body: String =
                std::iter::once("<CompleteMultipartUpload>".to_owned())
                    .chain(etags.iter().enumerate().map(|(i, e)| {
                        format!("<Part><PartNumber>{}</PartNumber><ETag>{e}</ETag></Part>", i + 1)
                    }))
                    .chain(std::iter::once("</CompleteMultipartUpload>".to_owned()))
                    .collect();
            let response =
                self.send(Method::POST, key, &[("uploadId", &upload_id)], Bytes::from(body)).await?;
            let response = self.expect_ok("complete multipart", response).await?;
            // S3 may answer 200 with an error document when completion fails late.
            let text = response.text().await.map_err(storage)?;
            if text.contains("<Error>") {
                return Err(storage("complete multipart answered with an error"));
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            let _ = self.send(Method::DELETE, key, &[("uploadId", &upload_id)], Bytes::new()).await;
        }
        result
    }
}

/// A part gathered in memory (at most intake's chunk limit) and PUT whole when kept.
struct S3Part<'a> {
    blobs: &'a S3Blobs,
    key: String,
    body: BytesMut,
    stored: bool,
}

#[async_trait]
impl PartWriter for S3Part<'_> {
    async fn write(&mut self, bytes: Bytes) -> Result<()> {
        self.body.extend_from_slice(&bytes);
        Ok(())
    }

    async fn keep(&mut self) -> Result<()> {
        self.blobs.put(&self.key, self.body.split().freeze()).await?;
        self.stored = true;
        Ok(())
    }

    async fn abandon(&mut self) -> Result<()> {
        self.body.clear();
        if self.stored { self.blobs.delete(&self.key).await } else { Ok(()) }
    }
}

fn xml_value(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{tag}>"))? + start;
    Some(text[start..end].to_owned())
}

#[async_trait]
impl Blobs for S3Blobs {
    async fn ping(&self) -> Result<()> {
        let response = self.send(Method::HEAD, "", &[], Bytes::new()).await?;
        self.expect_ok("head bucket", response).await.map(|_| ())
    }

    async fn begin_part(
        &self,
        _upload_id: &str,
        _offset: u64,
        key: &str,
    ) -> Result<Box<dyn PartWriter + '_>> {
        // Each part is an object of its own under a fresh key: racing requests never share one,
        // and the metadata's conditional offset update decides which part counts.
        Ok(Box::new(S3Part { blobs: self, key: self.part_key(key)?, body: BytesMut::new(), stored: false }))
    }

    /// An acknowledged PUT is durable: every recorded part is held.
    async fn sync_upload(&self, _upload_id: &str, offset: u64) -> Result<u64> {
        Ok(offset)
    }

    async fn discard_parts(&self, _upload_id: &str, parts: &[String]) -> Result<()> {
        for key in parts {
            self.delete(&self.part_key(key)?).await?;
        }
        Ok(())
    }

    async fn commit(
        &self,
        expected: &str,
        _upload_id: &str,
        _length: u64,
        parts: &[String],
    ) -> Result<CommitOutcome> {
        let target = self.blob_key(expected)?;
        let mut hasher = digest::Context::new(&digest::SHA256);
        let mut kept = BytesMut::new();
        let mut total = 0u64;
        for part in parts {
            let bytes = self.get(&self.part_key(part)?).await?;
            hasher.update(&bytes);
            total += bytes.len() as u64;
            if total <= SINGLE_PUT_MAX {
                kept.extend_from_slice(&bytes);
            }
        }
        if hex(hasher.finish().as_ref()) != expected {
            return Ok(CommitOutcome::Mismatch);
        }
        // Same content at the same address: another upload already stored it.
        if self.exists(&target).await? {
            return Ok(CommitOutcome::Stored);
        }
        if total <= SINGLE_PUT_MAX {
            self.put(&target, kept.freeze()).await?;
        } else {
            self.multipart(&target, parts).await?;
        }
        Ok(CommitOutcome::Stored)
    }

    async fn rehash(&self, sha256: &str) -> Result<Option<(String, u64)>> {
        let key = self.blob_key(sha256)?;
        let response = self.send(Method::GET, &key, &[], Bytes::new()).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let mut response = self.expect_ok("get", response).await?;
        let mut hasher = digest::Context::new(&digest::SHA256);
        let mut size = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(storage)? {
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Some((hex(hasher.finish().as_ref()), size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of AWS's SigV4 documentation for S3 ("GET Object", with a Range header).
    #[test]
    fn signature_matches_the_aws_documentation_example() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let signable = Signable {
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            query: &[],
            headers: &[("range", "bytes=0-9")],
            payload_sha256: empty,
            amz_date: "20130524T000000Z",
        };
        let header = authorization(
            &signable,
            "us-east-1",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(
            header,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn keys_are_encoded_as_sigv4_wants() {
        assert_eq!(uri_encode("a b/c~d+é", true), "a%20b/c~d%2B%C3%A9");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(xml_value("<X><UploadId>abc</UploadId></X>", "UploadId").as_deref(), Some("abc"));
    }
}
