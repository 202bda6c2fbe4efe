//! Identity: who is calling, taken from `Authorization: Bearer <JWT>`.
//!
//! This module only authenticates (verifies a token and turns its claims into
//! an [`Identity`]); what an identity may do is decided in
//! `catalog::policy`.
//!
//! Accepted tokens: HS256 signed with the shared secret, and RS256 / ES256
//! signed by a key of the configured JWKS (file or URL), chosen by the
//! token's `kid`. The algorithm a key is used with comes from the key itself
//! (its `kty`/`alg`), never from the token alone, so a token cannot pick a
//! weaker check. `exp` is required; `exp`, `nbf`, `iss` and `aud` are checked
//! with a small leeway for clock skew.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Map, Value};

/// Where RS256/ES256 verification keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    File(PathBuf),
    Url(String),
}

/// Token verification settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// HS256 shared secret (`None`: HS256 tokens are refused).
    pub jwt_secret: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub jwks: Option<JwksSource>,
    pub jwks_min_refresh: Duration,
    pub jwks_max_age: Duration,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    pub roles_claim: String,
    pub teams_claim: String,
}

impl AuthConfig {
    // The defaults of the settings that have one: the command line's
    // defaults, and `config`'s `AuthConfig::with_secret`.
    pub const DEFAULT_JWKS_MIN_REFRESH: &'static str = "30s";
    pub const DEFAULT_JWKS_MAX_AGE: &'static str = "15m";
    pub const DEFAULT_LEEWAY: &'static str = "30s";
    pub const DEFAULT_ROLES_CLAIM: &'static str = "roles";
    pub const DEFAULT_TEAMS_CLAIM: &'static str = "teams";
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user id (the token's `sub`).
    pub subject: String,
    /// Teams the token says the user belongs to (names).
    pub teams: Vec<String>,
    /// Roles, e.g. `admin`.
    pub roles: Vec<String>,
}

/// The caller of one request: anonymous or authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Caller {
    #[default]
    Anonymous,
    User(Identity),
}

impl Caller {
    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Caller::Anonymous => None,
            Caller::User(identity) => Some(identity),
        }
    }
}

/// Why a token was refused. The message is safe to show to the caller.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("the Authorization header must be `Bearer <token>`")]
    MalformedHeader,
    /// The JWKS could not be read or parsed (logged, not shown in detail).
    #[error("verification keys unavailable: {0}")]
    Keys(String),
    #[error("minting tokens needs an HS256 secret (MESH_JWT_SECRET)")]
    NoSecret,
    /// A token the server would refuse (empty subject, no lifetime).
    #[error("cannot mint this token: {0}")]
    Mint(&'static str),
}

/// When a bearer header's token expires (its `exp`), read without checking
/// the signature: only for a token [`TokenService::authenticate`] accepted.
pub fn expiry(header: &str) -> Option<std::time::SystemTime> {
    use base64::Engine;
    let token = header.strip_prefix("Bearer ").unwrap_or(header).trim();
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let exp = serde_json::from_slice::<Value>(&bytes).ok()?.get("exp")?.as_u64()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(exp))
}

fn invalid(e: impl std::fmt::Display) -> AuthError {
    AuthError::InvalidToken(e.to_string())
}

/// Verifies tokens (HS256 and JWKS keys) and mints HS256 tokens.
#[derive(Clone)]
pub struct TokenService {
    secret: Option<(EncodingKey, DecodingKey)>,
    jwks: Option<Arc<Jwks>>,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
    roles_claim: String,
    teams_claim: String,
}

impl TokenService {
    pub fn new(config: &AuthConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = config.leeway.as_secs();
        validation.validate_nbf = true;
        match &config.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &config.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Self {
            secret: config.jwt_secret.as_ref().map(|s| {
                (
                    EncodingKey::from_secret(s.as_bytes()),
                    DecodingKey::from_secret(s.as_bytes()),
                )
            }),
            jwks: config
                .jwks
                .clone()
                .map(|source| Arc::new(Jwks::new(source, config.jwks_min_refresh, config.jwks_max_age))),
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            roles_claim: config.roles_claim.clone(),
            teams_claim: config.teams_claim.clone(),
        }
    }

