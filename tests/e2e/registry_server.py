#!/usr/bin/env python3
"""The registry tests' own servers, on 127.0.0.1 (Python's standard library and the openssl CLI):

  registry_server.py token --port-file FILE --key KEY --cert CERT --issuer ISSUER
                           --service SERVICE [--user NAME:PASSWORD]... [--anonymous-pull REPO]...
                           [--log FILE]
      A token server for docker-registry's `auth.token` (realm http://127.0.0.1:PORT/token):
      GET /token?service=..&scope=repository:NAME:ACTIONS answers a JWT signed RS256 with KEY,
      CERT in its x5c header (the registry's rootcertbundle verifies it); so does POST /token
      with an OAuth2 form (grant_type=password, username, password, service, scope). A user with the right
      password (HTTP basic auth) gets the actions asked for; anyone gets pull on a REPO matching
      an --anonymous-pull pattern (fnmatch), and no actions elsewhere; a wrong password is a 401.

  registry_server.py proxy --port-file FILE --upstream http://HOST:PORT --log FILE
                           [--corrupt DIGEST]... [--drop-once DIGEST]... [--fail-once DIGEST]...
                           [--stall DIGEST]... [--rate-limit] [--redirect-blobs] [--delay SECONDS]
      A proxy in front of a registry (GET and HEAD) that logs every request and breaks what it
      is told to, for a blob DIGEST (sha256:HEX, HEX, or a prefix of HEX):
        --corrupt     changes one byte in the middle of the blob (its lowest bit), every time
                      it is served; also a manifest asked for by that digest
        --drop-once   the first time: half the body, then the connection closes; Range requests
                      are answered 206 from the registry, so a client can resume
        --fail-once   the first GET is a 503
        --stall       half the body, then nothing more (a client that is killed there)
        --rate-limit  every manifest request is a 429 with RateLimit-Limit: 100;w=21600,
                      RateLimit-Remaining: 0 and Retry-After: 30
        --redirect-blobs  a blob GET the registry would answer 200 is a 307 to a second listener
                      at http://localhost:PORT2/storage/KEY/DIGEST (another host, as blob storage is),
                      which serves it; the log says whether an Authorization header came there
        --delay       every blob GET waits SECONDS first (so that concurrent pulls overlap)

FILE gets the port(s) once the servers listen ("PORT" or, for the proxy, "PORT PORT2"). The log
has one line per request when it is answered:
  LISTENER METHOD PATH STATUS auth=yes|no range=VALUE|- [NOTE]
with LISTENER token, proxy or storage, and NOTE e.g. dropped-after=N, corrupted, user=NAME.
"""
import argparse
import base64
import fnmatch
import http.client
import json
import os
import re
import secrets
import select
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BLOB_PATH = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
MANIFEST_PATH = re.compile(r"^/v2/(.+)/manifests/([^/]+)$")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authenticate", "proxy-authorization"}


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", buffering=1) if path else None

    def write(self, listener, handler, status, note=""):
        if not self.file:
            return
        auth = "yes" if handler.headers.get("Authorization") else "no"
        rng = handler.headers.get("Range") or "-"
        line = "%s %s %s %d auth=%s range=%s%s\n" % (
            listener, handler.command, handler.path, status, auth, rng.replace(" ", ""),
            " " + note if note else "")
        with self.lock:
            self.file.write(line)


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------------------------- token server

class TokenServer(Quiet):
    """GET /token (docker's token protocol), and POST /token with grant_type=password (its
    OAuth2 form)."""

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path != "/token":
            return self.not_found()
        user = None
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except ValueError:
                user, password = "", None
            if not self.check_password(user, password):
                return
        self.grant(user, parse_qs(url.query))

    def do_POST(self):
        if urlsplit(self.path).path != "/token":
            return self.not_found()
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if form.get("grant_type") != ["password"]:
            body = json.dumps({"error": "unsupported_grant_type"}).encode()
            self.reply(400, body, [("Content-Type", "application/json")])
            self.server.log.write("token", self, 400, "grant_type=%s" % ",".join(form.get("grant_type", [])))
            return
        user, password = form.get("username", [""])[0], form.get("password", [""])[0]
        if self.check_password(user, password):
            self.grant(user, form)

    def not_found(self):
        self.reply(404, b"not found\n")
        self.server.log.write("token", self, 404)

    def check_password(self, user, password):
        """True when USER has PASSWORD; else answers 401."""
        if password is not None and self.server.opts.users.get(user) == password:
            return True
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                       "message": "wrong user name or password"}]})
        self.reply(401, body.encode(), [("Content-Type", "application/json"),
                                        ("WWW-Authenticate", 'Basic realm="token"')])
        self.server.log.write("token", self, 401, "bad-credentials")
        return False

    def grant(self, user, params):
        """Answers a token for USER (None: anonymous) with the scopes PARAMS ask for."""
        opts = self.server.opts
        access = []
        for scope in " ".join(params.get("scope", [])).split():
            parts = scope.split(":")
            if len(parts) < 3:
                continue
            kind, name, wanted = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            if user is not None:
                granted = [a for a in wanted if a in ("pull", "push", "delete", "*")]
            elif kind == "repository" and "pull" in wanted and any(
                    fnmatch.fnmatchcase(name, p) for p in opts.anonymous_pull):
                granted = ["pull"]
            else:
                granted = []
            access.append({"type": kind, "name": name, "actions": granted})
        now = int(time.time())
        claims = {"iss": opts.issuer, "sub": user or "",
                  "aud": params.get("service", [opts.service])[0],
                  "exp": now + 300, "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8),
                  "access": access}
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.server.cert_der]}
        signing_input = (b64url(json.dumps(header).encode()) + "." +
                         b64url(json.dumps(claims).encode()))
        signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", opts.key],
                                   input=signing_input.encode(), capture_output=True,
                                   check=True).stdout
        token = signing_input + "." + b64url(signature)
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                           "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})
        self.reply(200, body.encode(), [("Content-Type", "application/json")])
        granted = ";".join("%s:%s:%s" % (a["type"], a["name"], ",".join(a["actions"]) or "none")
                           for a in access)
        self.server.log.write("token", self, 200,
                              "user=%s granted=%s" % (user or "-", granted or "-"))


