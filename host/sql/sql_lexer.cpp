// Tokenizer of SQL scripts and the messages that point into them.
#include "host/sql/sql_lexer.hpp"

#include <algorithm>
#include <cctype>

namespace sluice::sql {
namespace {

bool is_word_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool Token::is_word(std::string_view upper) const {
  if (kind != Kind::word || text.size() != upper.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(text[i])) != upper[i]) return false;
  return true;
}

std::string message_at(std::string_view script, std::size_t offset, std::string_view message) {
  offset = std::min(offset, script.size());
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < offset; ++i) {
    if (script[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  std::size_t line_end = script.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = script.size();
  std::string_view text = script.substr(line_start, line_end - line_start);
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  std::string out = "line " + std::to_string(line) + ", column " +
                    std::to_string(offset - line_start + 1) + ": " + std::string(message) + "\n  " +
                    std::string(text) + "\n  ";
  for (std::size_t i = line_start; i < offset && i - line_start < text.size(); ++i)
    out += script[i] == '\t' ? '\t' : ' ';
  out += '^';
  return out;
}

void error_at(std::string_view script, std::size_t offset, std::string_view message,
              ErrorCode code) {
  throw Error(code, message_at(script, offset, message));
}

std::vector<Token> tokenize(std::string_view s) {
  std::vector<Token> tokens;
  std::size_t i = 0;
  const auto push = [&](Token::Kind kind, std::size_t begin, std::string text) {
    tokens.push_back({kind, std::move(text), begin});
  };
  while (i < s.size()) {
    const char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      const std::size_t close = s.find("*/", i + 2);
      if (close == std::string_view::npos) error_at(s, i, "unterminated comment (no */)");
      i = close + 2;
      continue;
    }
    const std::size_t begin = i;
    if (is_word_start(c)) {
      while (i < s.size() && is_word_char(s[i])) ++i;
      push(Token::Kind::word, begin, std::string(s.substr(begin, i - begin)));
      continue;
    }
    if (is_digit(c) || (c == '.' && i + 1 < s.size() && is_digit(s[i + 1]))) {
      bool decimal = false;
      while (i < s.size() && is_digit(s[i])) ++i;
      if (i < s.size() && s[i] == '.') {
        decimal = true;
        ++i;
        while (i < s.size() && is_digit(s[i])) ++i;
      }
      if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        std::size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && is_digit(s[j])) {
          decimal = true;
          i = j;
          while (i < s.size() && is_digit(s[i])) ++i;
        }
      }
      if (i < s.size() && is_word_char(s[i]))
        error_at(s, i, "a number runs into a word (put a space between them)");
      push(decimal ? Token::Kind::decimal : Token::Kind::integer, begin,
           std::string(s.substr(begin, i - begin)));
      continue;
    }
    if (c == '\'' || c == '`' || c == '"') {
      // 'string', `identifier` or "identifier"; the quote doubled stands for itself.
      std::string text;
      ++i;
      for (;;) {
        if (i >= s.size())
          error_at(s, begin,
                   c == '\'' ? "unterminated string (no closing ')"
                             : std::string("unterminated identifier (no closing ") + c + ")");
        if (s[i] == c) {
          if (i + 1 < s.size() && s[i + 1] == c) {
            text += c;
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        text += s[i++];
      }
      if (c != '\'' && text.empty()) error_at(s, begin, "empty quoted identifier");
      push(c == '\'' ? Token::Kind::string : Token::Kind::quoted, begin, std::move(text));
      continue;
    }
    constexpr std::string_view kTwo[] = {"<>", "!=", "<=", ">=", "=="};
    bool two = false;
    for (const std::string_view op : kTwo) {
      if (s.substr(i, 2) == op) {
        push(Token::Kind::symbol, begin, std::string(op == "==" ? "=" : op));
        i += 2;
        two = true;
        break;
      }
    }
    if (two) continue;
    if (std::string_view("(),;.*+-/=<>").find(c) != std::string_view::npos) {
      push(Token::Kind::symbol, begin, std::string(1, c));
      ++i;
      continue;
    }
    error_at(s, i, std::string("unexpected character '") + c + "'");
  }
  tokens.push_back({Token::Kind::end, "", s.size()});
  return tokens;
}

}  // namespace sluice::sql
