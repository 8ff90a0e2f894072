// grove::Error: every failure in Grove is one of these, with a message that names the problem.
#ifndef GROVE_ERROR_H
#define GROVE_ERROR_H

#include <stdexcept>
#include <string>

namespace grove {

// The kind lets bindings pick the matching error class (JS: TypeError, RangeError, Error).
enum class ErrorCode {
  InvalidArgument,  // a value that can never be right: unknown metric, NaN, wrong length
  OutOfRange,       // an id or count outside what the index holds
  WrongState,       // a call in the wrong order: add after build, query before build
  Io,               // a file could not be opened, read, written or mapped
  BadFormat,        // bytes that are not an index for this dimension and metric
  OutOfMemory,      // an allocation failed; the index is as it was
};

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace grove

#endif  // GROVE_ERROR_H
