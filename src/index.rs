//! Asks a Python package index whether a version of a project is already published, through the
//! simple repository API: PEP 691 JSON when the index offers it, PEP 503 HTML otherwise (decided
//! by the answer's Content-Type). Names are compared after PEP 503 normalisation and versions per
//! PEP 440 (`1.0` is `1.0.0`). The `version` check and `hookgate release` read the wheel's own
//! metadata with [`wheel_metadata`], then ask [`IndexClient::version_state`]. The client gets its
//! proxies, extra certificates and netrc file as values ([`IndexSettings`], built by
//! [`crate::env::HostEnv::index_settings`]); it reads no environment variable itself.
//!
//! The answer keeps three outcomes apart: taken, free, and "the index could not be asked"
//! ([`IndexAnswer::Unreachable`]: no verdict, never cached). An index that answers something
//! hookgate cannot read, or wants credentials it did not get, is an [`IndexError`]: a setup
//! error, never "version taken". No message carries a password: URLs are shown through
//! [`redact`], and credentials never travel inside a URL handed to the HTTP client.

use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use pep440_rs::Version;
use serde::Deserialize;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};
use url::Url;

/// PEP 691's recommended `Accept`: JSON first, HTML as the fallback every index serves.
const ACCEPT: &str =
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1";
/// How long to wait for a TCP (and proxy) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one question may take, redirects and body included.
const OVERALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed before giving up (pip and uv allow about as many).
const MAX_REDIRECTS: usize = 10;
/// The largest listing read: PyPI's biggest project pages are tens of MiB.
const BODY_LIMIT: u64 = 128 * 1024 * 1024;
/// The largest METADATA read from a wheel (it holds the long description).
const METADATA_LIMIT: u64 = 16 * 1024 * 1024;
/// Legacy and current source distribution suffixes (PEP 625 allows only `.tar.gz`).
const SDIST_SUFFIXES: [&str; 8] =
    [".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tbz", ".tar.z", ".tar"];

/// A distribution's name and version, as its core metadata states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistMeta {
    /// `Name:`, as written (not normalised).
    pub name: String,
    /// `Version:`, as written (not normalised).
    pub version: String,
}

/// Reads the name and version from the wheel's top-level `*.dist-info/METADATA`.
pub fn wheel_metadata(wheel: &Path) -> Result<DistMeta> {
    let (entry, text) = wheel_metadata_text(wheel)?;
    parse_metadata(&text).with_context(|| format!("{entry} in {}", wheel.display()))
}

/// The wheel's top-level `*.dist-info/METADATA` (its entry name and its text, at most
/// [`METADATA_LIMIT`] bytes): a wheel has exactly one.
pub fn wheel_metadata_text(wheel: &Path) -> Result<(String, String)> {
    let file = std::fs::File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a readable zip archive", wheel.display()))?;
    let entries: Vec<String> =
        archive.file_names().filter(|n| is_dist_info_metadata(n)).map(String::from).collect();
    let entry = match entries.as_slice() {
        [one] => one.clone(),
        [] => bail!("{} has no *.dist-info/METADATA: it is not a wheel", wheel.display()),
        many => bail!(
            "{} has {} .dist-info directories ({}): a wheel has one",
            wheel.display(),
            many.len(),
            many.join(", ")
        ),
    };
    let mut text = String::new();
    archive
        .by_name(&entry)
        .with_context(|| format!("reading {entry} in {}", wheel.display()))?
        .take(METADATA_LIMIT)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {entry} in {} as UTF-8", wheel.display()))?;
    Ok((entry, text))
}

/// `NAME.dist-info/METADATA` at the archive's top level (not a vendored copy deeper down).
fn is_dist_info_metadata(entry: &str) -> bool {
    matches!(entry.split_once('/'), Some((dir, "METADATA")) if dir.ends_with(".dist-info"))
}

/// `Name:` and `Version:` from core metadata (RFC 822 headers; the body is the description).
fn parse_metadata(text: &str) -> Result<DistMeta> {
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        // Continuation lines (leading whitespace) belong to a multi-line field such as License.
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else { continue };
        let slot = match key.trim().to_ascii_lowercase().as_str() {
            "name" => &mut name,
            "version" => &mut version,
            _ => continue,
        };
        slot.get_or_insert_with(|| value.trim().to_string());
    }
    match (name, version) {
        (Some(name), Some(version)) if !name.is_empty() && !version.is_empty() => {
            Ok(DistMeta { name, version })
        }
        _ => bail!("the metadata has no non-empty `Name:` and `Version:` fields"),
    }
}

/// PEP 503 normalisation: lowercase, each run of `-`, `_` and `.` becomes one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            in_separator = true;
            continue;
        }
        if in_separator {
            out.push('-');
            in_separator = false;
        }
        out.extend(c.to_lowercase());
    }
    if in_separator {
        out.push('-');
    }
    out
}

/// The version of `project`'s distribution file `filename` (a wheel, an sdist or an egg), or
/// `None` when the file belongs to another project or its name does not parse. `project` must
/// be normalised. The name is matched after normalisation at every `-` boundary, so
/// `Foo.Bar-1.0.tar.gz` and legacy `foo-bar-1.0-1.tar.gz` (a post release) are read right.
fn file_version(filename: &str, project: &str) -> Option<Version> {
    if let Some(stem) = strip_suffix_ignore_case(filename, ".whl") {
        // name-version(-build)?-python-abi-platform: the last three are tags.
        let parts: Vec<&str> = stem.split('-').collect();
        let head = parts.get(..parts.len().checked_sub(3)?)?;
        return version_after_name(head, project, |rest| match rest {
            [version] => Some(version.to_string()),
            [version, build] if build.starts_with(|c: char| c.is_ascii_digit()) => Some(version.to_string()),
            _ => None,
        });
    }
    if let Some(stem) = strip_suffix_ignore_case(filename, ".egg") {
        // name-version(-pyX.Y(-platform)?)?, where the platform may hold dashes itself.
        let parts: Vec<&str> = stem.split('-').collect();
        return version_after_name(&parts, project, |rest| {
            rest.first().map(std::string::ToString::to_string)
        });
    }
    let stem = SDIST_SUFFIXES.iter().find_map(|s| strip_suffix_ignore_case(filename, s))?;
    let parts: Vec<&str> = stem.split('-').collect();
    version_after_name(&parts, project, |rest| Some(rest.join("-")))
}

