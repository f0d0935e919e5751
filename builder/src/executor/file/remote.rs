//! ADD of a URL: an HTTP/1.1 GET over plain TCP (`http://`) or TLS
//! (`https://`, see `connection` for the trusted certificates), following up
//! to 10 redirects (also between the two schemes), with `Content-Length`, chunked or
//! close-delimited bodies. The body streams into the destination while it is
//! hashed; a `--checksum` mismatch removes the file and fails. The file is
//! named after the last segment of the URL path (`download` when empty), gets
//! mode 0600 (as Docker) and the `Last-Modified` time when the server sends
//! one, else the current time. URLs are never unpacked.

use std::io::{self, BufRead, BufReader, Read, Write};

use sha2::{Digest as _, Sha256};

use super::connection::Connection;
use super::FileError;

/// A parsed `http[s]://host[:port]/path` URL.
#[derive(Debug)]
struct Url {
    /// `https`.
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

impl Url {
    /// `http` or `https`.
    fn scheme(&self) -> &'static str {
        if self.tls {
            "https"
        } else {
            "http"
        }
    }

    /// The `Host` header: the port only when it is not the scheme's.
    fn host_header(&self) -> String {
        if self.port == if self.tls { 443 } else { 80 } {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

fn parse_url(url: &str) -> Result<Url, FileError> {
    let (tls, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        _ => return Err(FileError(format!("ADD {url}: unsupported URL scheme"))),
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split('#').next().unwrap_or("/");
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => (
            h.to_string(),
            p.parse()
                .map_err(|_| FileError(format!("ADD {url}: bad port {p:?}")))?,
        ),
        _ => (authority.to_string(), if tls { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err(FileError(format!("ADD {url}: no host")));
    }
    Ok(Url {
        tls,
        host,
        port,
        path,
    })
}

/// The file name ADD gives the download of `url`.
pub(super) fn file_name(url: &str) -> String {
    let path = parse_url(url).map(|u| u.path).unwrap_or_default();
    let path = path.split('?').next().unwrap_or("");
    match path.rsplit('/').next() {
        Some(name) if !name.is_empty() && name != "." && name != ".." => name.to_string(),
        _ => "download".to_string(),
    }
}

/// What a download produced.
pub(super) struct Fetched {
    /// `sha256:<hex>` of the body.
    pub digest: String,
    /// `Last-Modified`, in seconds since the epoch.
    pub last_modified: Option<i64>,
}

/// Streams the body of `url` into `out`.
pub(super) fn fetch(url: &str, out: &mut dyn Write) -> Result<Fetched, FileError> {
    let mut current = url.to_string();
    for _ in 0..10 {
        let u = parse_url(&current)?;
        let err = |op: &str, e: io::Error| FileError(format!("ADD {current}: {op}: {e}"));
        let mut stream = Connection::open(&u.host, u.port, u.tls).map_err(|e| err("connect", e))?;
        let host = u.host_header();
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: kiln\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
            u.path
        );
        stream
            .write_all(request.as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|e| err("send request", e))?;
        let mut r = BufReader::new(stream);
        let (status, headers) = read_head(&mut r).map_err(|e| err("read response", e))?;
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let loc = header("location")
                .ok_or_else(|| FileError(format!("ADD {current}: redirect without Location")))?;
            current = if loc.starts_with("http://") || loc.starts_with("https://") {
                loc
            } else {
                format!(
                    "{}://{host}{}{loc}",
                    u.scheme(),
                    if loc.starts_with('/') { "" } else { "/" }
                )
            };
            continue;
        }
        if !(200..300).contains(&status) {
            return Err(FileError(format!(
                "ADD {current}: server answered {status}"
            )));
        }
        let mut hashing = HashWriter {
            inner: out,
            hasher: Sha256::new(),
        };
        let chunked =
            header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if chunked {
            copy_chunked(&mut r, &mut hashing).map_err(|e| err("read body", e))?;
        } else if let Some(len) =
            header("content-length").and_then(|v| v.trim().parse::<u64>().ok())
        {
            let n =
                io::copy(&mut (&mut r).take(len), &mut hashing).map_err(|e| err("read body", e))?;
            if n != len {
                return Err(FileError(format!(
                    "ADD {current}: body ended after {n} of {len} bytes"
                )));
            }
        } else {
            io::copy(&mut r, &mut hashing).map_err(|e| err("read body", e))?;
        }
        return Ok(Fetched {
            digest: format!("sha256:{}", hex::encode(hashing.hasher.finalize())),
            last_modified: header("last-modified").and_then(|v| parse_http_date(&v)),
        });
    }
    Err(FileError(format!("ADD {url}: too many redirects")))
}

struct HashWriter<'a> {
    inner: &'a mut dyn Write,
    hasher: Sha256,
}

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Head = (u16, Vec<(String, String)>);

fn read_head(r: &mut impl BufRead) -> io::Result<Head> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("malformed status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("connection closed in headers"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            return Ok((status, headers));
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
}

fn copy_chunked(r: &mut impl BufRead, out: &mut impl Write) -> io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        r.read_line(&mut line)?;
        let size = line.trim().split(';').next().unwrap_or("");
        let size = u64::from_str_radix(size, 16)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
        if size == 0 {
            return Ok(());
        }
        let n = io::copy(&mut r.take(size), out)?;
        if n != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "chunk cut short",
            ));
        }
        line.clear();
        r.read_line(&mut line)?;
    }
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() != 6 {
        return None;
    }
    let day: i64 = parts[1].parse().ok()?;
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == parts[2])? as i64 + 1;
    let year: i64 = parts[3].parse().ok()?;
    let hms: Vec<i64> = parts[4]
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if hms.len() != 3 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_dates() {
        assert_eq!(file_name("http://h:8080/a/b/pkg.tar.gz?x=1"), "pkg.tar.gz");
        assert_eq!(file_name("http://h/"), "download");
        let u = parse_url("https://h/x").unwrap();
        assert!(u.tls && u.port == 443 && u.host_header() == "h");
        assert_eq!(parse_url("http://h:8080/").unwrap().host_header(), "h:8080");
        assert!(parse_url("ftp://h/x").is_err());
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
    }
}
