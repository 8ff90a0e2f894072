// The sharded-index manifest: a strict little JSON reader for exactly the subset the manifest
// uses (objects, arrays, strings without escapes beyond \" \\ \/, non-negative integers),
// and the writer. Everything is validated before a ShardedIndex sees it; any bytes give a
// named BadFormat error, never a crash (fuzzed: tests/fuzz/manifest_fuzz.cpp).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grove/error.h"
#include "grove/sharded.h"

namespace grove {
namespace {

[[noreturn]] void bad(const std::string& why) {
  throw Error(ErrorCode::BadFormat, "not a Grove sharded-index manifest: " + why);
}

struct Value {
  enum Kind { Number, String, Object, Array } kind = Number;
  std::uint64_t number = 0;
  std::string text;
  std::map<std::string, std::unique_ptr<Value>> fields;
  std::vector<std::unique_ptr<Value>> items;
};

// A byte as an error message shows it: 'c' when printable ASCII, else \xNN (messages stay
// valid UTF-8 whatever the file holds).
std::string shown(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  const char* hex = "0123456789ABCDEF";
  return std::string("\\x") + hex[u >> 4] + hex[u & 15];
}

class Reader {
 public:
  explicit Reader(const std::string& s) : s_(s) {}

  std::unique_ptr<Value> document() {
    std::unique_ptr<Value> v = value(0);
    space();
    if (at_ != s_.size()) bad("unexpected text after the JSON object at byte " + std::to_string(at_));
    return v;
  }

 private:
  static constexpr int kMaxDepth = 8;  // the manifest nests three levels; more is an attack

  void space() {
    while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\n' || s_[at_] == '\r' || s_[at_] == '\t')) ++at_;
  }
  bool take(char c) {
    space();
    if (at_ < s_.size() && s_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!take(c)) bad(std::string("expected '") + c + "' at byte " + std::to_string(at_));
  }

  std::unique_ptr<Value> value(int depth) {
    if (depth > kMaxDepth) bad("nested too deeply");
    space();
    if (at_ >= s_.size()) bad("unexpected end");
    std::unique_ptr<Value> v(new Value());
    const char c = s_[at_];
    if (c == '{') {
      v->kind = Value::Object;
      ++at_;
      if (take('}')) return v;
      do {
        space();
        const std::string key = string();
        expect(':');
        if (v->fields.count(key)) bad("the key \"" + key + "\" appears twice");
        v->fields[key] = value(depth + 1);
      } while (take(','));
      expect('}');
    } else if (c == '[') {
      v->kind = Value::Array;
      ++at_;
      if (take(']')) return v;
      do v->items.push_back(value(depth + 1));
      while (take(','));
      expect(']');
    } else if (c == '"') {
      v->kind = Value::String;
      v->text = string();
    } else if (c >= '0' && c <= '9') {
      v->kind = Value::Number;
      v->number = number();
    } else {
      bad("unexpected " + shown(c) + " at byte " + std::to_string(at_) +
          " (only objects, arrays, strings and whole numbers >= 0 are used)");
    }
    return v;
  }

  std::string string() {
    if (at_ >= s_.size() || s_[at_] != '"') bad("expected a string at byte " + std::to_string(at_));
    ++at_;
    std::string out;
    while (at_ < s_.size() && s_[at_] != '"') {
      char c = s_[at_++];
      if (static_cast<unsigned char>(c) < 0x20) bad("a control character in a string");
      if (c == '\\') {
        if (at_ >= s_.size()) bad("unexpected end in a string");
        c = s_[at_++];
        if (c != '"' && c != '\\' && c != '/') bad("an unsupported escape in a string");
      }
      out.push_back(c);
    }
    if (at_ >= s_.size()) bad("an unterminated string");
    ++at_;
    return out;
  }

  std::uint64_t number() {
    std::uint64_t v = 0;
    const std::size_t start = at_;
    while (at_ < s_.size() && s_[at_] >= '0' && s_[at_] <= '9') {
      const unsigned digit = static_cast<unsigned>(s_[at_] - '0');
      if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) bad("a number too large");
      v = v * 10 + digit;
      ++at_;
    }
    if (at_ - start > 1 && s_[start] == '0') bad("a number with a leading zero");
    if (at_ < s_.size() && (s_[at_] == '.' || s_[at_] == 'e' || s_[at_] == 'E')) bad("a number that is not whole");
    return v;
  }