/// Splits `parts` after each prefix whose normalised name is `project` and lets `version_of`
/// pick the version from what follows; the first split that yields a PEP 440 version wins.
fn version_after_name(
    parts: &[&str],
    project: &str,
    version_of: impl Fn(&[&str]) -> Option<String>,
) -> Option<Version> {
    (1..parts.len()).find_map(|split| {
        if normalize_name(&parts[..split].join("-")) != project {
            return None;
        }
        Version::from_str(&version_of(&parts[split..])?).ok()
    })
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

/// `url` with any `user:password@` replaced by `***@`, for every message hookgate prints. Works
/// on strings that are not valid URLs too (a proxy setting such as `user:pw@proxy:3128`).
pub fn redact(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &rest[at..]),
        None => url.to_string(),
    }
}

/// What the index says about one version of one project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexAnswer {
    /// The version exists: these of its files are listed (empty when only PEP 700's
    /// `versions` names it).
    Taken {
        /// File names of that version, as the index lists them.
        files: Vec<String>,
    },
    /// The project is not on the index, or the version is not among its files.
    Free,
    /// The index could not be asked (refused, DNS, timeout, HTTP 408/429/5xx): no verdict.
    Unreachable(String),
}

/// The index answered, but not with something that decides the question: a setup problem for
/// the user to fix (exit 2), never "version taken".
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The index URL, a proxy setting, the certificate file, the netrc file or the version is
    /// unusable.
    #[error("{0}")]
    Setup(String),
    /// TLS with the index (or proxy) failed, typically an untrusted certificate.
    #[error("TLS with {url} failed: {reason}")]
    Tls {
        /// The URL asked (redacted).
        url: String,
        /// What rustls said, with a hint when the certificate was not trusted.
        reason: String,
    },
    /// HTTP 401 or 403.
    #[error("{}", credentials_message(.url, *.status, .sent_from.as_deref()))]
    Credentials {
        /// The URL asked (redacted).
        url: String,
        /// 401 or 403.
        status: u16,
        /// Where the credentials that were sent came from, if any were.
        sent_from: Option<String>,
    },
    /// An answer hookgate cannot read: a page that is not a listing, a broken redirect, broken
    /// HTTP.
    #[error("{url} did not answer with a package listing hookgate can read: {reason}")]
    Malformed {
        /// The URL asked (redacted).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A status that means neither "here is the listing" nor "no such project".
    #[error("{url} answered HTTP {status}, which is neither a listing nor \"no such project\"")]
    Status {
        /// The URL asked (redacted).
        url: String,
        /// The HTTP status.
        status: u16,
    },
}

fn credentials_message(url: &str, status: u16, sent_from: Option<&str>) -> String {
    match sent_from {
        None => format!(
            "{url} answered HTTP {status}: the index needs credentials. Give them in the index URL \
             (https://USER:PASSWORD@host/simple/, percent-encoding special characters) or in ~/.netrc \
             (`machine HOST login USER password PASSWORD`; the NETRC variable names another file)"
        ),
        Some(source) => format!(
            "{url} answered HTTP {status} to the credentials from {source}: check the user name and \
             password, and that this user may read the index"
        ),
    }
}

/// Network settings for asking an index, filled by the caller from the host environment
/// ([`crate::env::HostEnv::index_settings`]).
#[derive(Clone, Default)]
pub struct IndexSettings {
    /// Proxy for `https` URLs (`https_proxy`, else `HTTPS_PROXY`).
    pub https_proxy: Option<String>,
    /// Proxy for `http` URLs (`http_proxy`, else `HTTP_PROXY`).
    pub http_proxy: Option<String>,
    /// Hosts reached without a proxy (`no_proxy`, else `NO_PROXY`): comma-separated host names
    /// (each also matching its subdomains; a leading `.` or `*.` is optional), IP addresses,
    /// CIDR ranges, `host:port`, or `*` for every host.
    pub no_proxy: Option<String>,
    /// A PEM file of roots trusted in addition to the system store (`SSL_CERT_FILE`).
    pub ssl_cert_file: Option<PathBuf>,
    /// The netrc file to take credentials from (`NETRC`, else `~/.netrc`); missing means none.
    pub netrc: Option<PathBuf>,
}

impl std::fmt::Debug for IndexSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Proxy settings may carry a password.
        let shown = |p: &Option<String>| p.as_deref().map(redact);
        f.debug_struct("IndexSettings")
            .field("https_proxy", &shown(&self.https_proxy))
            .field("http_proxy", &shown(&self.http_proxy))
            .field("no_proxy", &self.no_proxy)
            .field("ssl_cert_file", &self.ssl_cert_file)
            .field("netrc", &self.netrc)
            .finish()
    }
}

/// A client for simple-API indexes: HTTP/1.1 over rustls with the system's roots, proxies,
/// HTTP Basic credentials from the index URL or netrc, and bounded time.
pub struct IndexClient {
    settings: IndexSettings,
    /// Trusted roots, loaded on the first `https` request (reading the system store costs a
    /// few milliseconds, and a plain-http index never needs it).
    roots: OnceLock<Result<Arc<Vec<Certificate<'static>>>, String>>,
}

/// The outcome of fetching a project page, before its body is read as a listing.
enum Fetched {
    /// HTTP 200: the page, its Content-Type and the (redacted) URL it came from.
    Page { url: String, content_type: String, body: Vec<u8> },
    /// HTTP 404: the index has no such project.
    Missing,
    /// The index could not be asked.
    Down(String),
}

/// HTTP Basic credentials and where they came from (for messages, never the password).
#[derive(Clone)]
struct Credentials {
    user: String,
    password: String,
    source: String,
}

