//! The package-index client (`hookgate::index`) against real servers on 127.0.0.1: small
//! canned HTTP servers for each kind of answer (404, 5xx, malformed, HTML-only, redirects, 401,
//! proxies), a TLS server with a private CA, and pypiserver with and without authentication.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{Server, text};
use hookgate::index::{IndexAnswer, IndexClient, IndexError, IndexSettings, wheel_metadata};

/// One request as the server read it: the request line and headers.
#[derive(Clone, Debug)]
struct Request(String);

impl Request {
    fn line(&self) -> &str {
        self.0.lines().next().unwrap_or_default()
    }

    fn path(&self) -> &str {
        self.line().split(' ').nth(1).unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.0.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// An HTTP/1.1 server on 127.0.0.1 that answers each request with `respond`, records every
/// request, and plays a CONNECT proxy to itself (it answers the tunnelled request too).
struct Canned {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Canned {
    fn start(respond: impl Fn(&Request) -> String + Send + 'static) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        // Lives as long as the test process; each connection is served to its end.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                serve(stream, &respond, &seen);
            }
        });
        Canned { url, requests }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, respond: &impl Fn(&Request) -> String, seen: &Mutex<Vec<Request>>) {
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let Some(mut request) = read_head(&mut reader) else { return };
    seen.lock().unwrap().push(request.clone());
    if request.line().starts_with("CONNECT ") {
        writer.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap();
        let Some(tunnelled) = read_head(&mut reader) else { return };
        seen.lock().unwrap().push(tunnelled.clone());
        request = tunnelled;
    }
    writer.write_all(respond(&request).as_bytes()).ok();
}

fn read_head(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            return Some(Request(head));
        }
        head.push_str(&line);
    }
}

fn response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

const JSON: &str = "application/vnd.pypi.simple.v1+json";

fn json_page(files: &[&str], versions: Option<&[&str]>) -> String {
    let files: Vec<_> = files
        .iter()
        .map(|f| serde_json::json!({"filename": f, "url": format!("../../files/{f}"), "hashes": {}}))
        .collect();
    let mut page =
        serde_json::json!({"meta": {"api-version": "1.1"}, "name": "hookgate-sample", "files": files});
    if let Some(v) = versions {
        page["versions"] = serde_json::json!(v);
    }
    page.to_string()
}

fn ask(settings: IndexSettings, index: &str, version: &str) -> Result<IndexAnswer, IndexError> {
    IndexClient::new(settings).version_state(index, "Hookgate_Sample", version)
}

fn plain(index: &str, version: &str) -> Result<IndexAnswer, IndexError> {
    ask(IndexSettings::default(), index, version)
}

#[test]
fn a_project_the_index_never_saw_is_free_and_json_is_asked_for_first() {
    let server = Canned::start(|_| response("404 Not Found", &[], "no such project"));
    assert_eq!(plain(&format!("{}/simple", server.url), "0.1.0").unwrap(), IndexAnswer::Free);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    // The name is normalised and the trailing-slash form asked for directly.
    assert_eq!(requests[0].line(), "GET /simple/hookgate-sample/ HTTP/1.1");
    let accept = requests[0].header("accept").unwrap();
    assert!(
        accept.starts_with("application/vnd.pypi.simple.v1+json") && accept.contains("text/html;q=0.1"),
        "{accept}"
    );
    assert_eq!(requests[0].header("authorization"), None);
}

