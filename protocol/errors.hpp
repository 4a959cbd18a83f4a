// Error values of the protocol library. Every decoding or framing failure is one of these;
// nothing in ct_protocol throws on bad input. Thread-safe (the category is immutable).
#pragma once

#include <string>
#include <system_error>
#include <utility>
#include <variant>

namespace ct::protocol {

enum class errc {
    truncated = 1,           // the buffer ends inside a data item
    malformed_cbor,          // reserved additional info, stray break, bad indefinite chunk
    unexpected_type,         // a different CBOR major type or value was expected
    wrong_length,            // an array/map has a length the message does not allow
    indefinite_not_allowed,  // indefinite length where the Haskell decoder wants definite
    integer_out_of_range,
    invalid_utf8,
    unexpected_message,  // valid CBOR, but not a message allowed here
    message_too_large,
    backlog_too_large,
    zero_length_sdu,
    unknown_protocol,
    wrong_mode_bit,
    too_deeply_nested,
    trailing_bytes,
    empty_reply,  // a blocking TraceObjects request answered with no objects
};

const std::error_category& protocol_category();
std::error_code make_error_code(errc e);

/// The outcome of one decoding step: an errc, or success. Returned by every reader on the hot
/// path instead of std::error_code, whose success value costs a call into libstdc++ (the
/// category lookup) each time. Converts to std::error_code at API boundaries.
class [[nodiscard]] decode_status {
  public:
    constexpr decode_status() = default;
    constexpr decode_status(errc e) : e_(e) {}
    /// True when this is an error (as for std::error_code).
    constexpr explicit operator bool() const { return e_ != errc{}; }
    constexpr errc code() const { return e_; }
    operator std::error_code() const {
        return e_ == errc{} ? std::error_code() : make_error_code(e_);
    }
    std::string message() const { return std::error_code(*this).message(); }
    friend constexpr bool operator==(decode_status a, decode_status b) = default;
    friend constexpr bool operator==(decode_status a, errc b) { return a.e_ == b; }

  private:
    errc e_{};
};

/// A value or an error (std::expected is C++23). `if (!r)` tests for the error.
template <typename T>
class result {
  public:
    result(T value) : v_(std::move(value)) {}
    result(std::error_code ec) : v_(ec) {}
    result(errc e) : v_(make_error_code(e)) {}
    result(decode_status s) : v_(std::error_code(s)) {}
    explicit operator bool() const { return v_.index() == 0; }
    T& operator*() { return std::get<0>(v_); }
    const T& operator*() const { return std::get<0>(v_); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    std::error_code error() const { return v_.index() == 1 ? std::get<1>(v_) : std::error_code{}; }

  private:
    std::variant<T, std::error_code> v_;
};

}  // namespace ct::protocol

template <>
struct std::is_error_code_enum<ct::protocol::errc> : std::true_type {};