  const std::string& s_;
  std::size_t at_ = 0;
};

const Value& field(const Value& object, const std::string& key, Value::Kind kind, const std::string& where) {
  auto it = object.fields.find(key);
  if (it == object.fields.end()) bad(where + " has no \"" + key + "\"");
  static const char* kNames[] = {"a number", "a string", "an object", "an array"};
  if (it->second->kind != kind) bad(where + " \"" + key + "\" must be " + kNames[kind]);
  return *it->second;
}

std::uint64_t number(const Value& object, const std::string& key, std::uint64_t max, const std::string& where) {
  const std::uint64_t v = field(object, key, Value::Number, where).number;
  if (v > max) bad(where + " \"" + key + "\" is " + std::to_string(v) + ", more than " + std::to_string(max));
  return v;
}

void check_file_name(const std::string& name, const std::string& where) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\\') != std::string::npos || name.find('\0') != std::string::npos)
    bad(where + " file \"" + name + "\" must be a plain file name in the manifest's folder");
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

Manifest parse_manifest(const std::string& json) {
  if (json.compare(0, 3, "\xEF\xBB\xBF") == 0) bad("the manifest starts with a UTF-8 byte order mark: save it without one");
  std::unique_ptr<Value> root = Reader(json).document();
  if (root->kind != Value::Object) bad("the top level must be an object");
  if (field(*root, "format", Value::String, "the manifest").text != "grove-sharded")
    bad("\"format\" must be \"grove-sharded\"");
  Manifest m;
  m.version = static_cast<int>(number(*root, "version", 1000, "the manifest"));
  if (m.version != 1) bad("version " + std::to_string(m.version) + " is not supported (this Grove reads version 1)");
  m.f = static_cast<int>(number(*root, "f", 1 << 24, "the manifest"));
  if (m.f < 1) bad("\"f\" must be at least 1");
  const std::string& metric = field(*root, "metric", Value::String, "the manifest").text;
  if (!parse_metric(metric, &m.metric)) bad("unknown metric \"" + metric + "\"");
  if (root->fields.count("dot_layout")) {
    const std::string& layout = field(*root, "dot_layout", Value::String, "the manifest").text;
    if (!parse_dot_layout(layout, &m.dot_layout)) bad("\"dot_layout\" must be \"released\" or \"main\"");
  }
  const std::uint64_t kMaxId = static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max());
  m.total_items = static_cast<std::int64_t>(number(*root, "total_items", kMaxId, "the manifest"));
  const Value& shards = field(*root, "shards", Value::Array, "the manifest");
  if (shards.items.empty()) bad("\"shards\" is empty");
  for (std::size_t i = 0; i < shards.items.size(); ++i) {
    const std::string where = "shard " + std::to_string(i);
    const Value& s = *shards.items[i];
    if (s.kind != Value::Object) bad(where + " must be an object");
    ShardInfo info;
    info.file = field(s, "file", Value::String, where).text;
    check_file_name(info.file, where);
    info.items = static_cast<std::int32_t>(number(s, "items", kMaxId, where));
    info.first_id = static_cast<std::int64_t>(number(s, "first_id", kMaxId, where));
    info.n_trees = static_cast<std::int32_t>(number(s, "n_trees", kMaxId, where));
    info.seed = number(s, "seed", std::numeric_limits<std::uint64_t>::max(), where);
    if (info.items < 1) bad(where + " has no items");
    if (info.first_id + info.items > m.total_items)
      bad(where + " ids " + std::to_string(info.first_id) + ".." + std::to_string(info.first_id + info.items - 1) +
          " go past total_items " + std::to_string(m.total_items));
    m.shards.push_back(info);
  }
  // Id ranges must not overlap, and file names must differ.
  std::vector<std::size_t> order(m.shards.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return m.shards[a].first_id < m.shards[b].first_id; });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const ShardInfo& a = m.shards[order[k - 1]];
    const ShardInfo& b = m.shards[order[k]];
    if (a.first_id + a.items > b.first_id)
      bad("shards " + std::to_string(order[k - 1]) + " and " + std::to_string(order[k]) + " have overlapping ids");
  }
  for (std::size_t i = 0; i < m.shards.size(); ++i)
    for (std::size_t j = i + 1; j < m.shards.size(); ++j)
      if (m.shards[i].file == m.shards[j].file) bad("shards " + std::to_string(i) + " and " + std::to_string(j) + " name the same file");
  // total_items is the ids' end: one past the last shard's last id.
  std::int64_t end = 0;
  for (const ShardInfo& info : m.shards) end = std::max(end, info.first_id + info.items);
  if (end != m.total_items)
    bad("total_items " + std::to_string(m.total_items) + " is not the end of the shards' ids (" + std::to_string(end) + ")");
  return m;
}

std::string manifest_json(const Manifest& m) {
  std::string out = "{\n  \"format\": \"grove-sharded\",\n  \"version\": " + std::to_string(m.version) +
                    ",\n  \"f\": " + std::to_string(m.f) + ",\n  \"metric\": " + quoted(metric_name(m.metric));
  if (m.metric == Metric::Dot) out += ",\n  \"dot_layout\": " + quoted(dot_layout_name(m.dot_layout));
  out += ",\n  \"total_items\": " + std::to_string(m.total_items) + ",\n  \"shards\": [";
  for (std::size_t i = 0; i < m.shards.size(); ++i) {
    const ShardInfo& s = m.shards[i];
    out += std::string(i ? "," : "") + "\n    {\"file\": " + quoted(s.file) + ", \"items\": " + std::to_string(s.items) +
           ", \"first_id\": " + std::to_string(s.first_id) + ", \"n_trees\": " + std::to_string(s.n_trees) +
           ", \"seed\": " + std::to_string(s.seed) + "}";
  }
  return out + "\n  ]\n}\n";
}

}  // namespace grove
