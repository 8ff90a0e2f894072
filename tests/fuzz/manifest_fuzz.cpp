// libFuzzer target: arbitrary bytes as a sharded-index manifest. Any bytes are either a
// named grove::Error or a manifest that writes back to text that parses to the same text,
// never a crash, a hang or undefined behaviour.
#include <cstdint>
#include <string>

#include "grove/sharded.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const grove::Manifest m = grove::parse_manifest(text);
    const std::string again = grove::manifest_json(m);
    if (grove::manifest_json(grove::parse_manifest(again)) != again) __builtin_trap();
  } catch (const grove::Error&) {
  }
  return 0;
}