impl Credentials {
    fn header(&self) -> String {
        let pair = format!("{}:{}", self.user, self.password);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
    }
}

/// The index URL split into the part requested (no userinfo) and the credentials it carried.
struct IndexUrl {
    base: Url,
    credentials: Option<Credentials>,
}

impl IndexUrl {
    fn parse(raw: &str) -> Result<IndexUrl, IndexError> {
        let shown = redact(raw);
        let mut base = Url::parse(raw.trim())
            .map_err(|e| IndexError::Setup(format!("the index URL {shown} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(IndexError::Setup(format!(
                "the index URL {shown} is not an http(s) URL with a host"
            )));
        }
        let credentials = if base.username().is_empty() && base.password().is_none() {
            None
        } else {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .map(std::borrow::Cow::into_owned)
                    .map_err(|_| {
                        IndexError::Setup(format!(
                            "the credentials in the index URL {shown} are not UTF-8 once percent-decoded"
                        ))
                    })
            };
            Some(Credentials {
                user: decode(base.username())?,
                password: decode(base.password().unwrap_or(""))?,
                source: "the index URL".to_string(),
            })
        };
        strip_userinfo(&mut base);
        base.set_query(None);
        base.set_fragment(None);
        Ok(IndexUrl { base, credentials })
    }

    /// `<index>/<project>/`: the trailing slash is the form PEP 503 names (pypiserver and PyPI
    /// redirect to it otherwise).
    fn project_url(&self, project: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}/{project}/", url.path().trim_end_matches('/'));
        url.set_path(&path);
        url
    }
}

fn strip_userinfo(url: &mut Url) {
    // Both only fail for URLs without a host, which were refused before.
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl IndexClient {
    /// A client with these settings; nothing is read or connected until the first question.
    pub fn new(settings: IndexSettings) -> IndexClient {
        IndexClient { settings, roots: OnceLock::new() }
    }

    /// Whether `version` of project `name` is on the simple index at `index_url` (e.g.
    /// `https://pypi.org/simple/`). `name` is normalised here; `version` must be PEP 440.
    pub fn version_state(
        &self,
        index_url: &str,
        name: &str,
        version: &str,
    ) -> Result<IndexAnswer, IndexError> {
        let wanted = Version::from_str(version)
            .map_err(|e| IndexError::Setup(format!("`{version}` is not a PEP 440 version: {e}")))?;
        let project = normalize_name(name);
        let index = IndexUrl::parse(index_url)?;
        match self.fetch(&index, index.project_url(&project))? {
            Fetched::Missing => Ok(IndexAnswer::Free),
            Fetched::Down(reason) => Ok(IndexAnswer::Unreachable(reason)),
            Fetched::Page { url, content_type, body } => {
                let listing = parse_listing(&content_type, &body)
                    .map_err(|reason| IndexError::Malformed { url, reason })?;
                Ok(answer(&listing, &project, &wanted))
            }
        }
    }

    /// GETs `url`, following redirects by hand so that each hop gets its own proxy decision
    /// and credentials (the index URL's only on its own origin, netrc's by host).
    fn fetch(&self, index: &IndexUrl, mut url: Url) -> Result<Fetched, IndexError> {
        let deadline = Instant::now() + OVERALL_TIMEOUT;
        for _ in 0..=MAX_REDIRECTS {
            let shown = redact(url.as_str());
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                let secs = OVERALL_TIMEOUT.as_secs();
                return Ok(Fetched::Down(format!("{shown} did not answer within {secs} s")));
            }
            let credentials = self.credentials(index, &url)?;
            let mut request = self.agent(&url, remaining)?.get(url.as_str()).header("Accept", ACCEPT);
            if let Some(c) = &credentials {
                request = request.header("Authorization", c.header());
            }
            let mut response = match request.call() {
                Ok(response) => response,
                Err(e) => return classify(e, &shown),
            };
            let status = response.status().as_u16();
            match status {
                200 => {
                    let content_type = header(&response, "content-type").unwrap_or_default();
                    return match response.body_mut().with_config().limit(BODY_LIMIT).read_to_vec() {
                        Ok(body) => Ok(Fetched::Page { url: shown, content_type, body }),
                        Err(e) => classify(e, &shown),
                    };
                }
                301 | 302 | 303 | 307 | 308 => {
                    let location = header(&response, "location").ok_or_else(|| IndexError::Malformed {
                        url: shown.clone(),
                        reason: format!("HTTP {status} without a Location"),
                    })?;
                    url = url.join(&location).map_err(|e| IndexError::Malformed {
                        url: shown.clone(),
                        reason: format!("HTTP {status} to an invalid Location {}: {e}", redact(&location)),
                    })?;
                    if !matches!(url.scheme(), "http" | "https") {
                        return Err(IndexError::Malformed {
                            url: shown,
                            reason: format!("redirect to {}", redact(url.as_str())),
                        });
                    }
                    strip_userinfo(&mut url);
                }
                404 => return Ok(Fetched::Missing),
                401 | 403 => {
                    return Err(IndexError::Credentials {
                        url: shown,
                        status,
                        sent_from: credentials.map(|c| c.source),
                    });
                }
                // Overload and server trouble pass: ask again later.
                408 | 429 | 500..=599 => return Ok(Fetched::Down(format!("{shown} answered HTTP {status}"))),
                _ => return Err(IndexError::Status { url: shown, status }),
            }
        }
        Err(IndexError::Malformed {
            url: redact(url.as_str()),
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    /// One agent per hop: the proxy depends on the hop's scheme and host.
    fn agent(&self, url: &Url, remaining: Duration) -> Result<ureq::Agent, IndexError> {
        let proxy = self.proxy_for(url)?;
        let needs_tls = url.scheme() == "https"
            || proxy.as_ref().is_some_and(|p| p.protocol() == ureq::ProxyProtocol::Https);
        // A hop without TLS gets an empty (never consulted) root set: no store is read for it.
        let roots = if needs_tls { self.roots()? } else { Arc::new(Vec::new()) };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::Specific(roots))
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(CONNECT_TIMEOUT.min(remaining)))
            .timeout_global(Some(remaining))
            .user_agent(concat!("hookgate/", env!("CARGO_PKG_VERSION")))
            // Set explicitly: ureq's default reads the proxy variables from the process.
            .proxy(proxy)
            .tls_config(tls)
            .build();
        Ok(config.new_agent())
    }

    fn proxy_for(&self, url: &Url) -> Result<Option<ureq::Proxy>, IndexError> {
        let (setting, name) = match url.scheme() {
            "https" => (&self.settings.https_proxy, "https_proxy"),
            _ => (&self.settings.http_proxy, "http_proxy"),
        };
        let Some(proxy) = setting.as_deref().map(str::trim).filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or(0);
        if self.settings.no_proxy.as_deref().is_some_and(|list| bypasses_proxy(list, host, port)) {
            return Ok(None);
        }
        ureq::Proxy::new(proxy).map(Some).map_err(|e| {
            IndexError::Setup(format!("{name}={} is not a usable proxy URL: {e}", redact(proxy)))
        })
    }

    fn roots(&self) -> Result<Arc<Vec<Certificate<'static>>>, IndexError> {
        self.roots
            .get_or_init(|| load_roots(self.settings.ssl_cert_file.as_deref()))
            .clone()
            .map_err(IndexError::Setup)
    }

    /// The credentials for one hop: the index URL's on its own origin, else netrc's for the host.
    fn credentials(&self, index: &IndexUrl, url: &Url) -> Result<Option<Credentials>, IndexError> {
        if let Some(c) = &index.credentials
            && same_origin(&index.base, url)
        {
            return Ok(Some(c.clone()));
        }
        let (Some(path), Some(host)) = (&self.settings.netrc, url.host_str()) else { return Ok(None) };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(IndexError::Setup(format!("reading the netrc file {}: {e}", path.display())));
            }
        };
        Ok(netrc_lookup(&text, host.trim_start_matches('[').trim_end_matches(']'))
            .map(|(user, password)| Credentials { user, password, source: path.display().to_string() }))
    }
}

