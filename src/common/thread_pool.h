// ThreadPool: a fixed set of worker threads fed by one FIFO queue.
// Used for work that must not run on I/O threads (LLM calls, imports, training).
// Submit() may be called from any thread; Shutdown() drains queued work and joins.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kefu {

class ThreadPool {
 public:
  explicit ThreadPool(size_t threads, std::string name = "worker");
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Returns false if the pool is shutting down and the task was not queued.
  bool Submit(std::function<void()> task);
  // Bounded submit: queues the task only while fewer than `max_queued` tasks
  // wait (running ones not counted), so at most threads + max_queued are in
  // the pool at once. Returns false, without queuing, when the queue is full
  // or the pool is shutting down; the caller answers "busy" at once.
  bool TrySubmit(std::function<void()> task, size_t max_queued);
  // Stops accepting work, runs everything already queued, joins the threads.
  void Shutdown();
  size_t QueueDepth() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace kefu