    /// Loads the JWKS now (at start-up), so a bad file or URL shows early.
    pub async fn load_keys(&self) -> Result<(), AuthError> {
        match &self.jwks {
            Some(jwks) => jwks.refresh(true).await,
            None => Ok(()),
        }
    }

    /// Resolves the caller from an optional `Authorization` header value.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Caller, AuthError> {
        let Some(header) = header else {
            return Ok(Caller::Anonymous);
        };
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or(AuthError::MalformedHeader)?
            .trim();
        self.verify(token).await.map(Caller::User)
    }

    /// Verifies a token's signature, time, issuer and audience claims.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let header = decode_header(token).map_err(invalid)?;
        let key = match header.alg {
            Algorithm::HS256 => match &self.secret {
                Some((_, key)) => key.clone(),
                None => return Err(invalid("HS256 tokens are not accepted")),
            },
            Algorithm::RS256 | Algorithm::ES256 => {
                let jwks = self
                    .jwks
                    .as_ref()
                    .ok_or_else(|| invalid(format!("{:?} tokens are not accepted", header.alg)))?;
                let kid = header.kid.as_deref().ok_or_else(|| invalid("the token has no `kid`"))?;
                jwks.key(kid, header.alg).await?
            }
            other => return Err(invalid(format!("algorithm {other:?} is not accepted"))),
        };
        let mut validation = self.validation.clone();
        validation.algorithms = vec![header.alg];
        let claims = decode::<Value>(token, &key, &validation).map_err(invalid)?.claims;
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("missing or empty subject"))?;
        Ok(Identity {
            subject: subject.to_owned(),
            teams: strings(claim(&claims, &self.teams_claim)),
            roles: strings(claim(&claims, &self.roles_claim)),
        })
    }

    /// Mints an HS256 token for development and tests (`mesh-catalog
    /// token`), with roles and teams under the configured claim names.
    pub fn mint(&self, identity: &Identity, ttl: Duration) -> Result<String, AuthError> {
        let (key, _) = self.secret.as_ref().ok_or(AuthError::NoSecret)?;
        if identity.subject.trim().is_empty() {
            return Err(AuthError::Mint("the subject (--sub) must not be empty"));
        }
        if ttl < Duration::from_secs(1) {
            return Err(AuthError::Mint("the lifetime (--ttl) must be at least 1s"));
        }
        let now = jsonwebtoken::get_current_timestamp();
        let mut claims = json!({ "sub": identity.subject, "iat": now, "exp": now + ttl.as_secs() });
        if let Some(iss) = &self.issuer {
            claims["iss"] = json!(iss);
        }
        if let Some(aud) = &self.audience {
            claims["aud"] = json!(aud);
        }
        set_claim(&mut claims, &self.teams_claim, json!(identity.teams));
        set_claim(&mut claims, &self.roles_claim, json!(identity.roles));
        encode(&Header::new(Algorithm::HS256), &claims, key).map_err(invalid)
    }
}

/// The value at a dotted claim path (`realm_access.roles`).
fn claim<'a>(claims: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(claims, |value, key| value.get(key))
}