fn header<B>(response: &ureq::http::Response<B>, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Sorts a failed request into "could not ask" (no verdict) and setup errors.
fn classify(err: ureq::Error, shown: &str) -> Result<Fetched, IndexError> {
    use ureq::Error as E;
    match err {
        E::Io(e) if tls_failure(&e).is_some() => {
            Err(IndexError::Tls { url: shown.to_string(), reason: tls_failure(&e).unwrap_or_default() })
        }
        E::Rustls(e) => Err(IndexError::Tls { url: shown.to_string(), reason: tls_reason(&e) }),
        E::Tls(e) => Err(IndexError::Tls { url: shown.to_string(), reason: e.to_string() }),
        E::Io(e) => Ok(Fetched::Down(format!("{shown} could not be reached: {e}"))),
        E::Timeout(t) => Ok(Fetched::Down(format!("{shown} did not answer in time ({t})"))),
        E::HostNotFound => Ok(Fetched::Down(format!("{shown} could not be reached: host not found"))),
        E::ConnectionFailed => Ok(Fetched::Down(format!("{shown} could not be reached: connection failed"))),
        E::ConnectProxyFailed(why) => {
            Ok(Fetched::Down(format!("{shown} could not be reached through the proxy: {why}")))
        }
        E::BodyExceedsLimit(limit) => Err(IndexError::Malformed {
            url: shown.to_string(),
            reason: format!("the answer is larger than {limit} bytes"),
        }),
        E::Protocol(_) | E::Decompress(..) | E::LargeResponseHeader(..) => {
            Err(IndexError::Malformed { url: shown.to_string(), reason: err.to_string() })
        }
        other => Err(IndexError::Setup(format!("asking {shown}: {other}"))),
    }
}

/// rustls reports handshake failures (an untrusted certificate, a server that does not speak
/// TLS) as an I/O error wrapping its own error.
fn tls_failure(e: &std::io::Error) -> Option<String> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()).map(tls_reason)
}

fn tls_reason(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(_) => format!(
            "{e}. hookgate trusts the system certificate store; if the index uses a private \
             certificate authority, set SSL_CERT_FILE to a PEM file that holds it"
        ),
        _ => e.to_string(),
    }
}

/// The system store (as `rustls-native-certs` finds it) plus the PEM file `extra`.
fn load_roots(extra: Option<&Path>) -> Result<Arc<Vec<Certificate<'static>>>, String> {
    // rustls-native-certs follows OpenSSL's convention itself: when the process has
    // SSL_CERT_FILE or SSL_CERT_DIR set, that is "the system store". `extra` comes on top.
    let native = rustls_native_certs::load_native_certs();
    let mut roots: Vec<Certificate<'static>> =
        native.certs.iter().map(|der| Certificate::from_der(der.as_ref()).to_owned()).collect();
    if let Some(path) = extra {
        let pem =
            std::fs::read(path).map_err(|e| format!("reading SSL_CERT_FILE {}: {e}", path.display()))?;
        let before = roots.len();
        for item in ureq::tls::parse_pem(&pem) {
            match item {
                Ok(PemItem::Certificate(cert)) => roots.push(cert),
                Ok(_) => {}
                Err(e) => return Err(format!("SSL_CERT_FILE {} is not valid PEM: {e}", path.display())),
            }
        }
        if roots.len() == before {
            return Err(format!("SSL_CERT_FILE {} holds no PEM certificate", path.display()));
        }
    }
    if roots.is_empty() {
        let why = native.errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        return Err(format!(
            "no trusted certificates found in the system store ({why}): install the ca-certificates \
             package or set SSL_CERT_FILE to a PEM bundle"
        ));
    }
    Ok(Arc::new(roots))
}