# ----------------------------------------------------------------------------------------- proxy

class Faults:
    """Which blobs to break, and which one-time faults have happened."""

    def __init__(self, opts):
        self.opts = opts
        self.lock = threading.Lock()
        self.done = set()

    @staticmethod
    def matches(digest, selectors):
        hex_ = digest.split(":", 1)[1]
        return any(hex_.startswith(s.split(":", 1)[-1]) for s in selectors)

    def once(self, kind, digest, selectors):
        """True the first time KIND applies to DIGEST."""
        if not self.matches(digest, selectors):
            return False
        with self.lock:
            if (kind, digest) in self.done:
                return False
            self.done.add((kind, digest))
            return True


class ProxyHandler(Quiet):
    listener = "proxy"

    def do_HEAD(self):
        self.handle_request()

    def do_GET(self):
        self.handle_request()

    def refuse(self):
        self.reply(405, b"the test proxy relays GET and HEAD only\n")
        self.server.log.write(self.listener, self, 405)

    do_POST = do_PUT = do_PATCH = do_DELETE = refuse

    def handle_request(self):
        opts, log, faults = self.server.opts, self.server.log, self.server.faults
        path = urlsplit(self.path).path
        blob, manifest = BLOB_PATH.match(path), MANIFEST_PATH.match(path)
        digest = blob.group(2) if blob else None
        if opts.rate_limit and manifest:
            body = json.dumps({"errors": [{"code": "TOOMANYREQUESTS",
                                           "message": "You have reached your pull rate limit."}]})
            self.reply(429, body.encode(), [("Content-Type", "application/json"),
                                            ("RateLimit-Limit", "100;w=21600"),
                                            ("RateLimit-Remaining", "0"), ("Retry-After", "30")])
            log.write(self.listener, self, 429)
            return
        if digest and self.command == "GET":
            if opts.delay:
                time.sleep(opts.delay)
            if faults.once("fail", digest, opts.fail_once):
                self.reply(503, b"service unavailable (injected)\n",
                           [("Content-Type", "text/plain"), ("Retry-After", "0")])
                log.write(self.listener, self, 503, "injected")
                return
            if opts.redirect_blobs:
                headers = self.upstream_headers()
                status = self.upstream("HEAD", self.path, headers)[0]
                if status == 200:
                    key = secrets.token_hex(8)
                    with self.server.storage_lock:
                        self.server.storage[key] = (self.path, digest, headers)
                    location = "http://localhost:%d/storage/%s/%s" % (
                        self.server.storage_port, key, digest)
                    self.reply(307, b"", [("Location", location)])
                    log.write(self.listener, self, 307, "to=" + location)
                    return
        if manifest and re.match(r"sha256:[0-9a-f]{64}$", manifest.group(2)):
            digest = manifest.group(2)  # a manifest by digest: --corrupt applies to it
        self.relay(self.path, digest, self.upstream_headers())

    def upstream_headers(self):
        """The request's headers to pass on, as (name, value) pairs (Accept comes several
        times)."""
        return [(k, v) for k, v in self.headers.items()
                if k.lower() not in HOP_BY_HOP and k.lower() != "host"]

    def upstream(self, method, path, headers):
        """(status, headers, response, connection) of METHOD PATH at the registry."""
        up = urlsplit(self.server.opts.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        if method == "HEAD":
            response.read()
            conn.close()
        return response.status, response.getheaders(), response, conn

    def relay(self, path, digest, headers):
        """Answers with the registry's answer to PATH, broken as the options say for DIGEST."""
        opts, log, faults = self.server.opts, self.server.log, self.server.faults
        status, upstream_headers, response, conn = self.upstream(self.command, path, headers)
        try:
            length = response.getheader("Content-Length")
            body = None
            if length is None and self.command != "HEAD":
                body = response.read()
                length = str(len(body))
            self.send_response(status)
            for name, value in upstream_headers:
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            if self.command == "HEAD":
                log.write(self.listener, self, status)
                return
            # Where the body starts in the blob (a 206 answers a Range), and its total size.
            start, total = 0, int(length)
            crange = re.match(r"bytes (\d+)-\d+/(\d+)", response.getheader("Content-Range") or "")
            if crange:
                start, total = int(crange.group(1)), int(crange.group(2))
            note = ""
            cut = None  # stop after this many bytes of the body
            served = digest and status in (200, 206)
            corrupt_at = None
            if served and Faults.matches(digest, opts.corrupt):
                corrupt_at = total // 2 - start
                note = "corrupted"
            if served and status == 200 and faults.once("drop", digest, opts.drop_once):
                cut = int(length) // 2
                note = "dropped-after=%d" % cut
            stall = served and status == 200 and faults.once("stall", digest, opts.stall)
            if stall:
                cut = int(length) // 2
                note = "stalled-after=%d" % cut
            sent = 0
            try:
                for chunk in [body] if body is not None else iter(lambda: response.read(1 << 16),
                                                                   b""):
                    if corrupt_at is not None and sent <= corrupt_at < sent + len(chunk):
                        i = corrupt_at - sent
                        chunk = chunk[:i] + bytes([chunk[i] ^ 0x01]) + chunk[i + 1:]
                    if cut is not None and sent + len(chunk) >= cut:
                        self.wfile.write(chunk[:cut - sent])
                        self.wfile.flush()
                        sent = cut
                        break
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                log.write(self.listener, self, status, (note + " " if note else "") +
                          "client-gone-after=%d" % sent)
                self.close_connection = True
                return
            log.write(self.listener, self, status, note)
            try:
                if stall:  # nothing more until the client goes (or the test ends)
                    while True:
                        if select.select([self.connection], [], [], 0.5)[0]:
                            if not self.connection.recv(1, socket.MSG_PEEK):
                                break
                            time.sleep(0.1)
                if cut is not None:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                self.close_connection = True
        finally:
            conn.close()


class StorageHandler(ProxyHandler):
    """The second listener: blob storage on another host name, reached by redirects."""
    listener = "storage"

    def handle_request(self):
        key = urlsplit(self.path).path.split("/")[2:3]
        key = key[0] if key else ""
        with self.server.proxy.storage_lock:
            target = self.server.proxy.storage.get(key)
        if not target:
            self.reply(404, b"no such object\n")
            self.server.log.write(self.listener, self, 404)
            return
        path, digest, headers = target
        headers = [(k, v) for k, v in headers if k.lower() != "range"]
        if self.headers.get("Range"):
            headers.append(("Range", self.headers["Range"]))
        self.relay(path, digest, headers)


def serve(server):
    threading.Thread(target=server.serve_forever, daemon=True).start()


def write_port_file(path, ports):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(" ".join(str(p) for p in ports) + "\n")
    os.rename(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    token = sub.add_parser("token")
    token.add_argument("--key", required=True)
    token.add_argument("--cert", required=True)
    token.add_argument("--issuer", required=True)
    token.add_argument("--service", required=True)
    token.add_argument("--user", action="append", default=[])
    token.add_argument("--anonymous-pull", action="append", default=[])
    proxy = sub.add_parser("proxy")
    proxy.add_argument("--upstream", required=True)
    for name in ("corrupt", "drop-once", "fail-once", "stall"):
        proxy.add_argument("--" + name, action="append", default=[])
    proxy.add_argument("--rate-limit", action="store_true")
    proxy.add_argument("--redirect-blobs", action="store_true")
    proxy.add_argument("--delay", type=float, default=0)
    for p in (token, proxy):
        p.add_argument("--port-file", required=True)
        p.add_argument("--port", type=int, default=0)
        p.add_argument("--log")
    opts = parser.parse_args()
    log = Log(opts.log)

    if opts.mode == "token":
        opts.users = dict(u.split(":", 1) for u in opts.user)
        server = ThreadingHTTPServer(("127.0.0.1", opts.port), TokenServer)
        server.opts, server.log = opts, log
        der = subprocess.run(["openssl", "x509", "-in", opts.cert, "-outform", "DER"],
                             capture_output=True, check=True).stdout
        server.cert_der = base64.b64encode(der).decode()
        serve(server)
        ports = [server.server_address[1]]
    else:
        server = ThreadingHTTPServer(("127.0.0.1", opts.port), ProxyHandler)
        server.opts, server.log, server.faults = opts, log, Faults(opts)
        server.storage, server.storage_lock = {}, threading.Lock()
        storage = ThreadingHTTPServer(("127.0.0.1", 0), StorageHandler)
        storage.opts, storage.log, storage.faults = opts, log, server.faults
        storage.proxy = server
        server.storage_port = storage.server_address[1]
        serve(server)
        serve(storage)
        ports = [server.server_address[1], server.storage_port]
    write_port_file(opts.port_file, ports)
    parent = os.getppid()
    while os.getppid() == parent:  # ends with the test that started it
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(main())