fn set_claim(claims: &mut Value, path: &str, value: Value) {
    let mut at = claims;
    let mut keys = path.split('.').peekable();
    while let Some(key) = keys.next() {
        let Value::Object(map) = at else { return };
        if keys.peek().is_none() {
            map.insert(key.to_owned(), value);
            return;
        }
        at = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// A claim as a list of strings: a JSON array of strings, or one string of
/// space- or comma-separated values (the OAuth `scope` style).
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(s)) => s
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// Verification keys by `kid`, with the algorithm each is used with.
type KeyMap = HashMap<String, (Algorithm, DecodingKey)>;

/// A cached JWKS. Keys are looked up by `kid`; an unknown `kid` or keys older
/// than `max_age` trigger a re-read, at most once per `min_refresh` (so a
/// flood of tokens with made-up `kid`s cannot hammer the key server).
struct Jwks {
    source: JwksSource,
    client: reqwest::Client,
    min_refresh: Duration,
    max_age: Duration,
    keys: RwLock<Arc<KeyMap>>,
    /// When the keys were last fetched (also serialises refreshes).
    fetched: tokio::sync::Mutex<Option<Instant>>,
}

impl Jwks {
    fn new(source: JwksSource, min_refresh: Duration, max_age: Duration) -> Self {
        Self {
            source,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap_or_default(),
            min_refresh,
            max_age,
            keys: RwLock::new(Arc::new(KeyMap::new())),
            fetched: tokio::sync::Mutex::new(None),
        }
    }

    fn cached(&self, kid: &str, alg: Algorithm) -> Option<Result<DecodingKey, AuthError>> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        keys.get(kid).map(|(key_alg, key)| {
            if *key_alg == alg {
                Ok(key.clone())
            } else {
                Err(invalid(format!("key `{kid}` is not an {alg:?} key")))
            }
        })
    }

    async fn key(&self, kid: &str, alg: Algorithm) -> Result<DecodingKey, AuthError> {
        let fresh = |fetched: Option<Instant>| fetched.is_some_and(|t| t.elapsed() < self.max_age);
        if let Some(found) = self.cached(kid, alg) {
            if fresh(*self.fetched.lock().await) {
                return found;
            }
        }
        if let Err(e) = self.refresh(false).await {
            tracing::warn!(error = %e, "JWKS refresh failed; keeping the cached keys");
        }
        self.cached(kid, alg)
            .unwrap_or_else(|| Err(invalid(format!("unknown key id `{kid}`"))))
    }

    /// Re-reads the key set unless it was read less than `min_refresh` ago
    /// (`force` ignores that, for start-up).
    async fn refresh(&self, force: bool) -> Result<(), AuthError> {
        let mut fetched = self.fetched.lock().await;
        if !force && fetched.is_some_and(|t| t.elapsed() < self.min_refresh) {
            return Ok(());
        }
        *fetched = Some(Instant::now());
        let text = match &self.source {
            JwksSource::File(path) => tokio::fs::read_to_string(path)
                .await
                .map_err(|e| AuthError::Keys(format!("{}: {e}", path.display())))?,
            JwksSource::Url(url) => {
                let response = self
                    .client
                    .get(url)
                    .send()
                    .await
                    .and_then(|r| r.error_for_status())
                    .map_err(|e| AuthError::Keys(format!("{url}: {e}")))?;
                response
                    .text()
                    .await
                    .map_err(|e| AuthError::Keys(format!("{url}: {e}")))?
            }
        };
        let keys = parse_jwks(&text)?;
        tracing::info!(keys = keys.len(), "JWKS loaded");
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
        Ok(())
    }
}

/// The usable signing keys of a JWKS document: RSA keys for RS256 and P-256
/// keys for ES256, each with a `kid`; other keys are skipped.
fn parse_jwks(text: &str) -> Result<KeyMap, AuthError> {
    let set: JwkSet = serde_json::from_str(text).map_err(|e| AuthError::Keys(format!("not a JWKS: {e}")))?;
    let mut keys = KeyMap::new();
    for jwk in &set.keys {
        let Some(kid) = &jwk.common.key_id else { continue };
        let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                if ec.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => continue,
        };
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => {
                keys.insert(kid.clone(), (alg, key));
            }
            Err(e) => tracing::warn!(kid, error = %e, "skipping an unusable JWKS key"),
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_dotted_paths_and_strings() {
        let claims = json!({ "realm_access": { "roles": ["admin"] }, "groups": "a b,c" });
        assert_eq!(strings(claim(&claims, "realm_access.roles")), ["admin"]);
        assert_eq!(strings(claim(&claims, "groups")), ["a", "b", "c"]);
        assert!(strings(claim(&claims, "missing.path")).is_empty());
        let mut minted = json!({});
        set_claim(&mut minted, "realm_access.roles", json!(["x"]));
        assert_eq!(minted, json!({ "realm_access": { "roles": ["x"] } }));
    }

    #[test]
    fn jwks_keeps_only_signing_keys_with_a_kid() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/jwt/jwks-1.json"
        ))
        .unwrap();
        let keys = parse_jwks(&text).unwrap();
        assert_eq!(keys["rsa-1"].0, Algorithm::RS256);
        assert_eq!(keys["ec-1"].0, Algorithm::ES256);
        assert!(parse_jwks("{\"keys\": [{\"kty\": \"oct\", \"k\": \"AA\"}]}")
            .unwrap()
            .is_empty());
        assert!(parse_jwks("nope").is_err());
    }
}