/// Whether `host` (port `port`) is reached directly according to a NO_PROXY list, with curl's
/// reading: `example.com` and `.example.com` both match `example.com` and its subdomains.
fn bypasses_proxy(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let ip = IpAddr::from_str(&host).ok();
    no_proxy.split([',', ' ', '\t']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        if let (Some(ip), Some((net, bits))) = (ip, entry.split_once('/')) {
            return match (IpAddr::from_str(net), bits.parse::<u8>()) {
                (Ok(net), Ok(bits)) => in_cidr(ip, net, bits),
                _ => false,
            };
        }
        let bare = entry.trim_start_matches('[');
        if let Ok(entry_ip) = IpAddr::from_str(bare.trim_end_matches(']')) {
            return ip == Some(entry_ip);
        }
        // `host:port` (never an IPv6 literal here: those parsed above or carry brackets).
        let (name, wanted_port) = match bare.rsplit_once(':') {
            Some((name, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
                (name, p.parse::<u16>().ok())
            }
            _ => (entry, None),
        };
        if let Some(ip) = ip {
            let name = name.trim_start_matches('[').trim_end_matches(']');
            return IpAddr::from_str(name).ok() == Some(ip) && wanted_port.is_none_or(|p| p == port);
        }
        let name = name.trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase();
        let matches = host == name || host.strip_suffix(&name).is_some_and(|sub| sub.ends_with('.'));
        matches && wanted_port.is_none_or(|p| p == port)
    })
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The login and password for `host` in a netrc file: its `machine` entry, else `default`.
fn netrc_lookup(text: &str, host: &str) -> Option<(String, String)> {
    #[derive(Default)]
    struct Entry {
        machine: Option<String>,
        login: Option<String>,
        password: Option<String>,
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut tokens = netrc_tokens(text).into_iter();
    while let Some(token) = tokens.next() {
        match token.as_str() {
            "machine" => entries.push(Entry { machine: Some(tokens.next()?), ..Entry::default() }),
            "default" => entries.push(Entry::default()),
            "login" | "user" => {
                let value = tokens.next()?;
                if let Some(entry) = entries.last_mut() {
                    entry.login = Some(value);
                }
            }
            "password" | "passwd" => {
                let value = tokens.next()?;
                if let Some(entry) = entries.last_mut() {
                    entry.password = Some(value);
                }
            }
            "account" => {
                tokens.next();
            }
            _ => {}
        }
    }
    let found = entries
        .iter()
        .find(|e| e.machine.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(host)))
        .or_else(|| entries.iter().find(|e| e.machine.is_none()))?;
    if found.login.is_none() && found.password.is_none() {
        return None;
    }
    Some((found.login.clone().unwrap_or_default(), found.password.clone().unwrap_or_default()))
}

/// netrc's tokens: whitespace-separated, `"double quoted"` with `\` escapes, `#` comments,
/// and `macdef` bodies (which run to the next empty line) left out.
fn netrc_tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut in_macro = false;
    for line in text.lines() {
        if in_macro {
            in_macro = !line.trim().is_empty();
            continue;
        }
        let mut chars = line.chars().peekable();
        let mut line_tokens = Vec::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '#' {
                break;
            } else {
                let mut token = String::new();
                let quoted = c == '"';
                if quoted {
                    chars.next();
                }
                while let Some(c) = chars.next() {
                    match c {
                        '"' if quoted => break,
                        '\\' => token.extend(chars.next()),
                        c if c.is_whitespace() && !quoted => break,
                        c => token.push(c),
                    }
                }
                line_tokens.push(token);
            }
        }
        // `macdef NAME` starts a macro whose body is the following lines.
        if let Some(at) = line_tokens.iter().position(|t| t == "macdef") {
            in_macro = true;
            line_tokens.truncate(at);
        }
        tokens.extend(line_tokens);
    }
    tokens
}

/// A project page: its file names, and PEP 700's version list when the index gives one.
#[derive(Debug)]
struct Listing {
    files: Vec<String>,
    versions: Vec<String>,
}

/// Reads a project page as JSON or HTML by its Content-Type.
fn parse_listing(content_type: &str, body: &[u8]) -> Result<Listing, String> {
    let mime = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if mime.ends_with("json") {
        parse_json(body)
    } else if mime == "text/html" || mime == "application/vnd.pypi.simple.v1+html" {
        parse_html(&String::from_utf8_lossy(body))
    } else if mime.is_empty() {
        Err("the answer has no Content-Type".to_string())
    } else {
        Err(format!("the answer's Content-Type is {mime}, neither PEP 691 JSON nor PEP 503 HTML"))
    }
}

