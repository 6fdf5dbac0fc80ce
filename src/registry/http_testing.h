// For the registry's tests: a small HTTP/1.1 server on 127.0.0.1 that answers each request with
// what a handler returns (the raw response, or "" to close the connection without an answer),
// one connection at a time, and keeps every request it was sent.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/fd.h"

namespace execvm {

class TestServer {
 public:
  using Handler = std::function<std::string(const std::string& request)>;

  explicit TestServer(Handler handler) : handler_(std::move(handler)) {
    listener_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener_.get(), 16), 0);
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestServer() {
    stop_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }
  int port() const { return port_; }
  // "127.0.0.1:PORT"
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url(const std::string& path, const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port_) + path;
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  // A whole response: STATUS ("200 OK"), HEADERS (each ending in \r\n) and BODY.
  static std::string reply(const std::string& status, const std::string& headers,
                           const std::string& body) {
    return "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n" + headers + "\r\n" + body;
  }
  // The path of REQUEST ("GET /v2/ HTTP/1.1" -> "/v2/").
  static std::string path_of(const std::string& request) {
    size_t start = request.find(' ') + 1;
    return request.substr(start, request.find(' ', start) - start);
  }

 private:
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
        if (request[0] == 0x16) break;  // a TLS handshake: this server speaks plain HTTP only
      }
      if (!request.empty() && request[0] == 0x16) continue;  // closed: the handshake fails
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      std::string out = handler_(request);
      (void)!::send(conn.get(), out.data(), out.size(), MSG_NOSIGNAL);  // the client may go
    }
  }

  Handler handler_;
  Fd listener_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<std::string> requests_;
};

}  // namespace execvm
