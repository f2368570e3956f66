// Status and Result<T>: expected failures travel as values, never as exceptions.
// A Status carries an ErrorCode (mapped to HTTP in exactly one place, api/errors)
// and a human-readable message. Both types are cheap to move and thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kefu {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,    // the caller sent something malformed
  kNotFound,           // an id that does not exist (for this tenant)
  kAlreadyExists,      // a create that collides with an existing item
  kConflict,           // a state conflict, e.g. writing to a closed conversation
  kFailedPrecondition, // the system is not in a state that allows the operation
  kUnauthenticated,    // missing or bad credentials
  kPermissionDenied,   // authenticated but not allowed
  kResourceExhausted,  // rate or size limits
  kPayloadTooLarge,    // body over the configured limit
  kDeadlineExceeded,   // a timeout
  kUnavailable,        // a dependency is down (LLM, database busy)
  kUnimplemented,
  kInternal,           // a bug or an impossible state
};

// Stable snake_case name, used as the machine-readable "code" in API errors.
std::string_view ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not_found: conversation 12 does not exist"
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {ErrorCode::kAlreadyExists, std::move(m)}; }
inline Status Conflict(std::string m) { return {ErrorCode::kConflict, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {ErrorCode::kFailedPrecondition, std::move(m)}; }
inline Status Unauthenticated(std::string m) { return {ErrorCode::kUnauthenticated, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {ErrorCode::kPermissionDenied, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {ErrorCode::kResourceExhausted, std::move(m)}; }
inline Status PayloadTooLarge(std::string m) { return {ErrorCode::kPayloadTooLarge, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {ErrorCode::kDeadlineExceeded, std::move(m)}; }
inline Status Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {ErrorCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                       // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {}                // NOLINT(implicit)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  // By value: `for (auto& e : f().value())` must not dangle (a reference into the temporary would).
  T value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kefu

#define KEFU_CONCAT_INNER(a, b) a##b
#define KEFU_CONCAT(a, b) KEFU_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not ok.
#define KEFU_RETURN_IF_ERROR(expr)                  \
  do {                                              \
    ::kefu::Status kefu_status_ = (expr);           \
    if (!kefu_status_.ok()) return kefu_status_;    \
  } while (0)

// `lhs` = value of the Result `expr`, or return its Status.
#define KEFU_ASSIGN_OR_RETURN(lhs, expr) \
  KEFU_ASSIGN_OR_RETURN_IMPL(KEFU_CONCAT(kefu_result_, __LINE__), lhs, expr)
#define KEFU_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
