#include "registry/http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "util/error.h"
#include "util/fd.h"

namespace execvm {
namespace {

// A small HTTP/1.1 server on 127.0.0.1 answering from a table, one connection at a time, that
// keeps every request it was sent.
class TestServer {
 public:
  TestServer() {
    listener_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener_.get(), 8), 0);
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestServer() {
    stop_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port_) + path;
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::string answer(const std::string& request) {
    std::string path = request.substr(4, request.find(' ', 4) - 4);
    auto reply = [](const std::string& status, const std::string& headers,
                    const std::string& body) {
      return "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\nConnection: close\r\n" + headers + "\r\n" + body;
    };
    if (path == "/doc") return reply("200 OK", "Docker-Content-Digest: sha256:x\r\n", "hello");
    if (path == "/redirect-same") return reply("302 Found", "Location: /doc\r\n", "moved");
    if (path == "/redirect-other")
      return reply("307 Temporary Redirect", "Location: " + url("/doc", "localhost") + "\r\n", "");
    if (path == "/loop") return reply("302 Found", "Location: /loop\r\n", "");
    if (path == "/big") return reply("200 OK", "", std::string(1 << 20, 'b'));
    if (path == "/range") {
      bool ranged = request.find("\r\nRange: bytes=3-\r\n") != std::string::npos;
      return ranged ? reply("206 Partial Content", "", "defgh") : reply("200 OK", "", "abcdefgh");
    }
    return reply("404 Not Found", "", "no such thing");
  }

  void serve() {
    while (!stop_) {
      int c = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      Fd conn(c);
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(conn.get(), buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      std::string out = answer(request);
      (void)!::send(conn.get(), out.data(), out.size(), MSG_NOSIGNAL);  // the client may go
    }
  }

  Fd listener_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

HttpRequest plain(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.tls_verify = false;  // the test server speaks plain HTTP
  return r;
}

TEST(Http, GetsADocumentWithItsHeaders) {
  TestServer server;
  HttpResponse r = http_get(plain(server.url("/doc")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.header("docker-content-digest"), "sha256:x");
  EXPECT_EQ(http_get(plain(server.url("/nothing"))).status, 404);
}

TEST(Http, FollowsARedirectKeepingCredentialsOnTheSameHost) {
  TestServer server;
  HttpRequest request = plain(server.url("/redirect-same"));
  request.headers = {{"Authorization", "Bearer secret"}};
  HttpResponse r = http_get(request);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");  // the redirect's own body is not kept
  EXPECT_EQ(r.url, server.url("/doc"));
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[1].find("Authorization: Bearer secret"), std::string::npos) << seen[1];
}

TEST(Http, ARedirectToAnotherHostCarriesNoCredentials) {
  TestServer server;
  HttpRequest request = plain(server.url("/redirect-other"));
  request.headers = {{"Authorization", "Basic dXNlcjpwYXNz"}, {"Accept", "x/y"}};
  HttpResponse r = http_get(request);
  EXPECT_EQ(r.status, 200);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].find("Authorization:"), std::string::npos);
  EXPECT_EQ(seen[1].find("Authorization:"), std::string::npos) << seen[1];
  EXPECT_NE(seen[1].find("Host: localhost:"), std::string::npos) << seen[1];
  EXPECT_NE(seen[1].find("Accept: x/y"), std::string::npos);
}

TEST(Http, RedirectLoopsEnd) {
  TestServer server;
  EXPECT_THROW(http_get(plain(server.url("/loop"))), Error);
}

TEST(Http, StreamsTheBodyAndResumes) {
  TestServer server;
  HttpRequest request = plain(server.url("/big"));
  size_t got = 0;
  request.on_body = [&](const char*, size_t n) {
    got += n;
    return true;
  };
  HttpResponse r = http_get(request);
  EXPECT_EQ(got, size_t(1) << 20);
  EXPECT_TRUE(r.body.empty());
  // A sink that stops makes the request fail.
  request.on_body = [](const char*, size_t) { return false; };
  EXPECT_THROW(http_get(request), Error);

  HttpRequest resume = plain(server.url("/range"));
  resume.range_from = 3;
  r = http_get(resume);
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, "defgh");
}

TEST(Http, PlainHttpOnlyWhenAsked) {
  TestServer server;
  HttpRequest request = plain(server.url("/doc"));
  request.tls_verify = true;
  try {
    http_get(request);
    ADD_FAILURE() << "plain HTTP was used with TLS verification on";
  } catch (const Error& e) {
    EXPECT_NE(e.hint().find("--tls-verify=false"), std::string::npos) << e.message();
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST(Http, NoServerIsOneLine) {
  HttpRequest request = plain("http://127.0.0.1:1/v2/");
  try {
    http_get(request);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("GET http://127.0.0.1:1/v2/: "), std::string::npos)
        << e.what();
  }
}

TEST(Http, UrlsAndHosts) {
  EXPECT_EQ(resolve_url("https://r.example/v2/a/blobs/x", "/other"), "https://r.example/other");
  EXPECT_EQ(resolve_url("https://r.example/v2/", "https://s3.example/b?sig=1"),
            "https://s3.example/b?sig=1");
  EXPECT_EQ(url_host("https://Registry.Example:5000/v2/"), "registry.example:5000");
  EXPECT_EQ(url_host("https://r.example/v2/"), "r.example");
  EXPECT_EQ(url_host("not a url"), "");
}

}  // namespace
}  // namespace execvm