#[derive(Deserialize)]
struct JsonProject {
    #[serde(default)]
    meta: Option<JsonMeta>,
    files: Vec<JsonFile>,
    #[serde(default)]
    versions: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct JsonMeta {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
}

fn parse_json(body: &[u8]) -> Result<Listing, String> {
    let page: JsonProject =
        serde_json::from_slice(body).map_err(|e| format!("not a PEP 691 project page: {e}"))?;
    if let Some(version) = page.meta.and_then(|m| m.api_version) {
        check_api_version(&version)?;
    }
    Ok(Listing {
        files: page.files.into_iter().map(|f| f.filename).collect(),
        versions: page.versions.unwrap_or_default(),
    })
}

/// PEP 629/691: a client must refuse a major API version it does not know.
fn check_api_version(version: &str) -> Result<(), String> {
    match version.split('.').next().map(str::trim) {
        Some("1") => Ok(()),
        _ => Err(format!("simple API version {version} (hookgate reads version 1)")),
    }
}

/// The anchors of a PEP 503 page, as file names (the last segment of each `href`, decoded).
fn parse_html(html: &str) -> Result<Listing, String> {
    let lower = html.to_ascii_lowercase();
    if !["<html", "<body", "<a ", "<!doctype"].iter().any(|m| lower.contains(m)) {
        return Err("the answer is not HTML".to_string());
    }
    if let Some(version) = meta_repository_version(html) {
        check_api_version(&version)?;
    }
    let hrefs = anchor_hrefs(html);
    let files: Vec<String> = hrefs.iter().filter_map(|href| href_filename(href)).collect();
    // A project page links to files only; a page of links none of which is a distribution is
    // something else (a login form, a proxy's error page) and must not read as "free".
    if !hrefs.is_empty() && !files.iter().any(|f| looks_like_distribution(f)) {
        return Err(format!(
            "none of its {} links is a distribution file (a login or error page?)",
            hrefs.len()
        ));
    }
    Ok(Listing { files, versions: Vec::new() })
}

fn looks_like_distribution(filename: &str) -> bool {
    [".whl", ".egg", ".exe", ".msi", ".rpm", ".dmg"]
        .iter()
        .chain(SDIST_SUFFIXES.iter())
        .any(|s| strip_suffix_ignore_case(filename, s).is_some())
}

/// `<meta name="pypi:repository-version" content="1.1">`, when present.
fn meta_repository_version(html: &str) -> Option<String> {
    tags(html, "meta").into_iter().find_map(|attrs| {
        let name = attribute(attrs, "name")?;
        (name == "pypi:repository-version").then(|| attribute(attrs, "content")).flatten()
    })
}

fn anchor_hrefs(html: &str) -> Vec<String> {
    tags(html, "a")
        .into_iter()
        .filter_map(|attrs| attribute(attrs, "href"))
        .filter(|h| !h.is_empty())
        .collect()
}

/// The attribute text of every `<name ...>` start tag, outside comments.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix("!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        let is_tag = rest.len() > name.len()
            && rest.is_char_boundary(name.len())
            && rest[..name.len()].eq_ignore_ascii_case(name)
            && rest[name.len()..].starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/');
        if !is_tag {
            continue;
        }
        let attrs = &rest[name.len()..];
        let end = tag_end(attrs);
        found.push(&attrs[..end]);
        rest = &attrs[end..];
    }
    found
}

/// The offset of the `>` closing a start tag, skipping quoted attribute values.
fn tag_end(attrs: &str) -> usize {
    let mut quote = None;
    for (i, c) in attrs.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            _ => {}
        }
    }
    attrs.len()
}

/// The entity-decoded value of attribute `name` in a start tag's attribute text.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let mut rest = attrs;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() {
            return None;
        }
        let key_end = rest.find(|c: char| c.is_whitespace() || c == '=' || c == '/').unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, remainder) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after[1..];
                    let end = inner.find(q).unwrap_or(inner.len());
                    (&inner[..end], inner.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = remainder;
            value
        } else {
            ""
        };
        if key.eq_ignore_ascii_case(name) {
            return Some(decode_entities(value));
        }
        if key.is_empty() {
            // Not an attribute at all (a stray `=`): skip one character and go on.
            rest = rest.get(1..).unwrap_or("");
        }
    }
}

