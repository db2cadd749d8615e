"""The Acme Claims Portal: a small demo web site for the examples, tests and benchmarks.

Standard library only, so it runs anywhere the runner runs, offline. Two ways to use it:

- in a test: ``with DemoSite() as site: page.goto(site.base_url + "/login")``;
- by hand: ``python examples/site/server.py --port 8765`` (the examples use that address).

Pages are HTML fragments in ``pages/`` wrapped in ``pages/layout.html``; the few dynamic
values are filled in here, always HTML-escaped. What the server received is kept in memory
(``DemoSite.last_login()``, ``DemoSite.last_claim()``, ``GET /api/last-login``,
``GET /api/last-claim``) so tests can check what the browser really sent. The password itself
is never stored, only whether it was right and its length.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import hashlib
import html
import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

SITE_DIR = Path(__file__).resolve().parent
PAGES_DIR = SITE_DIR / "pages"
STATIC_DIR = SITE_DIR / "static"

USERNAME = "alice"
PASSWORD = "correct horse battery"
OTP_CODE = "123456"
SESSION_COOKIE = "acme_session"
MAX_BODY_BYTES = 10 * 1024 * 1024

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
NAV_LINKS = (
    ("/dashboard", "Dashboard"),
    ("/claims", "Claims"),
    ("/claims/new", "New claim"),
    ("/reports", "Reports"),
    ("/help", "Help"),
)


@dataclass(frozen=True)
class Claim:
    claim_id: str
    member: str
    status: str  # Open, Pending or Closed
    amount_cents: int
    claim_type: str
    filed_on: str

    @property
    def amount(self) -> str:
        return f"${self.amount_cents / 100:,.2f}"

    def as_json(self) -> dict[str, str]:
        return {
            "claim_id": self.claim_id,
            "member": self.member,
            "status": self.status,
            "amount": self.amount,
            "claim_type": self.claim_type,
            "filed_on": self.filed_on,
        }


CLAIMS = (
    Claim("CLM-1001", "Maria Gonzalez", "Open", 125000, "Auto / Vehicle", "2025-03-02"),
    Claim("CLM-1002", "James O'Brien", "Pending", 48050, "Health", "2025-03-04"),
    Claim("CLM-1003", "Priya Natarajan", "Closed", 320000, "Home / Property", "2025-03-07"),
    Claim("CLM-1004", "Tomasz Nowak", "Open", 8999, "Travel", "2025-03-11"),
    Claim("CLM-1005", "Aiko Tanaka", "Pending", 1500000, "Life", "2025-03-15"),
    Claim("CLM-1006", "Samuel Okafor", "Closed", 76525, "Auto / Vehicle", "2025-03-18"),
    Claim("CLM-1007", "Chloé Martin", "Open", 210000, "Home / Property", "2025-03-21"),
    Claim("CLM-1008", "David Levi", "Closed", 34000, "Health", "2025-03-26"),
)
CLAIMS_BY_ID = {claim.claim_id: claim for claim in CLAIMS}


def build_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF showing ``lines`` (ASCII) in Helvetica.

    Written by hand so the site needs no PDF library: five objects and an xref table whose
    byte offsets are computed, not guessed.
    """
    text = ["BT", "/F1 18 Tf", "72 720 Td", "22 TL"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        text.append(f"({escaped}) Tj T*")
    text.append("ET")
    stream = "\n".join(text).encode("ascii", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def claims_csv() -> bytes:
    rows = ["claim_id,member,status,amount,claim_type,filed_on"]
    for c in CLAIMS:
        member = f'"{c.member}"' if "," in c.member else c.member
        amount = f"{c.amount_cents / 100:.2f}"
        rows.append(f"{c.claim_id},{member},{c.status},{amount},{c.claim_type},{c.filed_on}")
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Any]]:
    """Split a ``multipart/form-data`` body into text fields and uploaded files.

    The ``email`` parser does the MIME work (``cgi`` is deprecated). A file input left empty
    arrives as a part with an empty filename and is not reported as an upload.
    """
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = data.decode(part.get_content_charset() or "utf-8", "replace")
        elif filename:
            files[name] = {
                "filename": filename,
                "size": len(data),
                "content_type": part.get_content_type(),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
    return fields, files


@dataclass
class SiteState:
    """What the site remembers between requests; one per server, guarded by ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sessions: dict[str, dict[str, bool]] = field(default_factory=dict)
    last_login: dict[str, Any] | None = None
    claims: list[dict[str, Any]] = field(default_factory=list)


class DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], verbose: bool) -> None:
        super().__init__(address, DemoRequestHandler)
        self.state = SiteState()
        self.verbose = verbose


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace ``{{name}}`` markers; values are HTML already (escape text before passing)."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: values.get(m.group(1), ""), template)


class DemoRequestHandler(BaseHTTPRequestHandler):
    server: DemoHTTPServer
    server_version = "AcmeClaims/1.0"
    url_path: str
    query: dict[str, list[str]]

    GET_ROUTES: ClassVar[dict[str, str]] = {
        "/": "get_root",
        "/login": "get_login",
        "/dashboard": "get_dashboard",
        "/otp": "get_otp",
        "/claims": "get_claims",
        "/claims/new": "get_claim_form",
        "/claims/submitted": "get_claim_submitted",
        "/api/claims": "get_api_claims",
        "/api/last-login": "get_api_last_login",
        "/api/last-claim": "get_api_last_claim",
        "/files/claims.csv": "get_claims_csv",
        "/files/summary.pdf": "get_summary_pdf",
        "/favicon.ico": "get_favicon",
    }
    POST_ROUTES: ClassVar[dict[str, str]] = {
        "/login": "post_login",
        "/logout": "post_logout",
        "/otp": "post_otp",
        "/claims/new": "post_claim",
    }
    #: Pages with no dynamic part: path -> (fragment in pages/, title, layout). Layouts:
    #: "app" (top bar with navigation), "bare" (brand only, centred), "frame" (no chrome,
    #: for iframes), "none" (the fragment is a whole document).
    STATIC_PAGES: ClassVar[dict[str, tuple[str, str, str]]] = {
        "/claims/live": ("claims_live.html", "Live claims", "app"),
        "/reports": ("reports.html", "Reports", "app"),
        "/reports/popup": ("popup.html", "Report preview", "bare"),
        "/help": ("help.html", "Help centre", "app"),
        "/dialogs": ("dialogs.html", "Dialogs", "app"),
        "/dialogs/guarded": ("guarded.html", "Unsaved changes", "app"),
        "/animated": ("animated.html", "Animation", "none"),
        "/slow": ("slow.html", "Slow page", "app"),
        "/hover": ("hover.html", "Hover menu", "app"),
        "/scroll": ("scroll.html", "Long page", "app"),
        "/keys": ("keys.html", "Keyboard", "app"),
        "/frames": ("frames.html", "Embedded sign-in", "app"),
        "/frames/login": ("frame_login.html", "Partner sign-in", "frame"),
    }

    # --- dispatch ---------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.url_path, self.query = url.path, parse_qs(url.query)
        if url.path in self.GET_ROUTES:
            getattr(self, self.GET_ROUTES[url.path])()
        elif url.path in self.STATIC_PAGES:
            fragment, title, layout = self.STATIC_PAGES[url.path]
            self.send_page(fragment, title, layout=layout)
        elif url.path.startswith("/static/"):
            self.send_static(url.path.removeprefix("/static/"))
        elif match := re.fullmatch(r"/claims/(CLM-\d+)(/pdf)?", url.path):
            self.get_claim_detail(match.group(1), as_pdf=match.group(2) is not None)
        else:
            self.send_not_found()

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        self.url_path, self.query = url.path, parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_bytes(
                b"Request body too large", "text/plain", HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            )
        elif url.path in self.POST_ROUTES:
            getattr(self, self.POST_ROUTES[url.path])(self.rfile.read(length))
        else:
            self.send_not_found()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    # --- responses --------------------------------------------------------------------

    def send_bytes(
        self,
        body: bytes,
        content_type: str,
        status: HTTPStatus = HTTPStatus.OK,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, value: Any) -> None:
        self.send_bytes(json.dumps(value, indent=2).encode(), "application/json")

    def redirect(self, location: str, cookie: str | None = None) -> None:
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        if cookie is not None:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()

    def send_page(
        self,
        fragment: str,
        title: str,
        values: Mapping[str, str] | None = None,
        layout: str = "app",
        status: HTTPStatus = HTTPStatus.OK,
    ) -> None:
        content = fill((PAGES_DIR / fragment).read_text(encoding="utf-8"), values or {})
        if layout != "none":
            nav = "\n".join(
                f'<a href="{href}" aria-current="page">{label}</a>'
                if href == self.url_path
                else f'<a href="{href}">{label}</a>'
                for href, label in NAV_LINKS
            )
            account = (
                '<form method="post" action="/logout"><span class="who">alice</span>'
                '<button class="link-button" type="submit">Sign out</button></form>'
                if self.session() is not None
                else '<a href="/login">Log in</a>'
            )
            shell = (PAGES_DIR / "layout.html").read_text(encoding="utf-8")
            content = fill(
                shell,
                {
                    "title": html.escape(title),
                    "layout": layout,
                    "nav": nav if layout == "app" else "",
                    "account": account if layout == "app" else "",
                    "content": content,
                },
            )
        self.send_bytes(content.encode("utf-8"), "text/html; charset=utf-8", status)

    def send_not_found(self) -> None:
        self.send_page("not_found.html", "Page not found", status=HTTPStatus.NOT_FOUND)

    def send_static(self, name: str) -> None:
        path = STATIC_DIR / name
        if "/" in name or path.suffix not in STATIC_TYPES or not path.is_file():
            self.send_not_found()
            return
        self.send_bytes(path.read_bytes(), STATIC_TYPES[path.suffix])

    # --- sessions and forms -----------------------------------------------------------

    def session(self) -> dict[str, bool] | None:
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        token = cookie[SESSION_COOKIE].value if SESSION_COOKIE in cookie else ""
        with self.server.state.lock:
            return self.server.state.sessions.get(token)

    @staticmethod
    def parse_form(body: bytes) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body; the last value wins per name."""
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {name: values[-1] for name, values in form.items()}

    # --- handlers ---------------------------------------------------------------------

    def get_root(self) -> None:
        self.redirect("/dashboard" if self.session() is not None else "/login")

    def get_login(self) -> None:
        error = ""
        if "error" in self.query:
            error = '<p class="alert error" role="alert">Invalid username or password</p>'
        self.send_page("login.html", "Sign in", {"error": error}, layout="bare")

    def post_login(self, body: bytes) -> None:
        form = self.parse_form(body)
        username = form.get("username", "")
        password = form.get("password", "")
        correct = secrets.compare_digest(password.encode(), PASSWORD.encode())
        succeeded = correct and username == USERNAME
        with self.server.state.lock:
            self.server.state.last_login = {
                "username": username,
                "password_correct": correct,
                "password_length": len(password),
                "succeeded": succeeded,
            }
        if not succeeded:
            self.redirect("/login?error=1")
            return
        token = secrets.token_urlsafe(24)
        with self.server.state.lock:
            self.server.state.sessions[token] = {"otp_verified": False}
        cookie = f"{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax"
        self.redirect("/dashboard", cookie=cookie)

    def post_logout(self, body: bytes) -> None:
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        if SESSION_COOKIE in cookie:
            with self.server.state.lock:
                self.server.state.sessions.pop(cookie[SESSION_COOKIE].value, None)
        self.redirect("/login", cookie=f"{SESSION_COOKIE}=; Path=/; Max-Age=0")

    def get_dashboard(self) -> None:
        if self.session() is None:
            self.redirect("/login")
            return
        values = {
            "open": str(sum(c.status == "Open" for c in CLAIMS)),
            "pending": str(sum(c.status == "Pending" for c in CLAIMS)),
            "total": f"${sum(c.amount_cents for c in CLAIMS) / 100:,.2f}",
        }
        self.send_page("dashboard.html", "Dashboard", values)

    def get_otp(self) -> None:
        session = self.session()
        if session is None:
            self.redirect("/login")
            return
        result = ""
        if session["otp_verified"]:
            result = '<p class="alert success" role="status" id="otp-result">Verified</p>'
        elif "error" in self.query:
            result = '<p class="alert error" role="alert" id="otp-result">Incorrect code</p>'
        self.send_page("otp.html", "One-time code", {"result": result})

    def post_otp(self, body: bytes) -> None:
        session = self.session()
        code = self.parse_form(body).get("code", "").strip()
        if session is None:
            self.redirect("/login")
            return
        if code != OTP_CODE:
            self.redirect("/otp?error=1")
            return
        with self.server.state.lock:
            session["otp_verified"] = True
        self.redirect("/otp")

    def get_claims(self) -> None:
        rows = "\n".join(
            f'<tr data-claim-id="{c.claim_id}"><td>{c.claim_id}</td>'
            f"<td>{html.escape(c.member)}</td>"
            f'<td><span class="badge {c.status.lower()}">{c.status}</span></td>'
            f'<td class="num">{c.amount}</td>'
            f'<td><a href="/claims/{c.claim_id}">View</a></td></tr>'
            for c in CLAIMS
        )
        self.send_page("claims.html", "Claims", {"rows": rows})

    def get_claim_detail(self, claim_id: str, as_pdf: bool) -> None:
        claim = CLAIMS_BY_ID.get(claim_id)
        if claim is None:
            self.send_not_found()
        elif as_pdf:
            body = build_pdf(
                [
                    f"Acme Claims Portal - Claim {claim.claim_id}",
                    f"Member: {claim.member}",
                    f"Status: {claim.status}",
                    f"Amount: {claim.amount}",
                ]
            )
            disposition = f'attachment; filename="{claim.claim_id}.pdf"'
            self.send_bytes(body, "application/pdf", headers={"Content-Disposition": disposition})
        else:
            values = {key: html.escape(value) for key, value in claim.as_json().items()}
            values["status_class"] = claim.status.lower()
            self.send_page("claim_detail.html", f"Claim {claim.claim_id}", values)

    def get_claim_form(self) -> None:
        self.send_page("claim_form.html", "New claim")

    def post_claim(self, body: bytes) -> None:
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            fields, files = parse_multipart(content_type, body)
        else:
            fields, files = self.parse_form(body), {}
        with self.server.state.lock:
            self.server.state.claims.append({"fields": fields, "files": files})
            number = len(self.server.state.claims)
        self.redirect(f"/claims/submitted?id={number}")

    def get_claim_submitted(self) -> None:
        with self.server.state.lock:
            claims = list(self.server.state.claims)
        wanted = self.query.get("id", [str(len(claims))])[-1]
        index = int(wanted) - 1 if wanted.isdigit() else -1
        if not 0 <= index < len(claims):
            self.send_not_found()
            return
        claim = claims[index]
        items = [
            f'<div><dt>{html.escape(name)}</dt><dd data-field="{html.escape(name)}">'
            f"{html.escape(value)}</dd></div>"
            for name, value in claim["fields"].items()
        ]
        items += [
            f'<div><dt>{html.escape(name)}</dt><dd data-file="{html.escape(name)}">'
            f"{html.escape(info['filename'])} ({info['size']} bytes)</dd></div>"
            for name, info in claim["files"].items()
        ]
        values = {"number": str(index + 1), "items": "\n".join(items)}
        self.send_page("claim_submitted.html", "Claim submitted", values)

    def get_api_claims(self) -> None:
        self.send_json([claim.as_json() for claim in CLAIMS])

    def get_api_last_login(self) -> None:
        with self.server.state.lock:
            last_login = self.server.state.last_login
        self.send_json(last_login)

    def get_api_last_claim(self) -> None:
        with self.server.state.lock:
            last_claim = self.server.state.claims[-1] if self.server.state.claims else None
        self.send_json(last_claim)

    def get_claims_csv(self) -> None:
        disposition = 'attachment; filename="claims.csv"'
        headers = {"Content-Disposition": disposition}
        self.send_bytes(claims_csv(), "text/csv; charset=utf-8", headers=headers)

    def get_summary_pdf(self) -> None:
        lines = [
            "Acme Claims Portal - Monthly summary",
            f"Claims: {len(CLAIMS)}",
            f"Open: {sum(c.status == 'Open' for c in CLAIMS)}",
            f"Total amount: ${sum(c.amount_cents for c in CLAIMS) / 100:,.2f}",
        ]
        self.send_bytes(build_pdf(lines), "application/pdf")

    def get_favicon(self) -> None:
        self.send_static("favicon.svg")


class DemoSite:
    """The demo site on a loopback port, served from a daemon thread.

    ``with DemoSite() as site:`` starts it (``port=0`` picks a free port) and stops it on exit.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        self.host = host
        self.port = port
        self.verbose = verbose
        self.base_url = ""
        self._server: DemoHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Bind and serve; returns the base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._server is not None:
            return self.base_url
        self._server = DemoHTTPServer((self.host, self.port), self.verbose)
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-site", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def last_login(self) -> dict[str, Any] | None:
        """The last POST /login: username, password_correct, password_length, succeeded."""
        state = self._state()
        with state.lock:
            return dict(state.last_login) if state.last_login is not None else None

    def last_claim(self) -> dict[str, Any] | None:
        """The last claim form received: ``{"fields": {...}, "files": {name: info}}``."""
        state = self._state()
        with state.lock:
            return json.loads(json.dumps(state.claims[-1])) if state.claims else None

    def _state(self) -> SiteState:
        if self._server is None:
            raise RuntimeError("DemoSite is not running; call start() first")
        return self._server.state

    def __enter__(self) -> DemoSite:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the Acme Claims Portal demo site.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args()
    server = DemoHTTPServer((args.host, args.port), args.verbose)
    host, port = server.server_address[:2]
    print(f"Acme Claims Portal demo site: http://{host!s}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
