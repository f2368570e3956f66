// DeadlineIo: a private io_context driven on the calling thread, for blocking
// clients built on Asio/Beast (the LLM client, the webhook client). Each
// asynchronous step runs until it completes or its deadline passes; on timeout
// `cancel` (which must close the socket) is called and the aborted handler is
// drained, so nothing outlives the call. One DeadlineIo per thread of use.
#pragma once

#include <chrono>
#include <functional>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/error.hpp>

namespace kefu {

struct DeadlineIo {
  boost::asio::io_context ioc{1};

  // `start(handler)` begins one asynchronous operation that calls `handler(ec)`.
  template <typename Start>
  boost::beast::error_code Run(std::chrono::steady_clock::time_point deadline, Start&& start,
                               const std::function<void()>& cancel) {
    bool done = false;
    boost::beast::error_code result;
    ioc.restart();
    start([&done, &result](boost::beast::error_code ec) {
      done = true;
      result = ec;
    });
    ioc.run_until(deadline);
    if (done) return result;
    cancel();
    ioc.restart();
    ioc.run();
    return boost::asio::error::timed_out;
  }
};

}  // namespace kefu