/// Decodes the character references that can appear in an `href`.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            }?;
            Some((c, end + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The file name an `href` points to: its last path segment, without query or fragment,
/// percent-decoded.
fn href_filename(href: &str) -> Option<String> {
    let path = href.split(['#', '?']).next().unwrap_or_default();
    let last = path.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty())?;
    Some(percent_encoding::percent_decode_str(last).decode_utf8_lossy().into_owned())
}

/// Decides the question from a listing: the files of the wanted version, or PEP 700's list.
fn answer(listing: &Listing, project: &str, wanted: &Version) -> IndexAnswer {
    let files: Vec<String> = listing
        .files
        .iter()
        .filter(|f| file_version(f, project).is_some_and(|v| v == *wanted))
        .cloned()
        .collect();
    let listed = listing.versions.iter().any(|v| Version::from_str(v).is_ok_and(|v| v == *wanted));
    if files.is_empty() && !listed { IndexAnswer::Free } else { IndexAnswer::Taken { files } }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::from_str(s).unwrap()
    }

    #[test]
    fn names_normalize_per_pep_503() {
        assert_eq!(normalize_name("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize_name("FRIENDLY_BARD"), "friendly-bard");
        assert_eq!(normalize_name("friendly.bard"), "friendly-bard");
        assert_eq!(normalize_name("Friendly-._.Bard"), "friendly-bard");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
    }

    #[test]
    fn pep_440_equality_pads_releases_and_normalizes_spellings() {
        assert_eq!(v("1.0"), v("1.0.0"));
        assert_eq!(v("1.0a1"), v("1.0.0a1"));
        assert_eq!(v("1.0-alpha.1"), v("1.0a1"));
        assert_eq!(v("1.0.post1"), v("1.0-1"));
        assert_ne!(v("1.0"), v("1.0.post1"));
        assert_ne!(v("1.0"), v("1.0+local"));
        assert_ne!(v("1.0"), v("1.0.dev0"));
    }

    #[test]
    fn wheel_file_names_give_their_version() {
        let p = "hookgate-sample";
        assert_eq!(file_version("hookgate_sample-0.1.0-py3-none-any.whl", p), Some(v("0.1.0")));
        assert_eq!(file_version("Hookgate_Sample-0.1-py3-none-any.whl", p), Some(v("0.1.0")));
        // A build tag.
        assert_eq!(
            file_version("hookgate_sample-2.0-1-cp312-cp312-manylinux_2_17_x86_64.whl", p),
            Some(v("2.0"))
        );
        assert_eq!(file_version("HOOKGATE_SAMPLE-1.0-PY3-NONE-ANY.WHL", p), Some(v("1.0")));
        // Another project whose name starts the same.
        assert_eq!(file_version("hookgate_sample_extra-0.1.0-py3-none-any.whl", p), None);
        assert_eq!(file_version("hookgate-0.1.0-py3-none-any.whl", p), None);
        // Too few parts, or a build tag that does not start with a digit.
        assert_eq!(file_version("hookgate_sample-0.1.0-any.whl", p), None);
        assert_eq!(file_version("hookgate_sample-0.1.0-x1-py3-none-any.whl", p), None);
        assert_eq!(file_version("hookgate_sample-notaversion-py3-none-any.whl", p), None);
    }

    #[test]
    fn sdist_file_names_give_their_version_even_with_dashes_in_name_or_version() {
        assert_eq!(file_version("hookgate_sample-0.1.tar.gz", "hookgate-sample"), Some(v("0.1")));
        assert_eq!(file_version("hookgate-sample-0.1.tar.gz", "hookgate-sample"), Some(v("0.1")));
        assert_eq!(file_version("Zope.Interface-5.0.zip", "zope-interface"), Some(v("5.0")));
        assert_eq!(file_version("foo-bar-1.0-1.tar.gz", "foo-bar"), Some(v("1.0.post1")));
        assert_eq!(file_version("foo-1.0.tar.bz2", "foo"), Some(v("1.0")));
        assert_eq!(file_version("foo-1.0.TAR.GZ", "foo"), Some(v("1.0")));
        // foo-bar's sdist is not foo's, though the name starts with `foo-`.
        assert_eq!(file_version("foo-bar-1.0.tar.gz", "foo"), None);
        assert_eq!(file_version("foo-1.0.rpm", "foo"), None);
        assert_eq!(file_version("foo.tar.gz", "foo"), None);
    }

    #[test]
    fn egg_file_names_give_their_version() {
        assert_eq!(file_version("foo_bar-1.2-py2.7.egg", "foo-bar"), Some(v("1.2")));
        assert_eq!(file_version("foo-1.2-py2.7-linux-x86_64.egg", "foo"), Some(v("1.2")));
        assert_eq!(file_version("foo-1.2.egg", "foo"), Some(v("1.2")));
    }

    #[test]
    fn metadata_headers_give_name_and_version_and_stop_at_the_body() {
        let text = "Metadata-Version: 2.1\nname: Hookgate-Sample\nVersion:  0.1.0 \nLicense: MIT\n  more\n\nVersion: 9\n";
        let meta = parse_metadata(text).unwrap();
        assert_eq!(meta, DistMeta { name: "Hookgate-Sample".into(), version: "0.1.0".into() });
        assert!(parse_metadata("Metadata-Version: 2.1\nName: x\n\nVersion: 1.0\n").is_err());
        assert!(parse_metadata("Name: x\r\nVersion: 1\r\n").is_ok());
    }

    #[test]
    fn only_top_level_dist_info_metadata_counts() {
        assert!(is_dist_info_metadata("pkg-1.0.dist-info/METADATA"));
        assert!(!is_dist_info_metadata("pkg/_vendor/x-1.0.dist-info/METADATA"));
        assert!(!is_dist_info_metadata("pkg-1.0.data/METADATA"));
    }

    fn write_wheel(dir: &Path, entries: &[(&str, &str)]) -> PathBuf {
        let path = dir.join("pkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options =
            zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, content) in entries {
            zip.start_file(*name, options).unwrap();
            std::io::Write::write_all(&mut zip, content.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    #[test]
    fn wheel_metadata_reads_the_deflated_dist_info() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = write_wheel(
            dir.path(),
            &[
                ("pkg/__init__.py", ""),
                ("pkg/_vendor/dep-9.dist-info/METADATA", "Name: dep\nVersion: 9\n"),
                ("pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n\nbody"),
            ],
        );
        assert_eq!(wheel_metadata(&wheel).unwrap(), DistMeta { name: "pkg".into(), version: "1.0".into() });
    }

    #[test]
    fn a_wheel_without_or_with_two_dist_infos_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let none = write_wheel(dir.path(), &[("pkg/__init__.py", "")]);
        assert!(format!("{:#}", wheel_metadata(&none).unwrap_err()).contains("no *.dist-info/METADATA"));
        let two = write_wheel(
            dir.path(),
            &[("a-1.dist-info/METADATA", "Name: a\nVersion: 1\n"), ("b-1.dist-info/METADATA", "")],
        );
        assert!(format!("{:#}", wheel_metadata(&two).unwrap_err()).contains("2 .dist-info"));
        let not_zip = dir.path().join("x.whl");
        std::fs::write(&not_zip, "not a zip").unwrap();
        assert!(format!("{:#}", wheel_metadata(&not_zip).unwrap_err()).contains("not a readable zip"));
    }

    #[test]
    fn json_listing_reads_files_and_pep_700_versions() {
        let body = br#"{"meta": {"api-version": "1.1"}, "name": "foo",
            "files": [{"filename": "foo-1.0.tar.gz", "url": "x", "hashes": {}}], "versions": ["1.0", "2.0"]}"#;
        let listing = parse_listing("application/vnd.pypi.simple.v1+json", body).unwrap();
        assert_eq!(
            (listing.files, listing.versions),
            (vec!["foo-1.0.tar.gz".to_string()], vec!["1.0".to_string(), "2.0".to_string()])
        );
        assert!(
            parse_listing("application/vnd.pypi.simple.v1+json", b"{not json")
                .unwrap_err()
                .contains("PEP 691")
        );
        assert!(parse_listing("application/json", br#"{"name": "foo"}"#).unwrap_err().contains("files"));
        let v2 = br#"{"meta": {"api-version": "2.0"}, "files": []}"#;
        assert!(
            parse_listing("application/vnd.pypi.simple.v1+json", v2).unwrap_err().contains("version 2.0")
        );
    }

    const PEP_503_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"><title>Links for foo</title></head>
<body><h1>Links for foo</h1>
<!-- <a href="foo-9.0.tar.gz">commented out</a> -->
<a href="https://files.example/packages/ab/foo-1.0.tar.gz#sha256=00" data-requires-python="&gt;=3.8">foo-1.0.tar.gz</a><br/>
<A HREF='../../packages/foo_bar%2Bx-1.1-py3-none-any.whl?x=1&amp;y=2'>x</A>
<a data-yanked="" href=foo-2.0-py3-none-any.whl>foo-2.0</a>
</body></html>"#;

    #[test]
    fn html_listing_reads_hrefs_decoded_and_skips_comments() {
        let listing = parse_listing("text/html; charset=utf-8", PEP_503_PAGE.as_bytes()).unwrap();
        assert_eq!(
            listing.files,
            ["foo-1.0.tar.gz", "foo_bar+x-1.1-py3-none-any.whl", "foo-2.0-py3-none-any.whl"]
        );
    }

    #[test]
    fn html_without_a_listing_is_refused_but_an_empty_project_page_is_not() {
        let empty = "<!DOCTYPE html><html><body><h1>Links for foo</h1></body></html>";
        assert!(parse_listing("text/html", empty.as_bytes()).unwrap().files.is_empty());
        let login = r#"<html><body><a href="/login">Sign in</a> <a href="/help">Help</a></body></html>"#;
        assert!(parse_listing("text/html", login.as_bytes()).unwrap_err().contains("login"));
        assert!(
            parse_listing("text/html", b"Service temporarily disabled").unwrap_err().contains("not HTML")
        );
        assert!(parse_listing("text/plain", b"foo-1.0.tar.gz").unwrap_err().contains("text/plain"));
        assert!(parse_listing("", b"<html></html>").unwrap_err().contains("no Content-Type"));
        let v2 = r#"<html><head><meta name="pypi:repository-version" content="2.0"></head></html>"#;
        assert!(parse_listing("text/html", v2.as_bytes()).unwrap_err().contains("version 2.0"));
    }

    #[test]
    fn entities_decode() {
        assert_eq!(decode_entities("a&amp;b&#62;&#x3C;&bogus; &"), "a&b><&bogus; &");
    }

    #[test]
    fn the_answer_matches_files_and_listed_versions_under_pep_440() {
        let listing = Listing {
            files: vec![
                "foo-1.0.tar.gz".into(),
                "foo-1.0.0-py3-none-any.whl".into(),
                "foo-1.1.tar.gz".into(),
                "foobar-2.0.tar.gz".into(),
            ],
            versions: vec!["3.0".into(), "not a version".into()],
        };
        let files = vec!["foo-1.0.tar.gz".to_string(), "foo-1.0.0-py3-none-any.whl".to_string()];
        assert_eq!(answer(&listing, "foo", &v("1.0.0")), IndexAnswer::Taken { files });
        assert_eq!(answer(&listing, "foo", &v("3")), IndexAnswer::Taken { files: vec![] });
        assert_eq!(answer(&listing, "foo", &v("2.0")), IndexAnswer::Free);
        assert_eq!(answer(&listing, "foo", &v("1.0a1")), IndexAnswer::Free);
    }

    #[test]
    fn redaction_hides_userinfo_only() {
        assert_eq!(redact("https://user:p%40ss@host:8080/simple/"), "https://***@host:8080/simple/");
        assert_eq!(redact("https://token@host/simple/?a=b@c"), "https://***@host/simple/?a=b@c");
        assert_eq!(redact("https://host/simple/a@b"), "https://host/simple/a@b");
        assert_eq!(redact("user:pw@proxy:3128"), "***@proxy:3128");
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn index_url_credentials_are_percent_decoded_and_removed_from_the_url() {
        let index = IndexUrl::parse("https://al%20ice:p%40ss%3Aw@host/simple?q#f").unwrap();
        let c = index.credentials.unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("al ice", "p@ss:w"));
        assert_eq!(index.base.as_str(), "https://host/simple");
        assert_eq!(
            IndexUrl::parse("https://host/simple/").unwrap().project_url("foo").as_str(),
            "https://host/simple/foo/"
        );
        assert!(IndexUrl::parse("ftp://host/simple/").is_err());
        let err = IndexUrl::parse("https://u:secret@").err().unwrap().to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn basic_auth_header_is_base64_of_user_colon_password() {
        let c = Credentials { user: "Aladdin".into(), password: "open sesame".into(), source: String::new() };
        assert_eq!(c.header(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn netrc_finds_the_machine_else_the_default() {
        let text = "# comment\nmachine other.example login o password op\n\
                    macdef init\n  machine host.example login evil\n\n\
                    machine HOST.example\n  login \"al ice\"\n  password p\\\"w # trailing\n\
                    default login d password dp\n";
        assert_eq!(netrc_lookup(text, "host.example"), Some(("al ice".into(), "p\"w".into())));
        assert_eq!(netrc_lookup(text, "other.example"), Some(("o".into(), "op".into())));
        assert_eq!(netrc_lookup(text, "elsewhere"), Some(("d".into(), "dp".into())));
        assert_eq!(netrc_lookup("machine a login x", "b"), None);
        assert_eq!(netrc_lookup("machine", "a"), None);
    }

    #[test]
    fn no_proxy_matches_hosts_subdomains_ips_cidrs_and_ports() {
        let list = "localhost, .corp.example,*.other.example, 10.0.0.0/8, ::1, pypi.example:8443";
        assert!(bypasses_proxy(list, "localhost", 80));
        assert!(bypasses_proxy(list, "corp.example", 443));
        assert!(bypasses_proxy(list, "idx.corp.example", 443));
        assert!(bypasses_proxy(list, "a.other.example", 443));
        assert!(!bypasses_proxy(list, "notcorp.example", 443));
        assert!(bypasses_proxy(list, "10.1.2.3", 80));
        assert!(!bypasses_proxy(list, "11.1.2.3", 80));
        assert!(bypasses_proxy(list, "[::1]", 80));
        assert!(bypasses_proxy(list, "pypi.example", 8443));
        assert!(!bypasses_proxy(list, "pypi.example", 443));
        assert!(bypasses_proxy("*", "anything", 1));
        assert!(!bypasses_proxy("", "anything", 1));
        assert!(bypasses_proxy("127.0.0.1", "127.0.0.1", 8080));
    }

    #[test]
    fn settings_debug_redacts_proxy_passwords() {
        let s = IndexSettings {
            https_proxy: Some("http://u:secret@proxy:3128".into()),
            ..IndexSettings::default()
        };
        assert!(!format!("{s:?}").contains("secret"));
    }
}