#[test]
fn server_errors_and_overload_are_unreachable_not_taken() {
    for status in ["500 Internal Server Error", "503 Service Unavailable", "429 Too Many Requests"] {
        let server = Canned::start(move |_| response(status, &[], "try later"));
        match plain(&format!("{}/simple/", server.url), "0.1.0").unwrap() {
            IndexAnswer::Unreachable(why) => assert!(why.contains(&status[..3]), "{why}"),
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[test]
fn an_index_with_nothing_listening_is_unreachable() {
    let index = format!("http://127.0.0.1:{}/simple/", crate::common::free_port());
    match plain(&index, "0.1.0").unwrap() {
        IndexAnswer::Unreachable(why) => assert!(why.contains(&index), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_malformed_answer_is_an_error_never_taken() {
    let cases: [(&str, &str, &str); 4] = [
        (JSON, "{\"files\": [", "PEP 691"),
        ("text/plain", "hookgate_sample-0.1.0.tar.gz", "text/plain"),
        ("text/html", "<html><body><a href=\"/login\">Sign in</a></body></html>", "login"),
        ("text/html", "maintenance", "not HTML"),
    ];
    for (content_type, body, expected) in cases {
        let server = Canned::start(move |_| response("200 OK", &[("Content-Type", content_type)], body));
        let err = plain(&format!("{}/simple/", server.url), "0.1.0").unwrap_err();
        assert!(matches!(err, IndexError::Malformed { .. }), "{content_type}: {err:?}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn an_unexpected_status_is_an_error() {
    let server = Canned::start(|_| response("418 I'm a teapot", &[], ""));
    let err = plain(&format!("{}/simple/", server.url), "0.1.0").unwrap_err();
    assert!(matches!(err, IndexError::Status { status: 418, .. }), "{err:?}");
}

const HTML_PAGE: &str = r#"<!DOCTYPE html><html><body><h1>Links for hookgate-sample</h1>
<a href="/packages/hookgate_sample-0.1.0-py3-none-any.whl#sha256=aa">hookgate_sample-0.1.0-py3-none-any.whl</a><br/>
<a href="/packages/hookgate-sample-0.2.tar.gz#sha256=bb">hookgate-sample-0.2.tar.gz</a><br/>
<a href="/packages/hookgate_sample_extras-0.3.tar.gz">hookgate_sample_extras-0.3.tar.gz</a><br/>
</body></html>"#;

#[test]
fn an_html_only_index_is_read_by_file_names_under_pep_440() {
    let server =
        Canned::start(|_| response("200 OK", &[("Content-Type", "text/html; charset=utf-8")], HTML_PAGE));
    let index = format!("{}/simple/", server.url);
    let wheel = "hookgate_sample-0.1.0-py3-none-any.whl".to_string();
    assert_eq!(plain(&index, "0.1").unwrap(), IndexAnswer::Taken { files: vec![wheel] });
    let sdist = "hookgate-sample-0.2.tar.gz".to_string();
    assert_eq!(plain(&index, "0.2.0").unwrap(), IndexAnswer::Taken { files: vec![sdist] });
    // 0.3 belongs to another project whose name starts the same.
    assert_eq!(plain(&index, "0.3").unwrap(), IndexAnswer::Free);
}

#[test]
fn a_json_index_is_read_with_its_pep_700_versions() {
    let page = json_page(&["hookgate_sample-0.1.tar.gz"], Some(&["0.1", "0.5"]));
    let server = Canned::start(move |_| response("200 OK", &[("Content-Type", JSON)], &page));
    let index = format!("{}/simple/", server.url);
    let sdist = "hookgate_sample-0.1.tar.gz".to_string();
    assert_eq!(plain(&index, "0.1.0").unwrap(), IndexAnswer::Taken { files: vec![sdist] });
    // Listed as a version without a file (all its files deleted): still taken.
    assert_eq!(plain(&index, "0.5").unwrap(), IndexAnswer::Taken { files: vec![] });
    assert_eq!(plain(&index, "0.6").unwrap(), IndexAnswer::Free);
}

const AUTH: &str = "Basic YWxpY2U6cEBzcw=="; // alice:p@ss

/// An index that wants `alice:p@ss` and moves the project to `/mirror/`.
fn guarded_redirecting_index() -> Canned {
    Canned::start(|r| {
        if r.header("authorization") != Some(AUTH) {
            return response("401 Unauthorized", &[("WWW-Authenticate", "Basic realm=\"pypi\"")], "");
        }
        match r.path() {
            "/simple/hookgate-sample/" => {
                response("301 Moved Permanently", &[("Location", "/mirror/hookgate-sample/")], "")
            }
            "/mirror/hookgate-sample/" => response(
                "200 OK",
                &[("Content-Type", JSON)],
                &json_page(&["hookgate_sample-0.1.0.tar.gz"], None),
            ),
            _ => response("404 Not Found", &[], ""),
        }
    })
}

#[test]
fn a_redirect_is_followed_and_keeps_the_url_credentials_on_the_same_origin() {
    let server = guarded_redirecting_index();
    let index = server.url.replace("http://", "http://alice:p%40ss@") + "/simple/";
    let files = vec!["hookgate_sample-0.1.0.tar.gz".to_string()];
    assert_eq!(plain(&index, "0.1.0").unwrap(), IndexAnswer::Taken { files });
    let paths: Vec<String> = server.requests().iter().map(|r| r.path().to_string()).collect();
    assert_eq!(paths, ["/simple/hookgate-sample/", "/mirror/hookgate-sample/"]);
    assert!(server.requests().iter().all(|r| r.header("authorization") == Some(AUTH)));
}

#[test]
fn an_index_that_wants_credentials_says_how_to_give_them() {
    let server = guarded_redirecting_index();
    let err = plain(&format!("{}/simple/", server.url), "0.1.0").unwrap_err();
    assert!(matches!(err, IndexError::Credentials { status: 401, sent_from: None, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("USER:PASSWORD@") && message.contains("netrc"), "{message}");
}

#[test]
fn refused_url_credentials_are_named_but_never_shown() {
    let server = guarded_redirecting_index();
    let index = server.url.replace("http://", "http://alice:s3cr%3At@") + "/simple/";
    let err = plain(&index, "0.1.0").unwrap_err();
    assert!(
        matches!(&err, IndexError::Credentials { sent_from: Some(from), .. } if from == "the index URL"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(!message.contains("s3cr") && !message.contains("alice"), "{message}");
    // The wrong password did travel (as Basic auth), so the 401 is about it.
    assert_eq!(server.requests()[0].header("authorization"), Some("Basic YWxpY2U6czNjcjp0"));
}

#[test]
fn netrc_credentials_are_sent_for_the_host() {
    let server = guarded_redirecting_index();
    let dir = tempfile::tempdir().unwrap();
    let netrc = dir.path().join("netrc");
    std::fs::write(
        &netrc,
        "machine example.org login bob password x\nmachine 127.0.0.1\n  login alice\n  password p@ss\n",
    )
    .unwrap();
    let settings = IndexSettings { netrc: Some(netrc.clone()), ..IndexSettings::default() };
    let files = vec!["hookgate_sample-0.1.0.tar.gz".to_string()];
    assert_eq!(
        ask(settings, &format!("{}/simple/", server.url), "0.1.0").unwrap(),
        IndexAnswer::Taken { files }
    );
    assert_eq!(server.requests()[0].header("authorization"), Some(AUTH));

    // A missing netrc file means no credentials, not an error.
    let settings = IndexSettings { netrc: Some(dir.path().join("absent")), ..IndexSettings::default() };
    let err = ask(settings, &format!("{}/simple/", server.url), "0.1.0").unwrap_err();
    assert!(matches!(err, IndexError::Credentials { sent_from: None, .. }), "{err:?}");
}

#[test]
fn a_proxy_carries_the_request_unless_no_proxy_names_the_host() {
    let listing =
        || response("200 OK", &[("Content-Type", JSON)], &json_page(&["hookgate_sample-0.1.0.tar.gz"], None));
    let index = Canned::start(move |_| listing());
    let proxy = Canned::start(move |_| listing());
    let index_url = format!("{}/simple/", index.url);
    let host = index.url.trim_start_matches("http://").to_string();

    let through = IndexSettings { http_proxy: Some(proxy.url.clone()), ..IndexSettings::default() };
    assert!(matches!(ask(through.clone(), &index_url, "0.1.0").unwrap(), IndexAnswer::Taken { .. }));
    let seen = proxy.requests();
    assert_eq!(seen[0].line(), format!("CONNECT {host} HTTP/1.1"), "{seen:?}");
    assert_eq!(seen[1].path(), "/simple/hookgate-sample/");
    assert!(index.requests().is_empty());

    let bypass = IndexSettings { no_proxy: Some("localhost, 127.0.0.1".into()), ..through };
    assert!(matches!(ask(bypass, &index_url, "0.1.0").unwrap(), IndexAnswer::Taken { .. }));
    // The https proxy is not for http URLs.
    let https_only = IndexSettings { https_proxy: Some(proxy.url.clone()), ..IndexSettings::default() };
    assert!(matches!(ask(https_only, &index_url, "0.1.0").unwrap(), IndexAnswer::Taken { .. }));
    assert_eq!(index.requests().len(), 2);
    assert_eq!(proxy.requests().len(), 2, "the proxy saw requests it should not have");
}

#[test]
fn https_to_a_server_that_does_not_speak_tls_is_a_tls_error() {
    // Answer the ClientHello at once, before any request line could arrive.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            stream.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n").ok();
        }
    });
    let err = plain(&format!("https://127.0.0.1:{port}/simple/"), "0.1.0").unwrap_err();
    assert!(matches!(err, IndexError::Tls { .. }), "{err:?}");
}

/// A TLS server on 127.0.0.1 whose certificate a fresh private CA signed; returns the server
/// and the CA's PEM file.
fn tls_index(dir: &Path) -> (Server, PathBuf) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
        assert!(out.status.success(), "openssl {args:?}: {}", text(&out));
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=hookgate test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let script = r#"
import http.server, json, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"meta": {"api-version": "1.0"}, "name": "hookgate-sample",
            "files": [{"filename": "hookgate_sample-0.1.0.tar.gz", "url": "x", "hashes": {}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain("server.pem", "server.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"#;
    let port = crate::common::free_port();
    let mut cmd = Command::new("python3");
    cmd.args(["-c", script, &port.to_string()]).current_dir(dir);
    (Server::start(cmd, port), dir.join("ca.pem"))
}

#[test]
fn a_private_ca_is_trusted_through_ssl_cert_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let (server, ca) = tls_index(dir.path());
    let index = server.url.replace("http://", "https://") + "/simple/";
    let err = plain(&index, "0.1.0").unwrap_err();
    assert!(matches!(err, IndexError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("set SSL_CERT_FILE"), "{err}");
    let settings = IndexSettings { ssl_cert_file: Some(ca), ..IndexSettings::default() };
    let files = vec!["hookgate_sample-0.1.0.tar.gz".to_string()];
    assert_eq!(ask(settings, &index, "0.1.0").unwrap(), IndexAnswer::Taken { files });

    let settings =
        IndexSettings { ssl_cert_file: Some(dir.path().join("absent.pem")), ..IndexSettings::default() };
    let err = ask(settings, &index, "0.1.0").unwrap_err();
    assert!(matches!(&err, IndexError::Setup(m) if m.contains("absent.pem")), "{err:?}");
}

/// Builds the `clean` fixture's wheel with uv into `out`; returns its path.
fn build_wheel(out: &Path) -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/clean");
    let src = tempfile::tempdir().unwrap();
    crate::common::copy_dir(&fixture, src.path());
    let built = Command::new("uv")
        .args(["build", "--wheel", "--quiet", "--out-dir"])
        .arg(out)
        .arg(src.path())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built));
    std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .unwrap()
}

/// pypiserver serving `packages`, never redirecting to PyPI for projects it lacks; with
/// `htpasswd`, listing and downloading need a login.
fn pypiserver(packages: &Path, htpasswd: Option<&Path>) -> Server {
    let port = crate::common::free_port();
    let mut cmd = Command::new(crate::common::test_tools().join("pypi-server"));
    cmd.args(["run", "-i", "127.0.0.1", "-p", &port.to_string(), "--disable-fallback"]);
    match htpasswd {
        Some(file) => cmd.arg("-P").arg(file).args(["-a", "list,download,update"]),
        None => cmd.args(["-P", ".", "-a", "."]),
    };
    cmd.arg(packages);
    Server::start(cmd, port)
}

#[test]
fn pypiserver_lists_a_built_wheel_as_taken_and_other_versions_as_free() {
    let packages = tempfile::tempdir().unwrap();
    let wheel = build_wheel(packages.path());
    let meta = wheel_metadata(&wheel).unwrap();
    assert_eq!((meta.name.as_str(), meta.version.as_str()), ("hookgate-sample", "0.1.0"));
    let server = pypiserver(packages.path(), None);
    let index = format!("{}/simple/", server.url);
    let client = IndexClient::new(IndexSettings::default());
    let filename = wheel.file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(
        client.version_state(&index, &meta.name, &meta.version).unwrap(),
        IndexAnswer::Taken { files: vec![filename] }
    );
    assert_eq!(
        client.version_state(&index, &meta.name, "0.1").unwrap(),
        client.version_state(&index, "HOOKGATE.sample", "0.1.0").unwrap()
    );
    assert_eq!(client.version_state(&index, &meta.name, "0.1.1").unwrap(), IndexAnswer::Free);
    assert_eq!(client.version_state(&index, "never-published", "1.0").unwrap(), IndexAnswer::Free);
}

#[test]
fn pypiserver_with_authentication_takes_url_or_netrc_credentials() {
    let packages = tempfile::tempdir().unwrap();
    let wheel = build_wheel(packages.path());
    let auth = tempfile::tempdir().unwrap();
    let htpasswd = auth.path().join(".htpasswd");
    let script = format!(
        "from passlib.apache import HtpasswdFile\nh = HtpasswdFile({:?}, new=True)\nh.set_password('alice', 'p@ss')\nh.save()\n",
        htpasswd.display().to_string()
    );
    let out =
        Command::new(crate::common::test_tools().join("python")).args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let server = pypiserver(packages.path(), Some(&htpasswd));
    let index = format!("{}/simple/", server.url);
    let meta = wheel_metadata(&wheel).unwrap();
    let taken = |r: Result<IndexAnswer, IndexError>| matches!(r, Ok(IndexAnswer::Taken { ref files }) if files.len() == 1);

    let err = plain(&index, &meta.version).unwrap_err();
    assert!(matches!(err, IndexError::Credentials { sent_from: None, .. }), "{err:?}");
    let with_url = index.replace("http://", "http://alice:p%40ss@");
    assert!(taken(plain(&with_url, &meta.version)));
    let netrc = auth.path().join("netrc");
    std::fs::write(&netrc, "machine 127.0.0.1 login alice password p@ss\n").unwrap();
    assert!(taken(ask(
        IndexSettings { netrc: Some(netrc), ..IndexSettings::default() },
        &index,
        &meta.version
    )));
    let wrong = index.replace("http://", "http://alice:nope@");
    let err = plain(&wrong, &meta.version).unwrap_err();
    assert!(matches!(err, IndexError::Credentials { sent_from: Some(_), .. }), "{err:?}");
    assert!(!err.to_string().contains("nope"), "{err}");
}
