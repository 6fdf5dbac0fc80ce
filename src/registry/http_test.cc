#include "registry/http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "registry/http_testing.h"
#include "util/error.h"
#include "util/fd.h"

namespace execvm {
namespace {

// The answers of the tests' server.
std::string answer(const TestServer& server, const std::string& request) {
  std::string path = TestServer::path_of(request);
  auto reply = TestServer::reply;
  if (path == "/doc") return reply("200 OK", "Docker-Content-Digest: sha256:x\r\n", "hello");
  if (path == "/redirect-same") return reply("302 Found", "Location: /doc\r\n", "moved");
  if (path == "/redirect-other")
    return reply("307 Temporary Redirect", "Location: " + server.url("/doc", "localhost") + "\r\n",
                 "");
  if (path == "/loop") return reply("302 Found", "Location: /loop\r\n", "");
  if (path == "/big") return reply("200 OK", "", std::string(1 << 20, 'b'));
  if (path == "/range") {
    bool ranged = request.find("\r\nRange: bytes=3-\r\n") != std::string::npos;
    return ranged ? reply("206 Partial Content", "", "defgh") : reply("200 OK", "", "abcdefgh");
  }
  return reply("404 Not Found", "", "no such thing");
}

// The server of these tests.
class HttpServer : public TestServer {
 public:
  HttpServer() : TestServer([this](const std::string& r) { return answer(*this, r); }) {}
};

HttpRequest plain(const std::string& url) {
  HttpRequest r;
  r.url = url;
  r.tls_verify = false;  // the test server speaks plain HTTP
  return r;
}

TEST(Http, GetsADocumentWithItsHeaders) {
  HttpServer server;
  HttpResponse r = http_get(plain(server.url("/doc")));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.header("docker-content-digest"), "sha256:x");
  EXPECT_EQ(http_get(plain(server.url("/nothing"))).status, 404);
}

TEST(Http, FollowsARedirectKeepingCredentialsOnTheSameHost) {
  HttpServer server;
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
  HttpServer server;
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
  HttpServer server;
  EXPECT_THROW(http_get(plain(server.url("/loop"))), Error);
}

TEST(Http, StreamsTheBodyAndResumes) {
  HttpServer server;
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
  HttpServer server;
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
